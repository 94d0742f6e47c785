import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureRouterProcess, stopRouterProcess } from "../../../../infra/local/router-process";
import { routerProcesses } from "../../../../scripts/chaos/system";

// The campaign's final leak check reads routers from /proc, not from their
// process.json (which a cleanup purges): it must see one that is running.
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-leak-check-"));
afterAll(async () => {
  await stopRouterProcess("leak-check", { purge: true, stateDir });
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe("chaos leak check: router processes", () => {
  it("finds a running router (control process and HAProxy) of a state folder, and none once it stopped", async () => {
    expect(routerProcesses(stateDir)).toEqual([]);
    const info = await ensureRouterProcess("leak-check", { stateDir });
    const found = routerProcesses(stateDir);
    expect(found.map((p) => p.pgid)).toContain(info.pid);
    expect(found.some((p) => /haproxy/.test(p.cmdline))).toBe(true);
    // Another state folder's check does not see it.
    expect(routerProcesses(path.join(stateDir, "elsewhere"))).toEqual([]);
    await stopRouterProcess("leak-check", { purge: true, stateDir });
    expect(routerProcesses(stateDir)).toEqual([]);
  }, 60_000);
});
