/**
 * The query and update handlers. A validator (messages.ts) refuses a request
 * that does not fit the current status, and (signing.ts) one whose signature
 * does not prove who asked; an accepted one is recorded as a decision, with
 * its signature, and left on the run for the code that acts on it at its next
 * checkpoint. Only abort acts at once: it cancels the forward scope, so the
 * running activity learns of it through its heartbeat.
 */
import { ApplicationFailure, setHandler } from "@temporalio/workflow";
import { FAILURE_TYPES, type SignedRecord } from "../../lib/deployment/types";
import type { DecisionAction } from "../../lib/signing/statements";
import { call, OPTS } from "./activities";
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
import { errorText } from "./saga";
import { acceptSigned, decisionRefusal, RECONFIRMED, type SignableArgs, signerKey } from "./signing";
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

/** The signature check first (who is asking), then the check of the request itself. */
function validated(
  run: DeploymentRun,
  action: DecisionAction,
  subject: string,
  a: SignableArgs | undefined,
  check: () => string | null,
): void {
  refuse(decisionRefusal(run.signing, run.deploymentId, now(), action, subject, a) ?? check());
}

/**
 * Runs an accepted decision with its signature record (its nonce is spent at
 * once). A decision that moves the deployment on is first confirmed by the
 * worker against its policy as it is now (the signer may have been revoked
 * since the start); a refusal there fails the update, not the run. Unsigned
 * and other decisions act synchronously, as they always did.
 */
function withSigned<T>(
  run: DeploymentRun,
  action: DecisionAction,
  subject: string,
  a: SignableArgs,
  act: (signed: { signed: SignedRecord } | Record<string, never>) => T,
): T | Promise<T> {
  const signed = acceptSigned(run.signing, run.deploymentId, action, subject, a);
  if (!signed) return act({});
  if (!RECONFIRMED.includes(action)) return act({ signed });
  return confirmWithWorker(run, action, a).then(() => act({ signed }));
}

async function confirmWithWorker(run: DeploymentRun, action: DecisionAction, a: SignableArgs): Promise<void> {
  const { status } = run.signing;
  try {
    await call("confirmSigningPolicy", OPTS.quick, `confirm ${action} by ${a.by} with the worker's policy`, {
      service: run.input.service,
      environment: run.input.environment,
      signersDigest: status.signersDigest,
      approvalsDigest: status.approvalsDigest,
      decision: { action, actor: a.by, key: signerKey(a) },
    });
  } catch (err) {
    throw ApplicationFailure.nonRetryable(errorText(err), FAILURE_TYPES.policyMismatch);
  }
}

function registerGateHandlers(run: DeploymentRun): void {
  const decideGate = (kind: "approve" | "reject", a: GateDecisionArgs, message: string) =>
    withSigned(run, kind, a.gate, a, (signed) => {
      if (run.status.pendingApprovals[0]?.gate !== a.gate) {
        throw ApplicationFailure.nonRetryable(`gate ${a.gate} closed while the ${kind} was being confirmed`);
      }
      run.gateDecision = { kind, by: a.by, reason: a.reason ?? "" };
      run.decide({ kind, by: a.by, reason: `${a.gate}: ${a.reason ?? ""}`, ...signed });
      return answer(run, message);
    });
  setHandler(approveUpdate, (a) => decideGate("approve", a, `gate ${a.gate} approved by ${a.by}`), {
    validator: (a) =>
      validated(
        run,
        "approve",
        a?.gate ?? "",
        a,
        () => validateGateDecision(run.status, a, "approve") ?? selfApprovalByKey(run, a),
      ),
  });
  setHandler(
    rejectUpdate,
    (a) => decideGate("reject", a, `gate ${a.gate} rejected by ${a.by}; rolling back`),
    {
      validator: (a) =>
        validated(run, "reject", a?.gate ?? "", a, () => validateGateDecision(run.status, a, "reject")),
    },
  );
}

