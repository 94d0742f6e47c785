/**
 * Delivery measures computed from Shipshape's own history (`shipshape stats`):
 * deployment frequency, lead time of the deployment itself (median/p95
 * duration), change failure rate, mean time to recovery (failed verdict →
 * traffic back on blue), per-step p50/p95 and where failures happen.
 * Pure: the CLI gathers the records from Temporal visibility.
 */

export interface DeploymentRecord {
  workflowId: string;
  service: string;
  environment: string;
  version: string;
  startMs: number;
  endMs: number | null;
  outcome: "promoted" | "rolled-back" | "needs-attention" | "running" | "other";
  /** Phase in which it failed, and the metric if analysis failed it. */
  failurePhase?: string | null;
  failureMetric?: string | null;
  /** When the failure was decided and when traffic was back on blue (ms since epoch). */
  failedAtMs?: number | null;
  trafficRestoredAtMs?: number | null;
  /** Duration of each phase/step by name, in ms. */
  steps?: Record<string, number>;
}

export interface Distribution {
  count: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface DeliveryStats {
  deployments: number;
  finished: number;
  windowDays: number;
  deploymentsPerDay: number;
  duration: Distribution;
  changeFailureRate: number | null;
  meanTimeToRecoveryMs: number | null;
  recoveries: number;
  outcomes: Record<string, number>;
  steps: Record<string, Distribution>;
  failuresByPhase: Record<string, number>;
  failuresByMetric: Record<string, number>;
}

/** Nearest-rank percentile (no interpolation: every reported value is one that happened). */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

function distribution(values: number[]): Distribution {
  return { count: values.length, p50Ms: percentile(values, 50), p95Ms: percentile(values, 95) };
}

/** Appends to the list under `key`, creating it first. */
export function pushTo<T>(map: Record<string, T[]>, key: string, value: T): void {
  const list = map[key];
  if (list) list.push(value);
  else map[key] = [value];
}

function increment(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export function computeDeliveryStats(
  records: readonly DeploymentRecord[],
  windowDays: number,
): DeliveryStats {
  const finished = records.filter((r) => r.endMs !== null && r.outcome !== "running");
  const failed = finished.filter((r) => r.outcome === "rolled-back" || r.outcome === "needs-attention");
  const outcomes: Record<string, number> = {};
  for (const r of records) increment(outcomes, r.outcome);

  const recoveries = failed
    .filter((r) => r.failedAtMs != null && r.trafficRestoredAtMs != null)
    .map((r) => Math.max(0, (r.trafficRestoredAtMs as number) - (r.failedAtMs as number)));

  const stepValues: Record<string, number[]> = {};
  for (const r of finished) {
    for (const [name, ms] of Object.entries(r.steps ?? {})) pushTo(stepValues, name, ms);
  }
  const failuresByPhase: Record<string, number> = {};
  const failuresByMetric: Record<string, number> = {};
  for (const r of failed) {
    increment(failuresByPhase, r.failurePhase ?? "unknown");
    if (r.failureMetric) increment(failuresByMetric, r.failureMetric);
  }
  return {
    deployments: records.length,
    finished: finished.length,
    windowDays,
    deploymentsPerDay: windowDays > 0 ? records.length / windowDays : 0,
    duration: distribution(finished.map((r) => (r.endMs as number) - r.startMs)),
    changeFailureRate: finished.length ? failed.length / finished.length : null,
    meanTimeToRecoveryMs: recoveries.length
      ? recoveries.reduce((a, b) => a + b, 0) / recoveries.length
      : null,
    recoveries: recoveries.length,
    outcomes,
    steps: Object.fromEntries(Object.entries(stepValues).map(([k, v]) => [k, distribution(v)])),
    failuresByPhase,
    failuresByMetric,
  };
}

/** Stats overall and per service. */
export function computeDeliveryStatsByService(
  records: readonly DeploymentRecord[],
  windowDays: number,
): { overall: DeliveryStats; services: Record<string, DeliveryStats> } {
  const byService: Record<string, DeploymentRecord[]> = {};
  for (const r of records) pushTo(byService, r.service, r);
  return {
    overall: computeDeliveryStats(records, windowDays),
    services: Object.fromEntries(
      Object.entries(byService).map(([s, rs]) => [s, computeDeliveryStats(rs, windowDays)]),
    ),
  };
}
