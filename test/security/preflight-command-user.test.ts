// The deployment's preflight runs the release's app-config check commands on
// the worker. They are the release's code: on a root worker they run as its
// instance user (like the instances and the smoke commands), so they cannot
// read what only the worker may — the router's admin token, the routing table,
// the Pulumi state. A checkout that user cannot enter fails loudly with how to fix it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { preflightReleaseConfig } from "../../lib/config/preflight";
import type { Problem } from "../../lib/config/problems";
import { instanceUserFor } from "../../lib/runtime/instance-user";
import { releaseYaml, tempRepo } from "./helpers";

const root = process.getuid?.() === 0;
const TOKEN = "router-admin-token-5e1f0a9c";

describe.runIf(root)("preflight check commands on a root worker", () => {
  const user = root ? instanceUserFor({}) : undefined;
  const commandUser = user ? { uid: user.uid, gid: user.gid } : undefined;
  let stateDir: string;
  let tokenFile: string;
  const repos: string[] = [];

  beforeAll(() => {
    // What the worker keeps to itself: 0600 in a 0700 folder, like router/<name>/process.json.
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-worker-state-"));
    tokenFile = path.join(stateDir, "process.json");
    fs.writeFileSync(tokenFile, JSON.stringify({ token: TOKEN }), { mode: 0o600 });
  });
  afterAll(() => {
    for (const d of [stateDir, ...repos]) fs.rmSync(d, { recursive: true, force: true });
  });

  function repoWithCheck(check: string, mode: number): string {
    const dir = tempRepo("preflight-user");
    repos.push(dir);
    fs.chmodSync(dir, mode);
    fs.writeFileSync(path.join(dir, "app.json"), '{"port": 8080}\n', { mode: 0o644 });
    const file = path.join(dir, "shipshape.yaml");
    fs.writeFileSync(
      file,
      releaseYaml(`appConfig:\n  - file: ./app.json\n    check: ${JSON.stringify(check)}\n`),
      { mode: 0o644 },
    );
    return file;
  }

  const checkProblem = (r: Awaited<ReturnType<typeof preflightReleaseConfig>>): Problem => {
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    const p = problems.find((x) => x.path === "appConfig[0].check");
    expect(p, JSON.stringify(problems)).toBeDefined();
    return p!;
  };

  it("runs as the instance user: not root, and the worker's token file cannot be read", async () => {
    const file = repoWithCheck(`echo "uid=$(id -u)"; cat ${tokenFile}; exit 1`, 0o755);
    const p = checkProblem(await preflightReleaseConfig(file, { PATH: process.env.PATH }, { commandUser }));
    expect(p.found).toContain(`uid=${user!.uid}`);
    expect(p.found).toMatch(/Permission denied/);
    expect(p.found).not.toContain(TOKEN);
  });

  it("a check that passes as that user passes", async () => {
    const file = repoWithCheck('test -r "$SHIPSHAPE_CONFIG_FILE"', 0o755);
    const r = await preflightReleaseConfig(file, { PATH: process.env.PATH }, { commandUser });
    expect(r.ok, r.ok ? "" : JSON.stringify(r.problems)).toBe(true);
  });

  it("a checkout the instance user cannot enter fails with how to fix it", async () => {
    const file = repoWithCheck("exit 0", 0o700);
    const p = checkProblem(await preflightReleaseConfig(file, { PATH: process.env.PATH }, { commandUser }));
    expect(p.message).toMatch(
      new RegExp(`not run: uid ${user!.uid} cannot read .*shipshape-preflight-user-`),
    );
    expect(p.fix).toContain("SHIPSHAPE_INSTANCE_USER");
    expect(p.fix).toContain("chmod o+rx");
  });
});