/** Four-eyes on keys too: another name on the requester's own key is still the requester. */
function selfApprovalByKey(run: DeploymentRun, a: GateDecisionArgs): string | null {
  const requester = run.signing.status.requester;
  const pending = run.status.pendingApprovals[0];
  if (!requester || !pending || pending.allowSelfApproval || !a.signed) return null;
  const key = run.signing.status.signers.find((s) => s.key === signerKey(a));
  if (key?.fingerprint !== requester.fingerprint) return null;
  return `${a.by} signs with the key of ${requester.identity}, who started this deployment, and ${run.status.environment} does not allow self-approval; ask another approver`;
}

function registerControlHandlers(run: DeploymentRun): void {
  const { status } = run;
  const aborting = () => run.abortRequest !== null;
  setHandler(
    abortUpdate,
    (a) =>
      withSigned(run, "abort", "", a, (signed) => {
        run.abortRequest = { by: a.by, reason: a.reason ?? "" };
        run.decide({ kind: "abort", by: a.by, reason: a.reason ?? "", ...signed });
        run.forwardScope.cancel();
        return answer(run, `aborted by ${a.by} at ${stepText(status)}; rolling back`);
      }),
    {
      validator: (a) =>
        validated(run, "abort", "", a, () => validateAbort(status, a, aborting(), run.finalizing)),
    },
  );
  setHandler(
    pauseUpdate,
    (a) =>
      withSigned(run, "pause", "", a, (signed) => {
        status.paused = { by: a.by, reason: a.reason ?? "paused by operator", sinceMs: now() };
        run.decide({ kind: "pause", by: a.by, reason: a.reason ?? "", ...signed });
        return answer(run, `paused at ${stepText(status)}; the deployment holds at the next checkpoint`);
      }),
    { validator: (a) => validated(run, "pause", "", a, () => validatePause(status, a, aborting())) },
  );
  setHandler(
    resumeUpdate,
    (a) =>
      withSigned(run, "resume", "", a, (signed) => {
        status.paused = null;
        run.decide({ kind: "resume", by: a.by, reason: a.reason ?? "", ...signed });
        return answer(run, `resumed at ${stepText(status)}`);
      }),
    { validator: (a) => validated(run, "resume", "", a, () => validateResume(status, a)) },
  );
  setHandler(
    promoteUpdate,
    (a) =>
      withSigned(run, "promote", "", a, (signed) => {
        run.promoteRequest = { by: a.by, reason: a.reason ?? "" };
        status.promotedBy = a.by;
        run.decide({ kind: "promote", by: a.by, reason: a.reason ?? "", ...signed });
        return answer(
          run,
          `promote requested by ${a.by}: remaining bake time is skipped; analysis still decides`,
        );
      }),
    { validator: (a) => validated(run, "promote", "", a, () => validatePromote(status, a, aborting())) },
  );
}

function registerCompensationHandlers(run: DeploymentRun): void {
  const { status, compensationControls: controls } = run;
  const current = () => status.compensations.find((c) => c.status === "running" || c.status === "retrying");
  // A signature names the compensation it retries or skips (the CLI fills in the one in progress).
  const subject = (a: { name?: string } | undefined) => a?.name ?? current()?.name ?? "";
  setHandler(
    retryCompensationUpdate,
    (a) =>
      withSigned(run, "retry-compensation", subject(a), a, (signed) => {
        controls.retryNow = true;
        run.decide({ kind: "retry-compensation", by: a.by, reason: a.reason ?? "", ...signed });
        return answer(run, "retrying the compensation now");
      }),
    {
      validator: (a) =>
        validated(run, "retry-compensation", subject(a), a, () =>
          validateCompensationControl(status, a, "retry"),
        ),
    },
  );
  setHandler(
    skipCompensationUpdate,
    (a) =>
      withSigned(run, "skip-compensation", subject(a), a, (signed) => {
        controls.skip = { by: a.by, reason: a.reason ?? "" };
        const running = current();
        run.decide({
          kind: "skip-compensation",
          by: a.by,
          reason: `${running?.name ?? "?"}: ${a.reason ?? ""}`,
          ...signed,
        });
        controls.scope?.cancel();
        return answer(run, `compensation ${running?.name ?? ""} skipped by ${a.by}`);
      }),
    {
      validator: (a) =>
        validated(run, "skip-compensation", subject(a), a, () =>
          validateCompensationControl(status, a, "skip"),
        ),
    },
  );
}
