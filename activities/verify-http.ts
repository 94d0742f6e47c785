/**
 * The real VerifyDriver: HTTP checks and smoke-test commands against every
 * green instance, and an open-loop load test. Read-only against green (a
 * smoke command is the user's; it must be safe to rerun), so idempotent.
 */
import { type CheckEnvironment, checkCommandEnvironment } from "../lib/config/check-env";
import { redactSecrets } from "../lib/config/redact";
import type { LoadTest, VerifyCheck } from "../lib/config/schema";
import type { Progress } from "../lib/drivers/common";
import type { VerifyCheckResult, VerifyDriver } from "../lib/drivers/verifier";
import { runConfinedCommand } from "../lib/runtime/confined-command";

/** Who smoke commands run as: a root worker's instance user (they cannot read the worker's files). */
export interface CommandUser {
  uid: number;
  gid: number;
}

const tail = (text: string, n = 300) => (text.length > n ? `…${text.slice(-n)}` : text);

async function httpOnce(
  url: string,
  check: Extract<VerifyCheck, { http: unknown }>["http"],
  headers: Record<string, string>,
): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: check.method,
      headers,
      signal: AbortSignal.timeout(check.timeout),
    });
    const body = await res.text();
    if (res.status !== check.expect) return `${url} answered ${res.status}, expected ${check.expect}`;
    if (check.bodyContains !== undefined && !body.includes(check.bodyContains)) {
      return `${url} body does not contain ${JSON.stringify(check.bodyContains)}`;
    }
    return null;
  } catch (err) {
    return `${url}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** The headers that select green (one `Name: value` per line; none locally), so a smoke command can send them too. */
function headerArg(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
}

async function runSmokeCommand(
  command: string,
  greenUrl: string,
  headers: Record<string, string>,
  timeoutMs: number,
  { env, secrets }: CheckEnvironment,
  runAs: CommandUser | undefined,
): Promise<{ ok: boolean; detail: string }> {
  // Its output ends up in the failure (history, status): bounded while it
  // runs, and with the resolved secrets of run.env redacted.
  const r = await runConfinedCommand({
    command,
    env: { ...env, GREEN_URL: greenUrl, GREEN_HEADERS: headerArg(headers) },
    timeoutMs,
    ...(runAs ? { runAs } : {}),
  });
  const shown = tail(redactSecrets(r.output, secrets));
  if (r.timedOut) return { ok: false, detail: `killed after ${timeoutMs} ms (SIGKILL); output: ${shown}` };
  if (r.code === 0) return { ok: true, detail: "exit 0" };
  return { ok: false, detail: `exit ${r.code}; output: ${shown}` };
}

function p95(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

export function createHttpVerifyDriver(options: { runAs?: CommandUser } = {}): VerifyDriver {
  return {
    async runCheck(
      check,
      green,
      progress: Progress,
      commandEnv?: CheckEnvironment,
    ): Promise<VerifyCheckResult> {
      if (green.urls.length === 0) return { name: "green", ok: false, detail: "green has no instances" };
      if ("http" in check) {
        const name = `${check.http.method} ${check.http.path}`;
        progress(`checking ${name} on ${green.urls.length} instances`);
        const problems = (
          await Promise.all(
            green.urls.map((u) =>
              httpOnce(new URL(check.http.path, u).toString(), check.http, green.headers ?? {}),
            ),
          )
        ).filter((p): p is string => p !== null);
        return {
          name,
          ok: problems.length === 0,
          detail: problems.join("; ") || `${check.http.expect} from every instance`,
        };
      }
      progress(`running ${check.command}`);
      // Without a release's environment, the bare allow-list: never the worker's own.
      const environment = commandEnv ?? checkCommandEnvironment({}, process.env);
      const r = await runSmokeCommand(
        check.command,
        green.urls[0]!,
        green.headers ?? {},
        check.timeout,
        environment,
        options.runAs,
      );
      return { name: `command ${check.command}`, ...r };
    },

    async loadTest(spec: LoadTest, green, progress: Progress): Promise<VerifyCheckResult> {
      const name = `load test ${spec.rps} rps for ${spec.duration} ms`;
      if (green.urls.length === 0) return { name, ok: false, detail: "green has no instances" };
      const latencies: number[] = [];
      let errors = 0;
      let sent = 0;
      const inflight: Promise<void>[] = [];
      const total = Math.max(1, Math.round((spec.rps * spec.duration) / 1000));
      const gap = 1000 / spec.rps;
      const t0 = performance.now();
      for (let i = 0; i < total; i++) {
        const due = t0 + i * gap;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const url = new URL(spec.path, green.urls[i % green.urls.length]!).toString();
        sent++;
        const started = performance.now();
        inflight.push(
          fetch(url, { headers: green.headers ?? {}, signal: AbortSignal.timeout(10_000) })
            .then(async (res) => {
              await res.arrayBuffer();
              if (res.status >= 500) errors++;
              latencies.push(performance.now() - started);
            })
            .catch(() => {
              errors++;
            }),
        );
        if (i % Math.max(1, Math.round(spec.rps)) === 0)
          progress(`load test: ${sent}/${total} sent, ${errors} errors`);
      }
      await Promise.all(inflight);
      const errorRate = errors / sent;
      const p = p95(latencies);
      const problems: string[] = [];
      if (errorRate > spec.maxErrorRate)
        problems.push(
          `error rate ${(errorRate * 100).toFixed(2)}% > ${(spec.maxErrorRate * 100).toFixed(2)}%`,
        );
      if (spec.maxP95 !== undefined && p > spec.maxP95)
        problems.push(`p95 ${p.toFixed(0)} ms > ${spec.maxP95} ms`);
      return {
        name,
        ok: problems.length === 0,
        detail: problems.join("; ") || `${sent} requests, ${errors} errors, p95 ${p.toFixed(0)} ms`,
      };
    },
  };
}
