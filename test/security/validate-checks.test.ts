// `shipshape validate` and app config `check` commands: a check is code from
// the repository, so validate runs none unless asked (--run-checks); when run,
// a check sees an allow-listed environment (never the caller's), is killed
// with its whole process group, and what it prints is bounded with every
// resolved secret redacted.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readProc } from "../../lib/runtime/procfs";
import { releaseYaml, shipshape, tempRepo } from "./helpers";

/** Running = exists and is not a zombie (a killed orphan waits for init to collect it). */
async function stillRunning(pid: number): Promise<boolean> {
  await new Promise((res) => setTimeout(res, 200));
  const p = readProc(pid);
  return p !== null && !p.zombie;
}

const API_TOKEN = "tok-7f3a9c1e-api-secret";
const CALLER_ONLY = "caller-only-b81d2f";

let dir: string;
const saved = { ...process.env };

beforeEach(() => {
  dir = tempRepo("checks");
  fs.writeFileSync(path.join(dir, "app.json"), '{"port": 8080}\n');
  process.env.SHOP_API_TOKEN = API_TOKEN;
  process.env.CALLER_SECRET = CALLER_ONLY;
  process.env.SHIPSHAPE_CODEC_TOKEN = "codec-token-never-passed-1234";
  process.env.SHIPSHAPE_ROUTER_TOKEN = "router-token-never-passed-5678";
  process.env.SHIPSHAPE_PROBE = "probe-value";
});

afterEach(() => {
  process.env = { ...saved };
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeConfig(check: string, timeout = "30s"): string {
  const file = path.join(dir, "shipshape.yaml");
  fs.writeFileSync(
    file,
    releaseYaml(
      `appConfig:\n  - file: ./app.json\n    check: ${JSON.stringify(check)}\n    timeout: ${timeout}\n`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      '  env: { API_TOKEN: "${env:SHOP_API_TOKEN}", MODE: fast }\n',
    ),
  );
  return file;
}

describe("validate and check commands", () => {
  it("never executes a check command without --run-checks", async () => {
    const file = writeConfig('touch executed; echo "token=$SHOP_API_TOKEN"; exit 1');
    const r = await shipshape("validate", file);
    expect(fs.existsSync(path.join(dir, "executed"))).toBe(false);
    expect(r.code).toBe(0);
    expect(r.out).toContain("1 check command not run (--run-checks runs them)");
    expect(r.out + r.err).not.toContain(API_TOKEN);
  });

  it("with --run-checks: allow-listed environment only, secrets redacted from the report", async () => {
    const file = writeConfig('env > seen.env; echo "token=$API_TOKEN caller=$CALLER_SECRET"; exit 1');
    const r = await shipshape("validate", "--run-checks", file);
    expect(r.code).toBe(2);
    const seen = fs.readFileSync(path.join(dir, "seen.env"), "utf8");
    const names = seen
      .split("\n")
      .map((l) => l.split("=")[0])
      .filter(Boolean);
    // run.env (resolved), SHIPSHAPE_* (not the codec's), PATH/HOME; nothing else of the caller's.
    expect(seen).toContain(`API_TOKEN=${API_TOKEN}`);
    expect(seen).toContain("MODE=fast");
    expect(seen).toContain("SHIPSHAPE_PROBE=probe-value");
    expect(names).toContain("PATH");
    expect(names).not.toContain("CALLER_SECRET");
    expect(names).not.toContain("SHOP_API_TOKEN");
    expect(names).not.toContain("SHIPSHAPE_CODEC_TOKEN");
    expect(names).not.toContain("SHIPSHAPE_ROUTER_TOKEN");
    expect(r.err).toContain("token=[redacted] caller=");
    expect(r.err).not.toContain(API_TOKEN);
    expect(r.err).not.toContain(CALLER_ONLY);
  });

  it("kills what a check leaves running in the background, and reports its exit", async () => {
    const file = writeConfig("sleep 300 & echo $! > bg.pid; exit 1", "2m");
    const r = await shipshape("validate", "--run-checks", file);
    expect(r.err).toContain("failed (exit code 1)");
    const pid = Number(fs.readFileSync(path.join(dir, "bg.pid"), "utf8"));
    expect(await stillRunning(pid)).toBe(false);
  });

  it("a timeout kills the check's whole process group", async () => {
    const file = writeConfig("sleep 300 & echo $! > bg.pid; wait", "1s");
    const r = await shipshape("validate", "--run-checks", file);
    expect(r.err).toContain("did not finish within 1s");
    const pid = Number(fs.readFileSync(path.join(dir, "bg.pid"), "utf8"));
    expect(await stillRunning(pid)).toBe(false);
  });

  it("bounds what a check prints", async () => {
    const file = writeConfig(
      'i=0; while [ $i -lt 5000 ]; do echo "line $i $API_TOKEN"; i=$((i+1)); done; exit 3',
    );
    const r = await shipshape("validate", "--run-checks", "--json", file);
    const report = JSON.parse(r.out) as { problems: Array<{ found?: string }> };
    const found = report.problems[0]?.found ?? "";
    expect(found).toContain("line 4999 [redacted]");
    expect(found.length).toBeLessThan(2200);
    expect(r.out).not.toContain(API_TOKEN);
  });
});
