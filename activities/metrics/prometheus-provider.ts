/**
 * `prometheus` metric provider: PromQL over the Prometheus HTTP API.
 *
 * The metric's `query` is a PromQL template (see TEMPLATE_VARIABLES in
 * common.ts): it is expanded twice, with `$version` = the canary's version and
 * with `$version` = the baseline's, and each is evaluated as an INSTANT query
 * (GET /api/v1/query) at the same evaluation time. Substituted values are
 * escaped for PromQL double-quoted strings.
 *
 *   sum(rate(http_requests_total{service="$service",version="$version",code=~"5.."}[$interval]))
 *     / sum(rate(http_requests_total{service="$service",version="$version"}[$interval]))
 *
 * For a Mann-Whitney judge the provider also runs a RANGE query
 * (GET /api/v1/query_range) over the window, one point every `step` seconds,
 * and returns the points as samples.
 *
 * Results:
 *  - one series or a scalar → its value; NaN (0/0) and ±Inf → null
 *  - empty vector / matrix → null: no data, inconclusive (not an error)
 *  - more than one series → error: the query must aggregate to one series
 *    per version (sum/avg/max ... by nothing), otherwise "the value" is ambiguous
 *  - connection refused, timeout, HTTP error, `status: "error"` (bad PromQL),
 *    template error → error measurement (counts toward consecutiveErrorLimit)
 *
 * `requestsQuery` (optional, per provider): a template evaluated per side the
 * same way, giving the request counts that `minRequests` needs, e.g.
 * `sum(increase(http_requests_total{service="$service",version="$version"}[$interval]))`.
 */

import type { Measurement } from "../../lib/analysis/types";
import type { MeasureRequest, MetricProvider } from "../../lib/drivers/metric-provider";
import {
  errorMeasurement,
  errorText,
  expandTemplate,
  finiteOrNull,
  promQuote,
  sideValues,
  TemplateError,
  toNumber,
  wantsSamples,
} from "./common";

export interface PrometheusProviderOptions {
  /** Base URL of the Prometheus server, e.g. http://127.0.0.1:9090 */
  url: string;
  /** Per-HTTP-request timeout. Default 5000 ms. */
  timeoutMs?: number;
  /** Range-query resolution for samples; default max(1, ceil(window / 60)) s (≤ 60 points). */
  rangeStepSeconds?: number;
  /** Template of a query giving the requests each side served in the window (enables minRequests). */
  requestsQuery?: string;
  /** Extra headers (e.g. Authorization for a hosted Prometheus). */
  headers?: Record<string, string>;
  /** Clock for the evaluation time (tests). */
  now?: () => number;
  fetch?: typeof fetch;
}

/** Raised for every Prometheus failure; becomes the measurement's `error`. */
export class PrometheusQueryError extends Error {
  override name = "PrometheusQueryError";
}

interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

type PromData =
  | { resultType: "vector"; result: PromSeries[] }
  | { resultType: "matrix"; result: PromSeries[] }
  | { resultType: "scalar"; result: [number, string] }
  | { resultType: "string"; result: [number, string] };

function describeSeries(result: PromSeries[]): string {
  const shown = result
    .slice(0, 3)
    .map(
      (s) =>
        `{${Object.entries(s.metric)
          .map(([k, v]) => `${k}="${v}"`)
          .join(",")}}`,
    )
    .join(", ");
  return result.length > 3 ? `${shown}, …` : shown;
}

/** Value of an instant-query result: number, null (empty / NaN), or throws (ambiguous / wrong type). Pure. */
export function instantValue(data: PromData): number | null {
  switch (data.resultType) {
    case "scalar":
      return finiteOrNull(toNumber(data.result[1]));
    case "vector": {
      if (data.result.length === 0) return null;
      if (data.result.length > 1) {
        throw new PrometheusQueryError(
          `query returned ${data.result.length} series (${describeSeries(data.result)}); aggregate it to one series, e.g. sum(...) or max(...)`,
        );
      }
      return finiteOrNull(toNumber(data.result[0]?.value?.[1]));
    }
    default:
      throw new PrometheusQueryError(`query returned a ${data.resultType}, expected a vector or scalar`);
  }
}

