/**
 * Live narration of one deployment: polls the workflow's `status` query (the
 * same one `shipshape watch` uses) and prints a line whenever the phase, the
 * step, the traffic split, an analysis verdict, an approval or a compensation
 * changes. Records when things happened for the demo's checks and timings.
 */
import type { WorkflowHandleWithFirstExecutionRunId } from "@temporalio/client";
import { deploymentResult } from "../../client/deployment-result";
import type { AnalysisVerdict } from "../../lib/analysis/types";
import type { DeploymentResult } from "../../lib/deployment/types";
import type { deploymentWorkflow } from "../../workflows";
import { statusQuery } from "../../workflows/deployment/messages";
import type { AnalysisInterval, DeploymentStatus } from "../../workflows/deployment/state";

export interface Followed {
  result: DeploymentResult;
  /** The workflow run that carried the deployment (its report reads that run's history). */
  runId: string;
  status: DeploymentStatus | null;
  startedAt: number;
  endedAt: number;
  /** Highest green weight the status ever showed. */
  maxGreenWeight: number;
  /** First time a failing analysis verdict was seen (ms since epoch). */
  failedAt: number | null;
  /** After failedAt: first time the status showed green at 0 % (traffic back on blue). */
  trafficBackAt: number | null;
  /** Phases seen, in order. */
  phases: string[];
  /** Every failing measurement seen in an interval's results (a healthy release has none). */
  failedMeasurements: Array<{ metric: string; weightPercent: number; reason: string }>;
}

export interface FollowOptions {
  log: (line: string) => void;
  /** Called on every status poll (scenario hooks: approve, kill the worker). */
  onStatus?: (s: DeploymentStatus) => Promise<void> | void;
  /** Called after a new verdict's line, with the per-metric results it rests on (when they are its interval's). */
  onVerdict?: (v: AnalysisVerdict, latest: AnalysisInterval | undefined) => void;
  /** Called once per analysis interval with its per-metric results. */
  onInterval?: (interval: AnalysisInterval) => void;
  timeoutMs: number;
}

const pct = (n: number) => `${n}%`;

/** What was already narrated, so each change is told once. */
class Narration {
  readonly seen = new Set<string>();
  readonly compensations = new Map<string, string>();
  lastSplit = "";
  lastStep = "";
  unanswered = false;
  constructor(
    readonly f: Omit<Followed, "result" | "endedAt">,
    readonly options: FollowOptions,
  ) {}

  private say(line: string) {
    const t = `${((Date.now() - this.f.startedAt) / 1000).toFixed(1).padStart(5)}s`;
    this.options.log(`${t}  ${line}`);
  }

  progress(s: DeploymentStatus) {
    const { f } = this;
    if (f.phases.at(-1) !== s.phase) {
      f.phases.push(s.phase);
      this.say(`phase ${s.phase}`);
    }
    const step = s.step.index > 0 ? `step ${s.step.index}/${s.step.total} at ${pct(s.step.weight)}` : "";
    if (step && step !== this.lastStep) {
      this.lastStep = step;
      this.say(step);
    }
    const split = `blue ${s.blueVersion ?? "(current)"} ${pct(s.weights.blue)} / green ${s.version} ${pct(s.weights.green)}`;
    if (split !== this.lastSplit) {
      this.lastSplit = split;
      this.say(`weights: ${split}`);
    }
    f.maxGreenWeight = Math.max(f.maxGreenWeight, s.weights.green);
  }

  verdicts(s: DeploymentStatus) {
    const { f } = this;
    const fresh = s.analysis.verdicts.filter((v) => !this.seen.has(`${v.atMs}:${v.decision}:${v.line}`));
    for (const v of fresh) {
      this.seen.add(`${v.atMs}:${v.decision}:${v.line}`);
      this.say(`analysis [${v.decision}] ${v.line}`);
      // the status holds the results of the latest interval only: they belong to the newest verdict
      const latest =
        v === fresh.at(-1) && s.analysis.latest?.stepIndex === v.stepIndex ? s.analysis.latest : undefined;
      this.options.onVerdict?.(v, latest);
      if (v.decision === "fail" && f.failedAt === null) f.failedAt = Date.now();
    }
    if (s.analysis.status === "failed" && f.failedAt === null) f.failedAt = Date.now();
    if (f.failedAt !== null && f.trafficBackAt === null && s.weights.green === 0)
      f.trafficBackAt = Date.now();
    const latest = s.analysis.latest;
    if (latest && !this.seen.has(`interval:${latest.atMs}`)) {
      this.seen.add(`interval:${latest.atMs}`);
      this.options.onInterval?.(latest);
      for (const r of latest.results.filter((x) => x.verdict === "fail")) {
        f.failedMeasurements.push({
          metric: r.metric,
          weightPercent: latest.weightPercent,
          reason: r.reason,
        });
      }
    }
  }

  decisions(s: DeploymentStatus) {
    for (const a of s.pendingApprovals) {
      const key = `approval:${a.gate}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.say(`waiting for approval at gate "${a.gate}"`);
    }
    for (const d of s.decisions) {
      const key = JSON.stringify(d);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      if (d.kind === "analysis") continue; // printed as verdicts
      this.say(`decision ${d.kind} by ${d.by}${d.reason ? `: ${d.reason}` : ""}`);
    }
    for (const c of s.compensations) {
      if (c.status === "registered" || this.compensations.get(c.name) === c.status) continue;
      this.compensations.set(c.name, c.status);
      this.say(`compensation ${c.name}: ${c.status}${c.lastError ? ` (${c.lastError})` : ""}`);
    }
  }

  /** The status query failed: say once that no worker answers, and once when one does again. */
  answered(ok: boolean, done: boolean) {
    if (!ok && !this.unanswered && !done)
      this.say("(status query unanswered — no worker is polling right now)");
    if (ok && this.unanswered) this.say("(a worker answers again)");
    this.unanswered = !ok;
  }
}

export async function followDeployment(
  handle: WorkflowHandleWithFirstExecutionRunId<typeof deploymentWorkflow>,
  options: FollowOptions,
): Promise<Followed> {
  const startedAt = Date.now();
  const f: Omit<Followed, "result" | "endedAt"> = {
    runId: handle.firstExecutionRunId,
    status: null,
    startedAt,
    maxGreenWeight: 0,
    failedAt: null,
    trafficBackAt: null,
    phases: [],
    failedMeasurements: [],
  };
  let done = false;
  let result: DeploymentResult | undefined;
  let failure: unknown;
  void deploymentResult(handle).then(
    (r) => {
      result = r;
      done = true;
    },
    (err) => {
      failure = err;
      done = true;
    },
  );
  const narration = new Narration(f, options);
  const observe = async () => {
    const s = await handle.query(statusQuery).catch(() => null);
    narration.answered(s !== null, done);
    if (!s) return;
    f.status = s;
    narration.progress(s);
    narration.verdicts(s);
    narration.decisions(s);
    await options.onStatus?.(s);
  };
  const deadline = startedAt + options.timeoutMs;
  while (!done) {
    if (Date.now() > deadline) {
      throw new Error(
        `deployment did not finish within ${options.timeoutMs / 1000} s (last phase ${f.phases.at(-1)})`,
      );
    }
    await observe();
    await new Promise((r) => setTimeout(r, 300));
  }
  if (failure) throw failure;
  await observe().catch(() => undefined);
  return { ...f, result: result as DeploymentResult, endedAt: Date.now() };
}
