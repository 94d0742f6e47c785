/**
 * History → report model. Everything comes from the deployment's own history,
 * so a report can be made for any run, long after its worker is gone:
 *   - who, what, why: the workflow input;
 *   - phases: the ShipshapePhase search-attribute upserts;
 *   - traffic weights: setTrafficWeight / restoreTrafficToBlue / finalizeRoutes results;
 *   - metric series and verdicts: the collectMeasurements activities, judged
 *     again (metric-series.ts);
 *   - hook calls and gate polls: the callHook activities (hooks.ts);
 *   - decisions and compensations: the workflow result (or, while it runs,
 *     the accepted updates and the compensation activities); a status from
 *     the `status` query, when a worker answers it, is preferred for these
 *     (decisions.ts, which also measures the time to recovery).
 * Times are workflow times (the start of the workflow task that acted), the
 * clock the status query and `shipshape stats` use.
 */
import { z } from "zod";
import type { AnalysisOverride, Analysis as AnalysisSection } from "../config/schema";
import { PHASES, type Phase } from "../deployment/types";
import {
  compensationsOf,
  decisionsFromHistory,
  ResultSchema,
  recoveryOf,
  type StatusPart,
  toDecision,
} from "./decisions";
import type { DecodedHistory } from "./history-events";
import { hookCallsOf } from "./hooks";
import {
  type AnalysisSource,
  CollectInputSchema,
  type Interval,
  MeasurementsSchema,
  metricSeries,
} from "./metric-series";
import { type PhaseSpan, type ReportModel, ReportModelSchema, type WeightPoint } from "./model";
import { parse, Timeline } from "./timeline";

export type { StatusPart } from "./decisions";

/** The run's input is not a deployment's (another workflow type, or a run this version cannot read). */
export class NotADeploymentError extends Error {
  constructor(workflowId: string, runId: string) {
    super(`${workflowId} run ${runId} is not a Shipshape deployment (its input is not a deployment's)`);
  }
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

const SplitSchema = z.object({ split: z.object({ blue: z.number(), green: z.number() }) }).loose();
const WeightInputSchema = z.object({ step: z.number(), greenPercent: z.number() }).loose();
const AttachResultSchema = z.object({ blue: z.object({ version: z.string() }).nullable() }).loose();

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
  const parsed = StartInputSchema.safeParse(startEvent.input);
  if (!parsed.success) throw new NotADeploymentError(history.workflowId, history.runId);
  const input = parsed.data;
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
    // Without a named one, the deployment ID is its first run's ID.
    deploymentId: result?.deploymentId ?? input.deploymentId ?? history.runIds?.[0] ?? history.runId,
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
    hookCalls: hookCallsOf(t),
  });
}
