/**
 * The contract every metric provider implements, and the one list of provider
 * names (the config schema accepts them, the registry builds them). Pure —
 * importable from workflow code; each implementation is one file in
 * `activities/metrics/`.
 *
 * Semantics every provider follows (the analysis core relies on them):
 *  - `measure` resolves; it does not reject for provider trouble. A failed
 *    query, an unreachable server, an HTTP error or an answer of the wrong
 *    shape becomes `{ canary: null, baseline: null, error: "<why>" }`. The
 *    aggregation counts errors against `consecutiveErrorLimit` and pauses
 *    (never fails the release for them).
 *  - "No data" is not an error: an empty result (empty Prometheus vector, a
 *    backend that served no request in the window, a JSON path that is absent
 *    or null) is a `null` value; the judges make it inconclusive unless the
 *    metric says `noData: fail`.
 *  - Non-finite numbers (NaN from 0/0, ±Inf) are reported as `null`: Measurement
 *    is plain JSON and travels through Temporal payloads.
 *  - `requests` is set when the provider knows how many requests each side
 *    served in the window, so `minRequests` can hold a verdict back.
 *  - A side without a version (first deployment: no baseline) is `null`.
 */
import type { Judge, Measurement, Unit } from "../analysis/types";

/** Every provider name a metric's `provider:` may name in `shipshape.yaml`. */
export const METRIC_PROVIDER_NAMES = ["router", "prometheus", "http-json", "cloudwatch"] as const;
export type MetricProviderName = (typeof METRIC_PROVIDER_NAMES)[number];

/** The part of a MetricSpec a provider needs. `judge` tells it whether samples are wanted. */
export interface MetricRequestSpec {
  name: string;
  query: string;
  unit?: Unit;
  judge?: Judge;
}

/** One side of the comparison: which release, and under which router backend name it runs. */
export interface MeasuredSide {
  version: string;
  backend: string;
}

export interface MeasureRequest {
  metric: MetricRequestSpec;
  /** The new release (router backend "green"). */
  canary: MeasuredSide & { backend: "green" | (string & {}) };
  /** The release being replaced (router backend "blue"); version null when there is none. */
  baseline: { version: string | null; backend: "blue" | (string & {}) };
  /** The measurement covers the window of this many seconds ending now. */
  windowSeconds: number;
  service: string;
  environment: string;
  /** Aborts in-flight I/O (activity cancellation). */
  signal?: AbortSignal;
}

export interface MetricProvider {
  /** The provider name used in the config (`router`, `prometheus`, `http-json`, …). */
  readonly name: string;
  /**
   * Cheap to ask several times a second, with numbers that move within a
   * second (the local router's own counters): the analysis then watches its
   * critical threshold metrics within each interval (activities/watch.ts) and
   * judges a bad release as soon as its window holds minRequests requests.
   * Absent: measured once per interval only.
   */
  readonly watchable?: boolean;
  measure(request: MeasureRequest): Promise<Measurement>;
}

/** The providers a target offers, by the name a metric's `provider:` uses. */
export type MetricProviders = Readonly<Record<string, MetricProvider>>;
