/**
 * A crash at every point of the rollback and finalize paths, on the real local
 * target (test/e2e/crash-rig.ts: one stack for the file, deployments one after
 * another). Each row deploys a version, holds the workflow at one compensation
 * or finalize step while it runs, and hits it: SIGKILL the worker (a new one is
 * started), SIGKILL the `pulumi destroy` it runs, or restart the Temporal
 * server. The deployment must still end as it would have (rolled-back after
 * an abort, promoted at finalize) and the workflow's own history must show
 * the order that keeps users safe — traffic back on blue before the schema is
 * rolled back or green destroyed; green holding the routes before blue is
 * decommissioned — and the hit step run again to completion. Nothing may be
 * left: instances, ports, Pulumi stacks, locks, pending operations or
 * processes, migration triggers, temporary columns, version schemas.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stateDir } from "../../lib/runtime/paths";
import {
  abort,
  type CrashRig,
  type FaultKind,
  FINALIZE_ORDER,
  faultProblems,
  type Mode,
  orderProblems,
  type Point,
  ROLLBACK_ORDER,
  recoveryMs,
  startCrashRig,
  stepDoneMs,
} from "./crash-rig";

interface Row {
  mode: Mode;
  point: Point;
  kind: FaultKind;
}

const ROWS: Row[] = [
  { mode: "rollback", point: "restoreTrafficToBlue", kind: "worker-kill" },
  { mode: "rollback", point: "rollbackSchema", kind: "worker-kill" },
  { mode: "rollback", point: "destroyGreen", kind: "worker-kill" },
  { mode: "rollback", point: "destroyGreen", kind: "pulumi-kill" },
  { mode: "rollback", point: "restoreTrafficToBlue", kind: "temporal-restart" },
  { mode: "rollback", point: "rollbackSchema", kind: "temporal-restart" },
  { mode: "rollback", point: "destroyGreen", kind: "temporal-restart" },
  { mode: "promote", point: "finalizeRoutes", kind: "worker-kill" },
  { mode: "promote", point: "decommissionBlue", kind: "worker-kill" },
  { mode: "promote", point: "decommissionBlue", kind: "pulumi-kill" },
  { mode: "promote", point: "contractSchema", kind: "worker-kill" },
];

const dir = path.join(stateDir(), "test-runs", `crash-points-${process.pid}`);
let rig: CrashRig;
const table: string[] = [];
const seconds = (ms: number | null) => (ms === null ? "—" : `${(ms / 1000).toFixed(1)} s`);

beforeAll(async () => {
  rig = await startCrashRig(dir);
});

afterAll(async () => {
  if (table.length) {
    console.log(
      [
        "| crash point | fault | outcome | recovered (fault → progress) | step done again |",
        "| --- | --- | --- | --- | --- |",
        ...table,
      ].join("\n"),
    );
  }
  await rig?.stop();
});

describe("a crash at every point of rollback and finalize", () => {
  it.each(ROWS.map((r, i) => ({ ...r, version: `v${i + 1}` })))(
    "$kind at $point ($mode)",
    { timeout: 360_000 },
    async ({ mode, point, kind, version }) => {
      const d = await rig.deploy(version, mode);
      try {
        const hold = await rig.armFor(d, point);
        if (mode === "rollback") await abort(d);
        const fault = await rig.hit(d, point, kind, hold);
        const { result, events } = await rig.finish(d);
        const recovered = recoveryMs(events, fault);
        table.push(
          `| ${mode === "rollback" ? "compensation" : "finalize"} ${point} | ${kind} | ${result.outcome} | ${seconds(recovered)} | ${seconds(stepDoneMs(events, fault))} |`,
        );

        expect(result.outcome, result.reason ?? "").toBe(mode === "rollback" ? "rolled-back" : "promoted");
        expect(orderProblems(events, mode === "rollback" ? ROLLBACK_ORDER : FINALIZE_ORDER)).toEqual([]);
        expect(faultProblems(events, fault)).toEqual([]);
        expect(recovered, "the history shows progress after the fault").not.toBeNull();
        expect(events.at(-1)?.type).toMatch(/^WORKFLOW_EXECUTION_(COMPLETED|FAILED)$/);
        expect(await rig.leftovers(fault.ports)).toEqual([]);
      } finally {
        // A row that failed must not keep the scope's one workflow ID for the next.
        const desc = await d.handle.describe().catch(() => null);
        if (desc?.status.name === "RUNNING") await d.handle.terminate("crash-points row failed");
      }
    },
  );
});
