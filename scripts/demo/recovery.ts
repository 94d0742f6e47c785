/**
 * Time to recovery of a rolled-back deployment, on the workflow's own clock
 * (its status): from the moment it was stopped — the failing verdict, or the
 * decision that stopped it — to users being back on blue (when green had
 * traffic) or to the rollback being complete (when it never had any).
 * The demo's clock (when it saw the status change) is the fallback.
 */
import type { Followed } from "./follow";

export interface Recovery {
  ms: number;
  /** What "recovered" means here: "traffic back on v2", "rolled back". */
  what: string;
}

const STOPPING = new Set(["failure", "analysis", "abort", "cancel", "reject", "approval-timeout"]);

export function timeToRecovery(f: Followed): Recovery | null {
  const s = f.status;
  if (!s) return null;
  const verdict = s.analysis.verdicts.find((v) => v.decision === "fail");
  const decision = s.decisions.find((d) => STOPPING.has(d.kind));
  const rollingBack = s.phases.find((p) => p.phase === "rolling-back");
  const stoppedAt = verdict?.atMs ?? decision?.atMs ?? rollingBack?.startedAtMs ?? null;
  if (stoppedAt === null) return null;
  const restored = s.compensations.find((c) => c.name === "restoreTraffic")?.endedAtMs ?? null;
  if (f.maxGreenWeight > 0) {
    const what = `traffic back on ${s.blueVersion ?? "blue"}`;
    if (restored !== null) return { ms: restored - stoppedAt, what };
    if (f.failedAt !== null && f.trafficBackAt !== null) return { ms: f.trafficBackAt - f.failedAt, what };
    return null;
  }
  const ends = s.compensations.map((c) => c.endedAtMs ?? 0);
  const done = rollingBack?.endedAtMs ?? (ends.length > 0 ? Math.max(...ends) : null);
  return done === null ? null : { ms: done - stoppedAt, what: "rolled back" };
}
