/**
 * The query and update handlers. A validator (messages.ts) refuses a request
 * that does not fit the current status; an accepted one is recorded as a
 * decision and left on the run for the code that acts on it at its next
 * checkpoint. Only abort acts at once: it cancels the forward scope, so the
 * running activity learns of it through its heartbeat.
 */
import { setHandler } from "@temporalio/workflow";
import {
  abortUpdate,
  approveUpdate,
  type ControlAnswer,
  type GateDecisionArgs,
  pauseUpdate,
  promoteUpdate,
  rejectUpdate,
  resumeUpdate,
  retryCompensationUpdate,
  skipCompensationUpdate,
  statusQuery,
  validateAbort,
  validateCompensationControl,
  validateGateDecision,
  validatePause,
  validatePromote,
  validateResume,
} from "./messages";
import { type DeploymentRun, now } from "./run";
import { stepText } from "./state";

/** A validator's refusal becomes the update's error; nothing is written to history. */
function refuse(why: string | null): void {
  if (why) throw new Error(why);
}

export function registerHandlers(run: DeploymentRun): void {
  setHandler(statusQuery, () => run.status);
  registerGateHandlers(run);
  registerControlHandlers(run);
  registerCompensationHandlers(run);
}

function answer(run: DeploymentRun, message: string): ControlAnswer {
  return { accepted: true, message, phase: run.status.phase };
}

function registerGateHandlers(run: DeploymentRun): void {
  const decideGate = (kind: "approve" | "reject", a: GateDecisionArgs, message: string) => {
    run.gateDecision = { kind, by: a.by, reason: a.reason ?? "" };
    run.decide({ kind, by: a.by, reason: `${a.gate}: ${a.reason ?? ""}` });
    return answer(run, message);
  };
  setHandler(approveUpdate, (a) => decideGate("approve", a, `gate ${a.gate} approved by ${a.by}`), {
    validator: (a) => refuse(validateGateDecision(run.status, a, "approve")),
  });
  setHandler(
    rejectUpdate,
    (a) => decideGate("reject", a, `gate ${a.gate} rejected by ${a.by}; rolling back`),
    {
      validator: (a) => refuse(validateGateDecision(run.status, a, "reject")),
    },
  );
}

function registerControlHandlers(run: DeploymentRun): void {
  const { status } = run;
  const aborting = () => run.abortRequest !== null;
  setHandler(
    abortUpdate,
    (a) => {
      run.abortRequest = { by: a.by, reason: a.reason ?? "" };
      run.decide({ kind: "abort", by: a.by, reason: a.reason ?? "" });
      run.forwardScope.cancel();
      return answer(run, `aborted by ${a.by} at ${stepText(status)}; rolling back`);
    },
    { validator: (a) => refuse(validateAbort(status, a, aborting(), run.finalizing)) },
  );
  setHandler(
    pauseUpdate,
    (a) => {
      status.paused = { by: a.by, reason: a.reason ?? "paused by operator", sinceMs: now() };
      run.decide({ kind: "pause", by: a.by, reason: a.reason ?? "" });
      return answer(run, `paused at ${stepText(status)}; the deployment holds at the next checkpoint`);
    },
    { validator: (a) => refuse(validatePause(status, a, aborting())) },
  );
  setHandler(
    resumeUpdate,
    (a) => {
      status.paused = null;
      run.decide({ kind: "resume", by: a.by, reason: a.reason ?? "" });
      return answer(run, `resumed at ${stepText(status)}`);
    },
    { validator: (a) => refuse(validateResume(status, a)) },
  );
  setHandler(
    promoteUpdate,
    (a) => {
      run.promoteRequest = { by: a.by, reason: a.reason ?? "" };
      status.promotedBy = a.by;
      run.decide({ kind: "promote", by: a.by, reason: a.reason ?? "" });
      return answer(
        run,
        `promote requested by ${a.by}: remaining bake time is skipped; analysis still decides`,
      );
    },
    { validator: (a) => refuse(validatePromote(status, a, aborting())) },
  );
}

function registerCompensationHandlers(run: DeploymentRun): void {
  const { status, compensationControls: controls } = run;
  setHandler(
    retryCompensationUpdate,
    (a) => {
      controls.retryNow = true;
      run.decide({ kind: "retry-compensation", by: a.by, reason: a.reason ?? "" });
      return answer(run, "retrying the compensation now");
    },
    { validator: (a) => refuse(validateCompensationControl(status, a, "retry")) },
  );
  setHandler(
    skipCompensationUpdate,
    (a) => {
      controls.skip = { by: a.by, reason: a.reason ?? "" };
      const current = status.compensations.find((c) => c.status === "running" || c.status === "retrying");
      run.decide({
        kind: "skip-compensation",
        by: a.by,
        reason: `${current?.name ?? "?"}: ${a.reason ?? ""}`,
      });
      controls.scope?.cancel();
      return answer(run, `compensation ${current?.name ?? ""} skipped by ${a.by}`);
    },
    { validator: (a) => refuse(validateCompensationControl(status, a, "skip")) },
  );
}