/** Samples of a range-query result (finite values only). Pure. */
export function rangeSamples(data: PromData): number[] {
  if (data.resultType !== "matrix") {
    throw new PrometheusQueryError(`range query returned a ${data.resultType}, expected a matrix`);
  }
  if (data.result.length === 0) return [];
  if (data.result.length > 1) {
    throw new PrometheusQueryError(
      `range query returned ${data.result.length} series (${describeSeries(data.result)}); aggregate it to one series`,
    );
  }
  const out: number[] = [];
  for (const [, v] of data.result[0]?.values ?? []) {
    const n = toNumber(v);
    if (n !== undefined && Number.isFinite(n)) out.push(n);
  }
  return out;
}

export function createPrometheusProvider(options: PrometheusProviderOptions): MetricProvider {
  const base = options.url.replace(/\/+$/, "");
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;

  async function api(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<PromData> {
    const url = `${base}${path}?${new URLSearchParams(params).toString()}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(url, {
        headers: { accept: "application/json", ...options.headers },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : errorText(err);
      throw new PrometheusQueryError(`prometheus at ${base} unreachable: ${why}`);
    }
    const text = await res.text();
    let body: { status?: string; data?: PromData; error?: string; errorType?: string } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok || body?.status !== "success" || !body.data) {
      const detail = body?.error ? `${body.errorType ?? "error"}: ${body.error}` : text.slice(0, 200);
      throw new PrometheusQueryError(`prometheus ${path} HTTP ${res.status}: ${detail}`);
    }
    return body.data;
  }

  const instant = async (query: string, time: number, signal?: AbortSignal) =>
    instantValue(await api("/api/v1/query", { query, time: (time / 1000).toFixed(3) }, signal));

  const range = async (
    query: string,
    endMs: number,
    windowSeconds: number,
    step: number,
    signal?: AbortSignal,
  ) =>
    rangeSamples(
      await api(
        "/api/v1/query_range",
        {
          query,
          start: ((endMs - windowSeconds * 1000) / 1000).toFixed(3),
          end: (endMs / 1000).toFixed(3),
          step: `${step}s`,
        },
        signal,
      ),
    );

  return {
    name: "prometheus",
    async measure(req: MeasureRequest): Promise<Measurement> {
      const metric = req.metric.name;
      const at = now();
      const window = Math.max(1, Math.round(req.windowSeconds));
      const step = options.rangeStepSeconds ?? Math.max(1, Math.ceil(window / 60));
      const samples = wantsSamples(req.metric);
      const hasBaseline = req.baseline.version !== null;
      try {
        const expand = (template: string, side: "canary" | "baseline") =>
          expandTemplate(template, sideValues(req, side), promQuote);
        const side = async (which: "canary" | "baseline") => {
          if (which === "baseline" && !hasBaseline) {
            return { value: null, samples: undefined, requests: undefined };
          }
          const q = expand(req.metric.query, which);
          const rq = options.requestsQuery ? expand(options.requestsQuery, which) : undefined;
          const [value, s, requests] = await Promise.all([
            instant(q, at, req.signal),
            samples ? range(q, at, window, step, req.signal) : Promise.resolve(undefined),
            rq ? instant(rq, at, req.signal) : Promise.resolve(undefined),
          ]);
          return { value, samples: s, requests };
        };
        const [c, b] = await Promise.all([side("canary"), side("baseline")]);
        const out: Measurement = { metric, canary: c.value, baseline: b.value };
        if (samples) {
          out.canarySamples = c.samples ?? [];
          out.baselineSamples = b.samples ?? [];
        }
        if (options.requestsQuery) {
          out.requests = {
            canary: Math.max(0, Math.round(c.requests ?? 0)),
            baseline: Math.max(0, Math.round(b.requests ?? 0)),
          };
        }
        return out;
      } catch (err) {
        if (err instanceof PrometheusQueryError || err instanceof TemplateError) {
          return errorMeasurement(metric, err.message);
        }
        return errorMeasurement(metric, `prometheus: ${errorText(err)}`);
      }
    },
  };
}
