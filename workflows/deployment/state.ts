/**
 * The status model: what the `status` query returns and what the Web UI
 * details render. Plain JSON, bounded:
 *   phases       ≤ MAX_PHASES entries (oldest dropped; a deployment has ~15)
 *   decisions    ≤ MAX_DECISION_LOG (oldest dropped, the first "start" kept)
 *   verdicts     ≤ MAX_VERDICTS latest analysis lines (+ analysis decisions ≤ 20 from lib/analysis)
 *   compensations one entry per registered side effect (≤ 8 by construction)
 *   reason / error strings ≤ MAX_TEXT characters
 */
import type { AnalysisVerdict, MetricResult } from "../../lib/analysis/types";
import type { HookType } from "../../lib/config/hooks-schema";
import type { CompensationRecord, DecisionRecord, Outcome, Phase } from "../../lib/deployment/types";
import type { SigningStatus } from "./signing";

export const MAX_PHASES = 40;
export const MAX_DECISION_LOG = 100;
export const MAX_VERDICTS = 20;
export const MAX_TEXT = 500;

export interface PhaseTiming {
  phase: Phase;
  startedAtMs: number;
  endedAtMs: number | null;
  durationMs: number | null;
}

export interface PendingApproval {
  gate: string;
  sinceMs: number;
  timeoutAtMs: number;
  approvers: string[];
  allowSelfApproval: boolean;
}

/**
 * The per-metric results of the latest analysis interval — what its verdict
 * rests on (metric, green's value, blue's, the limit, the verdict and why), so
 * a watcher can show the numbers behind every verdict. Bounded by the number
 * of metrics; Mann-Whitney statistics are left out (the reason carries p and n).
 */
export interface AnalysisInterval {
  stepIndex: number;
  weightPercent: number;
  atMs: number;
  results: Array<Omit<MetricResult, "stats">>;
}

/**
 * One hook of the environment (hooks.ts), once the deployment has reached it.
 * Bounded by the config (at most MAX_HOOKS in hooks-schema.ts).
 */
export interface HookStatus {
  name: string;
  type: HookType;
  /**
   * calling: a call in flight; waiting: a gate asking again; passed: said yes (a rollback
   * hook: said no, nothing to roll back); failed: said no (or no answer; a gate: or the deployment
   * stopped while it waited); timed-out: a gate
   * gave up; triggered: a rollback hook said yes, the deployment rolled back.
   */
  state: "calling" | "waiting" | "passed" | "failed" | "timed-out" | "triggered";
  calls: number;
  /** When the hook (a gate: its wait) was first reached. */
  sinceMs: number;
  /** A gate: when it gives up (onTimeout). */
  timeoutAtMs: number | null;
  onTimeout: "abort" | "pause" | null;
  /** "HTTP 503: not yet" / "exit 1: …" / "no answer: …" */
  lastAnswer: string | null;
  lastAtMs: number | null;
}

export interface DeploymentStatus {
  deploymentId: string;
  service: string;
  environment: string;
  version: string;
  artifact: string;
  requestedBy: string;
  reason: string;
  configDigest: string;
  /** The URL users hit (the service's stable public address on its target), once known. */
  endpoint: string | null;
  /** What users are on now: blue until green has all traffic, green after; blue again after a rollback. */
  serving: { version: string; artifactDigest: string | null } | null;
  /** Content digest of this deployment's artifact (taken at deploy time, confirmed when staged). */
  artifactDigest: string | null;
  /** The migration this deployment started and has not completed or rolled back yet. */
  activeMigration: { name: string; versionSchema: string | null } | null;
  phase: Phase;
  outcome: Outcome | null;
  /** Why the deployment is rolling back / rolled back / needs attention. */
  outcomeReason: string | null;
  step: { index: number; total: number; weight: number };
  weights: { blue: number; green: number };
  blueVersion: string | null;
  phases: PhaseTiming[];
  analysis: {
    status: "off" | "running" | "failed" | "paused";
    verdicts: AnalysisVerdict[];
    decisions: AnalysisVerdict[];
    /** Absent before the first interval (and in statuses of runs recorded before it existed). */
    latest?: AnalysisInterval;
  };
  pendingApprovals: PendingApproval[];
  paused: { by: string; reason: string; sinceMs: number } | null;
  promotedBy: string | null;
  compensations: CompensationRecord[];
  needsAttention: { compensation: string; sinceMs: number; lastError: string } | null;
  decisions: DecisionRecord[];
  /** Whether decisions are signed, by whom the start was, and the signers (absent on runs older than signing). */
  signing?: SigningStatus;
  /**
   * Set once the deployment has continued as new (a long bake): how many runs
   * it has had, the first one's ID and start. Absent while it is one run.
   */
  chain?: { runs: number; firstRunId: string; startedAtMs: number };
  /** Blue had drifted when the deployment checked it (preflight, onDrift: warn); absent: no drift. */
  drift?: { version: string; differences: Array<{ what: string; expected: string; actual: string }> };
  /** The environment's hooks and gates as they were reached (absent on runs without hooks, and older runs). */
  hooks?: HookStatus[];
}

export const clip = (text: string, max = MAX_TEXT): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

export function enterPhase(s: DeploymentStatus, phase: Phase, atMs: number): void {
  if (s.phase === phase && s.phases.length > 0) return;
  const last = s.phases[s.phases.length - 1];
  if (last && last.endedAtMs === null) {
    last.endedAtMs = atMs;
    last.durationMs = atMs - last.startedAtMs;
  }
  s.phase = phase;
  s.phases.push({ phase, startedAtMs: atMs, endedAtMs: null, durationMs: null });
  if (s.phases.length > MAX_PHASES) s.phases.splice(0, s.phases.length - MAX_PHASES);
}

/** Closes the last phase (terminal phases end when they start). */
export function closePhases(s: DeploymentStatus, atMs: number): void {
  const last = s.phases[s.phases.length - 1];
  if (last && last.endedAtMs === null) {
    last.endedAtMs = atMs;
    last.durationMs = atMs - last.startedAtMs;
  }
}

export function recordDecision(s: DeploymentStatus, d: DecisionRecord): void {
  s.decisions.push({ ...d, reason: clip(d.reason) });
  if (s.decisions.length > MAX_DECISION_LOG) s.decisions.splice(1, s.decisions.length - MAX_DECISION_LOG);
}

export function recordVerdict(s: DeploymentStatus, v: AnalysisVerdict): void {
  s.analysis.verdicts.push(v);
  if (s.analysis.verdicts.length > MAX_VERDICTS)
    s.analysis.verdicts.splice(0, s.analysis.verdicts.length - MAX_VERDICTS);
}

/** "step 2/4 (10%)" / "before traffic" — used in messages and details. */
export function stepText(s: DeploymentStatus): string {
  if (s.step.index === 0) return `before traffic (${s.step.total} steps planned)`;
  return `step ${s.step.index}/${s.step.total} (${s.step.weight}%)`;
}
