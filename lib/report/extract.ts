/**
 * History → report model. Everything comes from the deployment's own history,
 * so a report can be made for any run, long after its worker is gone:
 *   - who, what, why: the workflow input;
 *   - phases: the ShipshapePhase search-attribute upserts;
 *   - traffic weights: setTrafficWeight / restoreTrafficToBlue / finalizeRoutes results;
 *   - metric series and verdicts: the collectMeasurements activities, judged
 *     again (metric-series.ts);
 *   - decisions and compensations: the workflow result (or, while it runs,
 *     the accepted updates and the compensation activities); a status from
 *     the `status` query, when a worker answers it, is preferred for these.
 * Times are workflow times (the start of the workflow task that acted), the
 * clock the status query and `shipshape stats` use.
 */
import { z } from "zod";
import type { AnalysisOverride, Analysis as AnalysisSection } from "../config/schema";
import { type CompensationRecord, type DecisionRecord, PHASES, type Phase } from "../deployment/types";
import type { DecodedHistory, HistoryEvent } from "./history-events";
import {
  type AnalysisSource,
  CollectInputSchema,
  type Interval,
  MeasurementsSchema,
  metricSeries,
} from "./metric-series";
import {
  type PhaseSpan,
  type Recovery,
  type ReportCompensation,
  type ReportDecision,
  type ReportModel,
  ReportModelSchema,
  type WeightPoint,
} from "./model";

/** What the report may take from a `status` query answer (workflows/deployment/state.ts). */
export interface StatusPart {
  decisions: DecisionRecord[];
  compensations: CompensationRecord[];
}

const StartInputSchema = z.object({
  service: z.string(),
  environment: z.string(),
  version: z.string(),
  artifact: z.string().default(""),
  requestedBy: z.string().default(""),
  reason: z.string().default(""),
  deploymentId: z.string().optional(),
  config: z.looseObject({
    release: z.looseObject({
      steps: z.array(z.looseObject({ kind: z.string(), weight: z.number().optional() })),
      analysis: z.unknown().optional(),
    }),
  }),
});

const DecisionRecordSchema = z.object({
  atMs: z.number(),
  kind: z.string(),
  by: z.string(),
  reason: z.string(),
  signed: z.object({ fingerprint: z.string() }).loose().optional(),
});

const ResultSchema = z.object({
  deploymentId: z.string().optional(),
  outcome: z.string(),
  reason: z.string().nullable().default(null),
  compensations: z
    .array(z.object({ name: z.string(), status: z.string(), attempts: z.number() }))
    .default([]),
  decisions: z.array(DecisionRecordSchema).default([]),
});

const SplitSchema = z.object({ split: z.object({ blue: z.number(), green: z.number() }) }).loose();
const WeightInputSchema = z.object({ step: z.number(), greenPercent: z.number() }).loose();
const AttachResultSchema = z.object({ blue: z.object({ version: z.string() }).nullable() }).loose();
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

interface Activity {
  scheduled: Extract<HistoryEvent, { type: "activity-scheduled" }>;
  completed?: Extract<HistoryEvent, { type: "activity-completed" }>;
  failed?: Extract<HistoryEvent, { type: "activity-failed" }>;
}

const parse = <T>(schema: z.ZodType<T>, v: unknown): T | null => {
  const r = schema.safeParse(v);
  return r.success ? r.data : null;
};

/** The history with lookups: activities by schedule, workflow time around an event. */
class Timeline {
  readonly activities: Activity[] = [];
  private readonly taskStarts: Array<[id: number, atMs: number]> = [];

  constructor(readonly events: readonly HistoryEvent[]) {
    const byId = new Map<number, Activity>();
    for (const e of events) {
      if (e.type === "task-started") this.taskStarts.push([e.id, e.atMs]);
      else if (e.type === "activity-scheduled") {
        const a = { scheduled: e };
        byId.set(e.id, a);
        this.activities.push(a);
      } else if (e.type === "activity-completed") {
        const a = byId.get(e.scheduledId);
        if (a) a.completed = e;
      } else if (e.type === "activity-failed") {
        const a = byId.get(e.scheduledId);
        if (a) a.failed = e;
      }
    }
  }

  /** Workflow time of the task that produced event `id` (the last task started before it). */
  before(e: { id: number; atMs: number }): number {
    let t = e.atMs;
    for (const [id, at] of this.taskStarts) {
      if (id > e.id) break;
      t = at;
    }
    return t;
  }

  /** Workflow time of the task that handled event `id` (the first task started after it). */
  after(e: { id: number; atMs: number }): number {
    return this.taskStarts.find(([id]) => id > e.id)?.[1] ?? e.atMs;
  }

  named(activity: string): Activity[] {
    return this.activities.filter((a) => a.scheduled.activity === activity);
  }
}

function phasesOf(t: Timeline, endedAtMs: number | null): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  for (const e of t.events) {
    if (e.type !== "search-attributes") continue;
    const phase = e.fields.ShipshapePhase;
    if (typeof phase !== "string" || !(PHASES as readonly string[]).includes(phase)) continue;
    const at = t.before(e);
    const last = spans.at(-1);
    if (last?.phase === phase) continue;
    if (last) last.endedAtMs = at;
    spans.push({ phase: phase as Phase, startedAtMs: at, endedAtMs: null });
  }
  const last = spans.at(-1);
  // Terminal phases are instants; a phase still open when the run closed ends with it.
  if (last && endedAtMs !== null) last.endedAtMs = endedAtMs;
  return spans;
}

