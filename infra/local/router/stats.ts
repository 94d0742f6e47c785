// Per-backend request statistics over sliding windows.
//
// Each backend has a ring of 1-second buckets (default: the last 300 s). A
// bucket holds counters plus a log-scale latency histogram, so a snapshot over
// any window is a merge of at most `maxWindowSeconds` small arrays and costs
// the same at 10 req/s or 10,000 req/s; memory does not grow with traffic.
//
// Percentiles come from the histogram: buckets grow by 4%, the reported value
// is the bucket's geometric midpoint (relative error <= ~2%), clamped to the
// exact min/max seen in the window so a constant latency reads exactly.
// That is far below the noise analysis compares (e.g. "p95 +20% vs baseline").

const MIN_MS = 0.01;
const GROWTH = 1.04;
const MAX_MS = 120_000;
const LOG_G = Math.log(GROWTH);
export const LATENCY_BUCKETS = Math.ceil(Math.log(MAX_MS / MIN_MS) / LOG_G) + 1;

export function latencyBucket(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(LATENCY_BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / LOG_G));
}

/** Representative value of bucket `i` (geometric midpoint of its bounds). */
export function bucketValue(i: number): number {
  return i === 0 ? MIN_MS : MIN_MS * GROWTH ** (i - 0.5);
}

/**
 * Upper bounds (s) of the cumulative latency histogram exported to Prometheus
 * (fixed buckets, for histogram_quantile()). Each series keeps its own counts,
 * so a request costs a few increments here instead of a labelled observation
 * in the metrics library (which validates and hashes its labels every time).
 */
export const PROMETHEUS_LATENCY_BOUNDS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Every answered request since the series began, in PROMETHEUS_LATENCY_BOUNDS_S buckets. */
export interface CumulativeLatency {
  /** Requests per bucket (not cumulative); the last one is above the highest bound. */
  readonly counts: Float64Array;
  sumSeconds: number;
}

/** The first bucket whose upper bound holds `seconds` (Prometheus: value <= le). */
export function prometheusBucket(seconds: number): number {
  let i = 0;
  while (i < PROMETHEUS_LATENCY_BOUNDS_S.length && seconds > PROMETHEUS_LATENCY_BOUNDS_S[i]!) i++;
  return i;
}

/** How a user request attributed to a backend ended. */
export type Outcome =
  /** The backend answered; 5xx counts as an error. */
  | { kind: "response"; status: number; latencyMs: number }
  /** No usable answer: connection refused/reset, or the router gave up (timeout). */
  | { kind: "connection" | "timeout"; latencyMs: number };

interface Counters {
  requests: number;
  errors: number;
  errors5xx: number;
  connectionErrors: number;
  timeouts: number;
  /** Upstream attempts that failed at connection level, including ones a retry then hid from the user. */
  upstreamFailures: number;
}

function zero(): Counters {
  return { requests: 0, errors: 0, errors5xx: 0, connectionErrors: 0, timeouts: 0, upstreamFailures: 0 };
}

interface Bucket extends Counters {
  second: number;
  latency: Uint32Array | undefined;
  latencyCount: number;
  latencySum: number;
  latencyMin: number;
  latencyMax: number;
}

function resetBucket(b: Bucket, second: number): void {
  Object.assign(b, zero());
  b.second = second;
  b.latency?.fill(0);
  b.latencyCount = 0;
  b.latencySum = 0;
  b.latencyMin = Number.POSITIVE_INFINITY;
  b.latencyMax = 0;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  /** How many samples the percentiles rest on. */
  count: number;
}

export interface BackendSnapshot extends Counters {
  version: string;
  errorRate: number;
  rps: number;
  /** null when the window has no latency sample: "no data" must not read as "0 ms". */
  latencyMs: LatencySummary | null;
  inflight: number;
  total: Counters;
}

