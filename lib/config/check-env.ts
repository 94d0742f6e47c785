// The environment an application config `check` command and a release's
// smoke command run in. Never the
// caller's: a check is code from the repository, and the caller's shell holds
// cloud credentials, tokens and the payload keys. It gets what an instance of
// the service gets (`run.env`, resolved), PORT, the SHIPSHAPE_* variables
// (except the codec's keys and token and the router's admin token), and PATH, HOME and LANG so ordinary
// tools work. Every resolved `${env:…}` value of the config is a secret to
// redact from what the command prints.

import { listEnvRefs } from "./env-refs";
import { secretValues } from "./redact";

const PASSED_THROUGH = ["PATH", "HOME", "LANG", "PORT"];
/** SHIPSHAPE_* variables that are secrets themselves: the payload keys, the codec server's and the router's tokens. */
const NEVER_PASSED = /^(SHIPSHAPE_CODEC_|SHIPSHAPE_ROUTER_TOKEN$)/;

export interface CheckEnvironment {
  env: Record<string, string>;
  /** Resolved secret values, longest first (see redact.ts). */
  secrets: string[];
  /** Who the command runs as (lib/runtime/instance-user.ts); absent: this process's user. */
  runAs?: { uid: number; gid: number };
}

function resolveText(text: string, callerEnv: Record<string, string | undefined>): string | undefined {
  let unresolved = false;
  const out = text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = callerEnv[name];
    if (v === undefined) unresolved = true;
    return v ?? "";
  });
  return unresolved ? undefined : out;
}

/** `raw` is the config as written (its `run.env` may hold `${env:…}`); `callerEnv` resolves them. */
export function checkCommandEnvironment(
  raw: unknown,
  callerEnv: Record<string, string | undefined>,
): CheckEnvironment {
  const env: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const v = callerEnv[name];
    if (v !== undefined) env[name] = v;
  }
  for (const [name, v] of Object.entries(callerEnv)) {
    if (name.startsWith("SHIPSHAPE_") && !NEVER_PASSED.test(name) && v !== undefined) env[name] = v;
  }
  const runEnv = (raw as { run?: { env?: unknown } } | null)?.run?.env;
  if (runEnv !== null && typeof runEnv === "object" && !Array.isArray(runEnv)) {
    for (const [name, value] of Object.entries(runEnv)) {
      if (!["string", "number", "boolean"].includes(typeof value)) continue;
      // A variable whose reference is not set here is left out rather than passed half-resolved.
      const resolved = resolveText(String(value), callerEnv);
      if (resolved !== undefined) env[name] = resolved;
    }
  }
  const names = new Set(listEnvRefs(raw).map((r) => r.name));
  return { env, secrets: secretValues([...names].map((n) => callerEnv[n])) };
}
