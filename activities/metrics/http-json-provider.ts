/**
 * `http-json` metric provider: any HTTP endpoint that answers JSON.
 *
 * The metric's `query` is `<url template>#<path>`:
 *
 *   http://stats.internal/api/v1/services/$service/versions/$version#data.items[0].value
 *   /api/error-rate?version=$version#value          (relative: resolved against `baseUrl`)
 *
 * The URL template is expanded once per side like every query (variables in
 * common.ts: $service, $environment, $version, $canary_version,
 * $baseline_version, $backend, $interval, $window_seconds), with values
 * URL-encoded. The fragment after the first `#` is never sent (fragments are
 * client-side by definition) and holds the path expression that selects the
 * number, in the syntax documented at parsePath() in common.ts:
 *
 *   value                     top-level key
 *   data.items[0].value       nested keys and array indexes
 *   series[-1]                negative index: from the end (last element)
 *   stats["latency.p95"]      quoted key with any characters
 *   (no fragment, or "#.")    the whole body is the number
 *
 * The selected value may be a number or a numeric string ("0.02"). If it is
 * an array of numbers, those are the samples (for a Mann-Whitney judge) and
 * the value is their median.
 *
 * No data vs error: an absent key, an index out of range or a JSON null is "no
 * data" (null → inconclusive). An HTTP error status, a connection failure, a
 * timeout, a body that is not JSON, a path that does not fit the document's
 * shape (indexing into a number) or a value that is not a number → error.
 * A GET per side; headers (e.g. Authorization) come from the provider options.
 */

import type { Measurement } from "../../lib/analysis/types";
import type { MeasureRequest, MetricProvider } from "../../lib/drivers/metric-provider";
import {
  errorMeasurement,
  errorText,
  expandTemplate,
  finiteOrNull,
  median,
  PathError,
  type PathStep,
  parsePath,
  selectPath,
  sideValues,
  TemplateError,
  toNumber,
} from "./common";

export interface HttpJsonProviderOptions {
  /** Base for relative URL templates. */
  baseUrl?: string;
  headers?: Record<string, string>;
  /** Per-request timeout. Default 5000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class HttpJsonError extends Error {
  override name = "HttpJsonError";
}

/** Splits `url#path` (first `#`). Pure. */
export function splitHttpJsonQuery(query: string): { urlTemplate: string; path: PathStep[] } {
  const hash = query.indexOf("#");
  const urlTemplate = (hash === -1 ? query : query.slice(0, hash)).trim();
  if (!urlTemplate) throw new HttpJsonError(`http-json query ${JSON.stringify(query)} has no URL`);
  return { urlTemplate, path: parsePath(hash === -1 ? "" : query.slice(hash + 1)) };
}

/** The number (and samples) a path selects from a JSON document. Pure. */
export function extractValue(doc: unknown, path: PathStep[]): { value: number | null; samples?: number[] } {
  const v = selectPath(doc, path);
  if (v === undefined || v === null) return { value: null };
  if (Array.isArray(v)) {
    const nums = v.map(toNumber);
    if (nums.some((n) => n === undefined)) {
      throw new HttpJsonError(`the path selects an array that is not all numbers`);
    }
    const samples = (nums as number[]).filter(Number.isFinite);
    return { value: median(samples), samples };
  }
  const n = toNumber(v);
  if (n === undefined) {
    throw new HttpJsonError(
      `the path selects ${typeof v === "object" ? "an object" : JSON.stringify(v)}, not a number`,
    );
  }
  return { value: finiteOrNull(n) };
}

export function createHttpJsonProvider(options: HttpJsonProviderOptions = {}): MetricProvider {
  const timeoutMs = options.timeoutMs ?? 5000;
  const doFetch = options.fetch ?? fetch;

  async function getJson(url: string, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await doFetch(url, {
        headers: { accept: "application/json", ...options.headers },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : errorText(err);
      throw new HttpJsonError(`GET ${url} failed: ${why}`);
    }
    const text = await res.text();
    if (!res.ok) throw new HttpJsonError(`GET ${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpJsonError(`GET ${url}: body is not JSON: ${text.slice(0, 100)}`);
    }
  }

  return {
    name: "http-json",
    async measure(req: MeasureRequest): Promise<Measurement> {
      const metric = req.metric.name;
      try {
        const { urlTemplate, path } = splitHttpJsonQuery(req.metric.query);
        const urlFor = (side: "canary" | "baseline") => {
          const expanded = expandTemplate(urlTemplate, sideValues(req, side), encodeURIComponent);
          try {
            return new URL(expanded, options.baseUrl).toString();
          } catch {
            throw new HttpJsonError(
              `not a valid URL: ${expanded}${options.baseUrl ? "" : " (relative URL and no baseUrl)"}`,
            );
          }
        };
        const side = async (which: "canary" | "baseline") => {
          if (which === "baseline" && req.baseline.version === null) return { value: null };
          return extractValue(await getJson(urlFor(which), req.signal), path);
        };
        const [c, b] = await Promise.all([side("canary"), side("baseline")]);
        const out: Measurement = { metric, canary: c.value, baseline: b.value };
        if (c.samples || b.samples) {
          out.canarySamples = c.samples ?? [];
          out.baselineSamples = b.samples ?? [];
        }
        return out;
      } catch (err) {
        if (err instanceof HttpJsonError || err instanceof PathError || err instanceof TemplateError) {
          return errorMeasurement(metric, `http-json: ${err.message}`);
        }
        return errorMeasurement(metric, `http-json: ${errorText(err)}`);
      }
    },
  };
}
