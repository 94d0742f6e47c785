/**
 * The `redeploy-serving` fault: once the run's deployment has closed, an
 * operator deploys the version that is serving now — the same label, the
 * same artifact — and aborts it a moment later (durationMs after its start).
 * Deploying what users are on would provision, attach and then destroy the
 * stack blue runs from, so it must end rolled back having touched nothing:
 * no green provisioned or attached, nothing destroyed, blue serving
 * throughout (the run's serving and leak checks run after it).
 */
import { WorkflowUpdateFailedError } from "@temporalio/client";
import { deploymentResult } from "../../client/deployment-result";
import { startDeployment } from "../../client/start";
import type { DeploymentResult } from "../../lib/deployment/types";
import { abortUpdate } from "../../workflows/deployment/messages";
import type { FaultRecord } from "./faults";
import { fetchEvents, type HistoryEvent } from "./history";
import type { Violation } from "./invariants";
import type { FaultPlan, RunPlan } from "./plan";
import { releaseFor } from "./release";
import type { CampaignRig } from "./rig";

const TIMEOUT_MS = 3 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Activities a redeploy of the serving version must never run: each would touch what users are on. */
const TOUCHES_BLUE = [
  "provisionGreen",
  "attachGreen",
  "setTrafficWeight",
  "destroyGreen",
  "decommissionBlue",
  "finalizeRoutes",
];

export interface Redeploy {
  record: FaultRecord;
  version: string;
  result: DeploymentResult | null;
  events: HistoryEvent[];
}

export async function redeployServing(
  rig: CampaignRig,
  run: RunPlan,
  fault: FaultPlan,
  serving: string,
  seed: number,
  log: (line: string) => void,
): Promise<Redeploy> {
  const record: FaultRecord = {
    kind: "redeploy-serving",
    plannedAfterMs: fault.afterMs,
    durationMs: fault.durationMs,
    injectedAt: null,
    repairedAt: null,
    accepted: null,
    detail: "",
  };
  const plan: RunPlan = { ...run, version: serving, health: "healthy", approvalGate: false, faults: [] };
  const input = await releaseFor(rig.releaseDir, plan, rig.metrics.query, seed);
  record.injectedAt = Date.now();
  const handle = await startDeployment(rig.client, input, { taskQueue: rig.stack.taskQueue });
  const aborting = (async () => {
    await sleep(fault.durationMs);
    for (let tries = 0; tries < 20; tries++) {
      try {
        const a = await handle.executeUpdate(abortUpdate, {
          args: [{ by: "bob", reason: "chaos: abort the redeploy of the serving version" }],
        });
        return { accepted: true, message: a.message };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError)
          return {
            accepted: false,
            message: String((err.cause as Error | undefined)?.message ?? err.message),
          };
        // Closed before the abort came (refused at preflight), or the server is not answering.
        if (tries >= 3) return { accepted: false, message: String(err).slice(0, 160) };
        await sleep(300);
      }
    }
    return { accepted: false, message: "no answer" };
  })();
  let result: DeploymentResult | null = null;
  let failure: string | null = null;
  for (;;) {
    try {
      result = await deploymentResult(handle);
      break;
    } catch (err) {
      if ((err as Error).name === "WorkflowFailedError" || Date.now() > record.injectedAt + TIMEOUT_MS) {
        failure = String(err);
        break;
      }
      await sleep(500);
    }
  }
  record.repairedAt = Date.now();
  const abort = await aborting;
  record.accepted = abort.accepted;
  const events = await fetchEvents(handle).catch(() => []);
  record.detail =
    `redeploy of serving ${serving}: ${result?.outcome ?? `did not end (${failure})`}` +
    `${result?.reason ? ` — ${result.reason.slice(0, 140)}` : ""}; abort after ${fault.durationMs} ms ${abort.accepted ? "accepted" : `refused (${abort.message.slice(0, 100)})`}`;
  log(`  ⚡ redeploy-serving: ${record.detail}`);
  return { record, version: serving, result, events };
}

/** It ended rolled back, and ran nothing that touches what users are on. */
export function checkRedeploy(r: Pick<Redeploy, "version" | "result" | "events">): Violation[] {
  const v: Violation[] = [];
  if (r.result?.outcome !== "rolled-back")
    v.push({
      invariant: "outcome",
      detail: `redeploy of the serving version ${r.version} ended ${r.result?.outcome ?? "never"}, expected rolled-back`,
    });
  const touched = [
    ...new Set(
      r.events
        .filter((e) => e.type === "ACTIVITY_TASK_SCHEDULED" && TOUCHES_BLUE.includes(e.activity ?? ""))
        .map((e) => e.activity),
    ),
  ];
  if (touched.length > 0)
    v.push({
      invariant: "serving",
      detail: `redeploy of the serving version ${r.version} ran ${touched.join(", ")} on what users are on`,
    });
  return v;
}