export interface StatsSnapshot {
  windowSeconds: number;
  /** Seconds of data the window actually spans (less than windowSeconds just after start). */
  coveredSeconds: number;
  generatedAt: string;
  backends: Record<string, BackendSnapshot>;
  /** Requests the router could not route at all (503 no healthy backend, 400 bad override). */
  unrouted: { window: number; total: number };
}

function emptyBucket(): Bucket {
  const b = { latency: undefined } as Bucket;
  resetBucket(b, -1);
  return b;
}

class Ring {
  readonly buckets: Bucket[];
  /** Where a second older than the ring's span goes: counted in the totals, in no window. */
  private readonly outside = emptyBucket();
  constructor(size: number) {
    this.buckets = Array.from({ length: size }, emptyBucket);
  }
  at(second: number): Bucket {
    const b = this.buckets[second % this.buckets.length]!;
    if (b.second === second) return b;
    // The slot already holds a later second: this one has left the ring
    // (a request read long after it ended). Never overwrite newer data with it.
    if (b.second > second) {
      resetBucket(this.outside, -1);
      return this.outside;
    }
    resetBucket(b, second);
    return b;
  }
  /** Buckets whose second lies in [from, to]. */
  *range(from: number, to: number): Iterable<Bucket> {
    for (const b of this.buckets) if (b.second >= from && b.second <= to) yield b;
  }
}

export class BackendSeries {
  readonly ring: Ring;
  readonly total: Counters = zero();
  readonly totalLatency: CumulativeLatency = {
    counts: new Float64Array(PROMETHEUS_LATENCY_BOUNDS_S.length + 1),
    sumSeconds: 0,
  };
  inflight = 0;

  constructor(
    readonly backend: string,
    readonly version: string,
    size: number,
    readonly createdAtMs: number,
  ) {
    this.ring = new Ring(size);
  }

  record(outcome: Outcome, nowMs: number): void {
    const b = this.ring.at(Math.floor(nowMs / 1000));
    b.requests++;
    this.total.requests++;
    let error = false;
    if (outcome.kind === "response") {
      if (outcome.status >= 500) {
        error = true;
        b.errors5xx++;
        this.total.errors5xx++;
      }
      // Latency is recorded for answered requests only: a refused connection
      // fails in microseconds and would drag the percentiles *down*, hiding
      // a sick backend. Failures are visible through errors instead.
      if (!b.latency) b.latency = new Uint32Array(LATENCY_BUCKETS);
      b.latency[latencyBucket(outcome.latencyMs)]!++;
      b.latencyCount++;
      b.latencySum += outcome.latencyMs;
      if (outcome.latencyMs < b.latencyMin) b.latencyMin = outcome.latencyMs;
      if (outcome.latencyMs > b.latencyMax) b.latencyMax = outcome.latencyMs;
      const seconds = outcome.latencyMs / 1000;
      this.totalLatency.counts[prometheusBucket(seconds)]!++;
      this.totalLatency.sumSeconds += seconds;
    } else if (outcome.kind === "connection") {
      error = true;
      b.connectionErrors++;
      this.total.connectionErrors++;
    } else {
      error = true;
      b.timeouts++;
      this.total.timeouts++;
    }
    if (error) {
      b.errors++;
      this.total.errors++;
    }
  }

  upstreamFailure(nowMs: number): void {
    this.ring.at(Math.floor(nowMs / 1000)).upstreamFailures++;
    this.total.upstreamFailures++;
  }
}

export interface RouterStatsOptions {
  maxWindowSeconds?: number;
  now?: () => number;
}

export class RouterStats {
  readonly maxWindowSeconds: number;
  private readonly now: () => number;
  private readonly series = new Map<string, BackendSeries>();
  private readonly unroutedRing: Ring;
  private unroutedTotal = 0;
  private readonly startedAtMs: number;

  constructor(opts: RouterStatsOptions = {}) {
    this.maxWindowSeconds = opts.maxWindowSeconds ?? 300;
    this.now = opts.now ?? Date.now;
    this.unroutedRing = new Ring(this.maxWindowSeconds + 1);
    this.startedAtMs = this.now();
  }

