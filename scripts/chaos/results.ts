/** What a chaos campaign hands to the report (scripts/chaos/report.ts) and to bench/results/chaos.json. */
import type { FaultRecord } from "./faults";
import type { LoadTally, OperatorAction, Violation } from "./invariants";
import type { FaultKind, RunPlan } from "./plan";

export interface CampaignSettings {
  seed: number;
  runs: number;
  faultsPerRun?: number;
  rps: number;
  concurrency: number;
  log: (line: string) => void;
  keepState?: boolean;
  /**
   * After the planned runs, add up to 3 healthy runs that inject, early, every
   * fault kind the campaign has not managed to inject yet (a fault planned
   * after its deployment ended is carried over, but the last run's cannot be).
   */
  coverEveryFault?: boolean;
  /** Fault kinds added to every run (`--force-fault`). */
  force?: FaultKind[];
}

export interface FaultOutcome extends FaultRecord {
  run: number;
  recoveredAt: number | null;
}

export interface RunSummary {
  run: number;
  version: string;
  health: RunPlan["health"];
  approvalGate: boolean;
  outcome: string;
  reason: string | null;
  durationMs: number;
  faults: FaultOutcome[];
  operator: OperatorAction[];
  load: Omit<LoadTally, "unexplained"> & { unexplained: number };
  orders: Record<string, number>;
  violations: Violation[];
  /** The worker's log of this run (kept in the campaign's report folder). */
  workerLog: string;
}

export interface CampaignResult {
  seed: number;
  plannedRuns: number;
  runs: RunSummary[];
  finalViolations: Violation[];
  unexpectedWorkerExits: number;
  stateDir: string;
  /** Kept after the campaign, clean or not: `run-<n>/worker.log` of every run. */
  reportDir: string;
  durationMs: number;
}
