/**
 * Live narration of one deployment: polls the workflow's `status` query (the
 * same one `shipshape watch` uses) and prints a line whenever the phase, the
 * step, the traffic split, an analysis verdict, an approval or a compensation
 * changes. Records when things happened for the demo's checks and timings.
 */
import type { WorkflowHandle } from "@temporalio/client";
import type { DeploymentResult } from "../../lib/deployment/types";
import type { deploymentWorkflow } from "../../workflows";
import { statusQuery } from "../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../workflows/deployment/state";

export interface Followed {
  result: DeploymentResult;
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
}

export interface FollowOptions {
  log: (line: string) => void;
  /** Called on every status poll (scenario hooks: approve, kill the worker). */
  onStatus?: (s: DeploymentStatus) => Promise<void> | void;
  timeoutMs: number;
}

const pct = (n: number) => `${n}%`;

export async function followDeployment(
  handle: WorkflowHandle<typeof deploymentWorkflow>,
  options: FollowOptions,
): Promise<Followed> {
  const { log } = options;
  const startedAt = Date.now();
  const f: Omit<Followed, "result" | "endedAt"> = {
    status: null,
    startedAt,
    maxGreenWeight: 0,
    failedAt: null,
    trafficBackAt: null,
    phases: [],
  };
  let done = false;
  let result: DeploymentResult | undefined;
  let failure: unknown;
  void handle.result().then(
    (r) => {
      result = r;
      done = true;
    },
    (err) => {
      failure = err;
      done = true;
    },
  );
  const seenVerdicts = new Set<string>();
  const seenComp = new Map<string, string>();
  const seenDecisions = new Set<string>();
  let lastSplit = "";
  let lastStep = "";
  let unanswered = false;
  const t = () => `${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s`;
  const observe = async () => {
    let s: DeploymentStatus;
    try {
      s = await handle.query(statusQuery);
    } catch {
      if (!unanswered && !done) log(`${t()}  (status query unanswered — no worker is polling right now)`);
      unanswered = true;
      return;
    }
    if (unanswered) log(`${t()}  (a worker answers again)`);
    unanswered = false;
    f.status = s;
    if (f.phases.at(-1) !== s.phase) {
      f.phases.push(s.phase);
      log(`${t()}  phase ${s.phase}`);
    }
    const step = s.step.index > 0 ? `step ${s.step.index}/${s.step.total} at ${pct(s.step.weight)}` : "";
    if (step && step !== lastStep) {
      lastStep = step;
      log(`${t()}  ${step}`);
    }
    const split = `blue ${s.blueVersion ?? "(current)"} ${pct(s.weights.blue)} / green ${s.version} ${pct(s.weights.green)}`;
    if (split !== lastSplit) {
      lastSplit = split;
      log(`${t()}  weights: ${split}`);
    }
    f.maxGreenWeight = Math.max(f.maxGreenWeight, s.weights.green);
    for (const v of s.analysis.verdicts) {
      const key = `${v.atMs}:${v.decision}:${v.line}`;
      if (seenVerdicts.has(key)) continue;
      seenVerdicts.add(key);
      log(`${t()}  analysis [${v.decision}] ${v.line}`);
      if (v.decision === "fail" && f.failedAt === null) f.failedAt = Date.now();
    }
    if (s.analysis.status === "failed" && f.failedAt === null) f.failedAt = Date.now();
    if (f.failedAt !== null && f.trafficBackAt === null && s.weights.green === 0)
      f.trafficBackAt = Date.now();
    for (const a of s.pendingApprovals) {
      const key = `approval:${a.gate}`;
      if (seenDecisions.has(key)) continue;
      seenDecisions.add(key);
      log(`${t()}  waiting for approval at gate "${a.gate}"`);
    }
    for (const d of s.decisions) {
      const key = JSON.stringify(d);
      if (seenDecisions.has(key)) continue;
      seenDecisions.add(key);
      if (d.kind === "analysis") continue; // printed as verdicts
      log(`${t()}  decision ${d.kind} by ${d.by}${d.reason ? `: ${d.reason}` : ""}`);
    }
    for (const c of s.compensations) {
      if (c.status === "registered" || seenComp.get(c.name) === c.status) continue;
      seenComp.set(c.name, c.status);
      log(`${t()}  compensation ${c.name}: ${c.status}${c.lastError ? ` (${c.lastError})` : ""}`);
    }
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