  /**
   * The series for a backend. A new version label under the same backend name
   * starts a fresh series: windows must never mix two releases, or analysis
   * would judge v3 partly on v2's numbers.
   */
  for(backend: string, version: string): BackendSeries {
    const s = this.series.get(backend);
    if (s && s.version === version) return s;
    const fresh = new BackendSeries(backend, version, this.maxWindowSeconds + 1, this.now());
    this.series.set(backend, fresh);
    return fresh;
  }

  /** Forget backends no longer in the table. In-flight requests keep their (now orphaned) series object. */
  retain(backends: Iterable<string>): void {
    const keep = new Set(backends);
    for (const name of [...this.series.keys()]) if (!keep.has(name)) this.series.delete(name);
  }

  all(): BackendSeries[] {
    return [...this.series.values()];
  }

  /** A request HAProxy answered itself, counted in the second it ended (default: now). */
  unrouted(atMs = this.now()): void {
    this.unroutedRing.at(Math.floor(atMs / 1000)).requests++;
    this.unroutedTotal++;
  }

  snapshot(windowSeconds: number): StatsSnapshot {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > this.maxWindowSeconds) {
      throw new RangeError(`window must be an integer between 1 and ${this.maxWindowSeconds} seconds`);
    }
    const now = this.now();
    const nowSec = Math.floor(now / 1000);
    const from = nowSec - windowSeconds + 1;
    // The window is the current (partial) second plus the windowSeconds-1 before it.
    const windowSpan = windowSeconds - 1 + (now - nowSec * 1000) / 1000;

    const backends: Record<string, BackendSnapshot> = {};
    for (const s of this.series.values()) {
      const c = zero();
      const hist = new Uint32Array(LATENCY_BUCKETS);
      let n = 0;
      let sum = 0;
      let min = Number.POSITIVE_INFINITY;
      let max = 0;
      for (const b of s.ring.range(from, nowSec)) {
        c.requests += b.requests;
        c.errors += b.errors;
        c.errors5xx += b.errors5xx;
        c.connectionErrors += b.connectionErrors;
        c.timeouts += b.timeouts;
        c.upstreamFailures += b.upstreamFailures;
        if (b.latency && b.latencyCount > 0) {
          for (let i = 0; i < LATENCY_BUCKETS; i++) hist[i]! += b.latency[i]!;
          n += b.latencyCount;
          sum += b.latencySum;
          if (b.latencyMin < min) min = b.latencyMin;
          if (b.latencyMax > max) max = b.latencyMax;
        }
      }
      const covered = Math.max(0.001, Math.min(windowSpan, (now - s.createdAtMs) / 1000));
      backends[s.backend] = {
        version: s.version,
        ...c,
        errorRate: c.requests === 0 ? 0 : c.errors / c.requests,
        rps: c.requests / covered,
        latencyMs:
          n === 0
            ? null
            : {
                p50: percentile(hist, n, 0.5, min, max),
                p95: percentile(hist, n, 0.95, min, max),
                p99: percentile(hist, n, 0.99, min, max),
                mean: sum / n,
                max,
                count: n,
              },
        inflight: s.inflight,
        total: { ...s.total },
      };
    }
    let unroutedWindow = 0;
    for (const b of this.unroutedRing.range(from, nowSec)) unroutedWindow += b.requests;
    return {
      windowSeconds,
      coveredSeconds: Math.max(0, Math.min(windowSpan, (now - this.startedAtMs) / 1000)),
      generatedAt: new Date(now).toISOString(),
      backends,
      unrouted: { window: unroutedWindow, total: this.unroutedTotal },
    };
  }
}

/** Nearest-rank percentile over a histogram: the smallest value with at least q*n samples at or below it. */
export function percentile(hist: Uint32Array, n: number, q: number, min: number, max: number): number {
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return Math.min(max, Math.max(min, bucketValue(i)));
  }
  return max;
}
