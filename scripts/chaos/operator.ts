/**
 * Following a run while it is open, every 250 ms: what an on-call operator
 * would do, and what the checks need to know afterwards.
 *
 * - a worker that exited on its own (not a worker-kill fault) is restarted, and recorded
 *   (a worker-stays-up violation of the run);
 * - the instance ports the router sends to are recorded per version (leak checks);
 * - the status is read: when the restoreTraffic compensation ended;
 * - a waiting approval gate is approved, unless an `approve` fault is planned;
 * - a deployment analysis paused is resumed once no fault is in progress.
 */
import type { WorkflowHandle } from "@temporalio/client";
import type { deploymentWorkflow } from "../../workflows";
import { approveUpdate, resumeUpdate, statusQuery } from "../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../workflows/deployment/state";
import type { OperatorAction, WorkerExit } from "./invariants";
import type { FaultKind } from "./plan";
import { SCOPE } from "./release";
import type { CampaignRig } from "./rig";

export interface RunObservations {
  operator: OperatorAction[];
  portsSeen: Map<string, Set<number>>;
  /** The last status read (null: never answered). */
  status: DeploymentStatus | null;
  trafficRestoredAt: number | null;
  /** Workers that exited on their own during the run. */
  workerExits: WorkerExit[];
}

export interface FollowOptions {
  rig: CampaignRig;
  handle: WorkflowHandle<typeof deploymentWorkflow>;
  /** Faults in progress (the operator does not resume while one is). */
  active: Set<FaultKind>;
  /** No approve fault is planned, so the operator approves the gate. */
  approvesItself: boolean;
  closed(): boolean;
  stopping(): boolean;
  onUnexpectedWorkerExit(): void;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Restarts a worker that ended without a worker-kill fault in progress, and records it in `seen`. */
export async function superviseWorker(
  o: Pick<FollowOptions, "rig" | "active" | "onUnexpectedWorkerExit" | "log">,
  seen: Pick<RunObservations, "workerExits">,
): Promise<void> {
  const worker = o.rig.stack.worker;
  const ended = worker && (worker.child.exitCode !== null || worker.child.signalCode !== null);
  if (worker && ended && !o.active.has("worker-kill")) {
    const { exitCode: code, signalCode: signal } = worker.child;
    seen.workerExits.push({ pid: worker.pid, code, signal, at: Date.now() });
    o.onUnexpectedWorkerExit();
    o.log(
      `  ! worker ${worker.pid} exited on its own (${signal ? `signal ${signal}` : `code ${code}`}); the supervisor starts a new one`,
    );
    await o.rig.stack.startWorker();
  }
}

async function recordPorts(o: FollowOptions, seen: Map<string, Set<number>>): Promise<void> {
  try {
    const routes = await o.rig.traffic.getRoutes(SCOPE);
    for (const b of [routes.backends.blue, routes.backends.green]) {
      if (!b) continue;
      const set = seen.get(b.version) ?? new Set<number>();
      for (const u of b.instances) set.add(Number(new URL(u).port));
      seen.set(b.version, set);
    }
  } catch {
    // router answers again next time
  }
}

async function actAsOperator(
  o: FollowOptions,
  status: DeploymentStatus,
  seen: RunObservations,
): Promise<void> {
  const gate = status.pendingApprovals[0]?.gate;
  if (gate && o.approvesItself && !seen.operator.some((a) => a.kind === "approve")) {
    await o.handle
      .executeUpdate(approveUpdate, { args: [{ gate, by: "alice", reason: "chaos operator: on time" }] })
      .then((a) => seen.operator.push({ at: Date.now(), kind: "approve", message: a.message }))
      .catch(() => undefined);
  }
  if (status.paused && o.active.size === 0) {
    await o.handle
      .executeUpdate(resumeUpdate, { args: [{ by: "bob", reason: "chaos operator: faults repaired" }] })
      .then((a) => {
        seen.operator.push({ at: Date.now(), kind: "resume", message: a.message });
        o.log(`  · operator resumed: ${a.message}`);
      })
      .catch(() => undefined);
  }
}

/** Follows the run until it closes (or the campaign is stopping); `done` settles then. */
export function followRun(o: FollowOptions): { observations: RunObservations; done: Promise<void> } {
  const observations: RunObservations = {
    operator: [],
    portsSeen: new Map(),
    status: null,
    trafficRestoredAt: null,
    workerExits: [],
  };
  const done = (async () => {
    while (!o.closed()) {
      await sleep(250);
      if (o.stopping()) break;
      await superviseWorker(o, observations);
      await recordPorts(o, observations.portsSeen);
      let status: DeploymentStatus;
      try {
        status = await o.handle.query(statusQuery);
      } catch {
        continue; // no worker or no server right now
      }
      observations.status = status;
      const restore = status.compensations.find((c) => c.name === "restoreTraffic");
      if (restore?.endedAtMs && observations.trafficRestoredAt === null)
        observations.trafficRestoredAt = restore.endedAtMs;
      await actAsOperator(o, status, observations);
    }
  })();
  return { observations, done };
}
