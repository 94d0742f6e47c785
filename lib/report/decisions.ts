/**
 * Who decided what, what was undone, and how long users waited: decisions
 * (the status query's, the result's, or the accepted updates'), the rollback's
 * compensations with their attempts and times, and the time to recovery.
 */
import { z } from "zod";
import type { CompensationRecord, DecisionRecord } from "../deployment/types";
import type { PhaseSpan, Recovery, ReportCompensation, ReportDecision } from "./model";
import { parse, type Timeline } from "./timeline";

/** What the report may take from a `status` query answer (workflows/deployment/state.ts). */
export interface StatusPart {
  decisions: DecisionRecord[];
  compensations: CompensationRecord[];
}

const DecisionRecordSchema = z.object({
  atMs: z.number(),
  kind: z.string(),
  by: z.string(),
  reason: z.string(),
  signed: z.object({ fingerprint: z.string() }).loose().optional(),
});

/** The workflow's result (lib/deployment/types.ts DeploymentResult). */
export const ResultSchema = z.object({
  deploymentId: z.string().optional(),
  outcome: z.string(),
  reason: z.string().nullable().default(null),
  compensations: z
    .array(z.object({ name: z.string(), status: z.string(), attempts: z.number() }))
    .default([]),
  decisions: z.array(DecisionRecordSchema).default([]),
});
export type Result = z.infer<typeof ResultSchema>;

const ByReasonSchema = z.object({ by: z.string(), reason: z.string().default("") }).loose();

/** The rollback's compensations: the saga's name for each compensating activity (workflows/deployment/forward.ts). */
const COMPENSATIONS: Record<string, string> = {
  restoreTrafficToBlue: "restoreTraffic",
  rollbackSchema: "rollbackSchema",
  destroyGreen: "destroyGreen",
};

/** Updates that record a decision, by update name → decision kind. */
const DECISION_UPDATES: Record<string, string> = {
  approve: "approve",
  reject: "reject",
  abort: "abort",
  pause: "pause",
  resume: "resume",
  promote: "promote",
  retryCompensation: "retry-compensation",
  skipCompensation: "skip-compensation",
};

/** Decisions that stop a deployment (the start of its time to recovery). */
const STOPPING = new Set(["failure", "analysis", "abort", "cancel", "reject", "approval-timeout"]);

export function decisionsFromHistory(
  t: Timeline,
  start: { atMs: number; by: string; reason: string },
): ReportDecision[] {
  const out: ReportDecision[] = [{ ...start, kind: "start", signedBy: null }];
  const completed = new Map<string, unknown>();
  for (const e of t.events) if (e.type === "update-completed") completed.set(e.updateId, e.result);
  for (const e of t.events) {
    if (e.type !== "update-accepted") continue;
    const kind = DECISION_UPDATES[e.name];
    const args = parse(ByReasonSchema, e.args[0]);
    const answer = completed.get(e.updateId) as { accepted?: boolean } | undefined;
    if (!kind || !args || answer?.accepted === false) continue;
    // The handler ran in the task that accepted it: its Date.now() is that task's start.
    out.push({ atMs: t.before(e), kind, by: args.by, reason: args.reason, signedBy: null });
  }
  return out;
}

export const toDecision = (d: {
  atMs: number;
  kind: string;
  by: string;
  reason: string;
  signed?: { fingerprint: string };
}): ReportDecision => ({
  atMs: d.atMs,
  kind: d.kind,
  by: d.by,
  reason: d.reason,
  signedBy: d.signed?.fingerprint ?? null,
});

export function compensationsOf(
  t: Timeline,
  result: Result | null,
  status: StatusPart | undefined,
): ReportCompensation[] {
  const out: ReportCompensation[] = [];
  for (const [activity, name] of Object.entries(COMPENSATIONS)) {
    const runs = t.named(activity);
    const recorded = status?.compensations.find((c) => c.name === name);
    const final = result?.compensations.find((c) => c.name === name);
    if (runs.length === 0 && !recorded?.startedAtMs) continue;
    const last = runs.at(-1);
    const lastFailure = [...runs].reverse().find((r) => r.failed)?.failed?.message ?? null;
    const derived = last?.completed ? "done" : last?.failed ? "retrying" : "running";
    const status_ = (recorded?.status ?? final?.status ?? derived) as ReportCompensation["status"];
    out.push({
      name,
      activity,
      status: status_,
      attempts: recorded?.attempts ?? final?.attempts ?? runs.length,
      startedAtMs: recorded?.startedAtMs ?? (runs[0] ? t.before(runs[0].scheduled) : null),
      endedAtMs: recorded?.endedAtMs ?? (last?.completed ? t.after(last.completed) : null),
      lastError: recorded?.lastError ?? lastFailure,
    });
  }
  // In the order they ran.
  return out.sort((a, b) => (a.startedAtMs ?? Infinity) - (b.startedAtMs ?? Infinity));
}

/** From the stop (failing verdict or stopping decision) to users back on blue, or to the rollback's end. */
export function recoveryOf(
  phases: PhaseSpan[],
  decisions: ReportDecision[],
  compensations: ReportCompensation[],
  maxGreen: number,
  blueVersion: string | null,
): Recovery | null {
  const rollingBack = phases.find((p) => p.phase === "rolling-back");
  if (!rollingBack) return null;
  const stoppedAtMs = decisions.find((d) => STOPPING.has(d.kind))?.atMs ?? rollingBack.startedAtMs;
  if (maxGreen > 0) {
    const restored = compensations.find((c) => c.name === "restoreTraffic")?.endedAtMs ?? null;
    if (restored === null) return null;
    const what = `traffic back on ${blueVersion ?? "blue"}`;
    return { stoppedAtMs, recoveredAtMs: restored, ms: restored - stoppedAtMs, what };
  }
  const ends = compensations.map((c) => c.endedAtMs).filter((v): v is number => v !== null);
  const done = rollingBack.endedAtMs ?? (ends.length ? Math.max(...ends) : null);
  if (done === null) return null;
  return { stoppedAtMs, recoveredAtMs: done, ms: done - stoppedAtMs, what: "rolled back" };
}