function weightsOf(t: Timeline, startedAtMs: number, blueVersion: string | null): WeightPoint[] {
  const points: WeightPoint[] = [{ atMs: startedAtMs, green: 0, blue: 100, cause: "start" }];
  for (const a of t.activities) {
    const done = a.completed;
    if (!done) continue;
    const name = a.scheduled.activity;
    if (name === "setTrafficWeight") {
      const input = parse(WeightInputSchema, a.scheduled.input);
      const split = parse(SplitSchema, done.result)?.split;
      const green = split?.green ?? input?.greenPercent ?? 0;
      points.push({
        atMs: done.atMs,
        green,
        blue: split?.blue ?? 100 - green,
        cause: `step ${input?.step ?? "?"} (${green}%)`,
      });
    } else if (name === "restoreTrafficToBlue") {
      points.push({
        atMs: done.atMs,
        green: 0,
        blue: 100,
        cause: `traffic restored to ${blueVersion ?? "blue"}`,
      });
    } else if (name === "finalizeRoutes") {
      points.push({ atMs: done.atMs, green: 100, blue: 0, cause: "routes finalized: green is the new blue" });
    }
  }
  return points;
}

function intervalsOf(t: Timeline): Interval[] {
  const out: Interval[] = [];
  for (const a of t.named("collectMeasurements")) {
    if (!a.completed) continue;
    const input = parse(CollectInputSchema, a.scheduled.input);
    const measurements = parse(MeasurementsSchema, a.completed.result);
    if (input && measurements) out.push({ atMs: t.after(a.completed), input, measurements });
  }
  return out;
}

function decisionsFromHistory(
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

const toDecision = (d: {
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

function compensationsOf(
  t: Timeline,
  result: z.infer<typeof ResultSchema> | null,
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
function recoveryOf(
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

function blueVersionOf(t: Timeline): string | null {
  for (const a of t.named("attachGreen")) {
    const v = parse(AttachResultSchema, a.completed?.result)?.blue?.version;
    if (v) return v;
  }
  for (const a of t.named("collectMeasurements")) {
    const v = parse(CollectInputSchema, a.scheduled.input)?.baselineVersion;
    if (v) return v;
  }
  return null;
}

export function extractReport(history: DecodedHistory, options: { status?: StatusPart } = {}): ReportModel {
  const t = new Timeline(history.events);
  const startEvent = history.events.find((e) => e.type === "started");
  if (!startEvent) throw new Error(`history of ${history.workflowId} has no start event`);
  const input = StartInputSchema.parse(startEvent.input);
  const startedAtMs = startEvent.atMs;
  const completed = history.events.find((e) => e.type === "completed");
  const closed = history.events.find((e) => e.type === "closed");
  const result = completed ? parse(ResultSchema, completed.result) : null;
  const endedAtMs = completed?.atMs ?? closed?.atMs ?? null;
  let outcomeSA: string | null = null;
  for (const e of history.events)
    if (e.type === "search-attributes" && typeof e.fields.ShipshapeOutcome === "string")
      outcomeSA = e.fields.ShipshapeOutcome;

  const blueVersion = blueVersionOf(t);
  const phases = phasesOf(t, endedAtMs);
  const weights = weightsOf(t, startedAtMs, blueVersion);
  const last = weights.at(-1)!;
  const end = endedAtMs ?? history.events.at(-1)?.atMs ?? startedAtMs;
  if (end > last.atMs) weights.push({ ...last, atMs: end, cause: endedAtMs ? "end" : "now" });

  const release = input.config.release;
  const source: AnalysisSource = {
    analysis: release.analysis as AnalysisSection | undefined,
    trafficSteps: release.steps
      .filter((s) => s.kind === "traffic")
      .map((s) => ({ weight: s.weight ?? 0, analysis: s.analysis as AnalysisOverride | undefined })),
  };
  // The workflow records its start in its first task.
  const start = { atMs: t.after(startEvent), by: input.requestedBy, reason: input.reason };
  const decisions = options.status
    ? options.status.decisions.map((d) => toDecision(d))
    : result
      ? result.decisions.map(toDecision)
      : decisionsFromHistory(t, start);
  const compensations = compensationsOf(t, result, options.status);
  const maxGreen = Math.max(...weights.map((w) => w.green));

  return ReportModelSchema.parse({
    workflowId: history.workflowId,
    runId: history.runId,
    deploymentId: result?.deploymentId ?? input.deploymentId ?? history.runId,
    service: input.service,
    environment: input.environment,
    version: input.version,
    blueVersion,
    artifact: input.artifact,
    requestedBy: input.requestedBy,
    reason: input.reason,
    startedAtMs,
    endedAtMs,
    outcome: result?.outcome ?? outcomeSA ?? (closed ? closed.status : "running"),
    outcomeReason: result?.reason ?? (closed ? closed.message : null),
    phases,
    weights,
    metrics: metricSeries(source, intervalsOf(t)),
    decisions,
    compensations,
    recovery: recoveryOf(phases, decisions, compensations, maxGreen, blueVersion),
  });
}
