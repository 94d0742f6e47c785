/**
 * Builds the metric providers a worker offers, keyed by the provider name used
 * in `shipshape.yaml` (`router`, `prometheus`, `http-json`), and measures a set
 * of metrics through them.
 *
 *   const providers = createMetricProviders({
 *     router: new RouterClient({ adminUrl, token }),
 *     prometheus: { url: "http://127.0.0.1:9090" },
 *     httpJson: {},
 *   });
 *   const measurements = await measureAll(providers, specs, { canary, baseline, windowSeconds, service, environment });
 *   const results = judgeAll(specs, measurements);   // lib/analysis, in the workflow
 *
 * A provider that is not configured on this worker is absent from the map;
 * asking for it (getMetricProvider) throws UnknownMetricProviderError, and
 * measureAll turns that into an error measurement naming what is configured.
 */
import type { Measurement } from "../../lib/analysis/types";
import {
  METRIC_PROVIDER_NAMES,
  type MeasureRequest,
  type MetricProvider,
  type MetricRequestSpec,
} from "../../lib/drivers/metric-provider";
import { errorMeasurement, errorText } from "./common";
import { createHttpJsonProvider, type HttpJsonProviderOptions } from "./http-json-provider";
import { createPrometheusProvider, type PrometheusProviderOptions } from "./prometheus-provider";
import { createRouterProvider, type RouterStatsSource } from "./router-provider";

export interface MetricProviderDeps {
  /** The local router's stats (RouterClient, or RouterStats in process). */
  router?: RouterStatsSource | { source: RouterStatsSource; maxWindowSeconds?: number };
  prometheus?: PrometheusProviderOptions;
  /** `{}` enables the provider with defaults. */
  httpJson?: HttpJsonProviderOptions;
  /**
   * The AWS target's provider, built by the caller with createCloudWatchProvider
   * (./cloudwatch-provider.ts) so local workers do not load the AWS SDK.
   */
  cloudwatch?: MetricProvider;
  /** Extra or replacement providers (tests, plugins), by name. */
  extra?: Record<string, MetricProvider>;
}

export type MetricProviders = Readonly<Record<string, MetricProvider>>;

export class UnknownMetricProviderError extends Error {
  override name = "UnknownMetricProviderError";
  constructor(
    readonly provider: string,
    readonly configured: string[],
  ) {
    const why = (METRIC_PROVIDER_NAMES as readonly string[]).includes(provider)
      ? `metric provider ${JSON.stringify(provider)} is not configured on this worker`
      : `unknown metric provider ${JSON.stringify(provider)} (known: ${METRIC_PROVIDER_NAMES.join(", ")})`;
    super(`${why}; configured: ${configured.length > 0 ? configured.join(", ") : "none"}`);
  }
}

export function createMetricProviders(deps: MetricProviderDeps): MetricProviders {
  const out: Record<string, MetricProvider> = {};
  if (deps.router) {
    const r = "source" in deps.router ? deps.router : { source: deps.router };
    out.router = createRouterProvider({ router: r.source, maxWindowSeconds: r.maxWindowSeconds });
  }
  if (deps.prometheus) out.prometheus = createPrometheusProvider(deps.prometheus);
  if (deps.httpJson) out["http-json"] = createHttpJsonProvider(deps.httpJson);
  if (deps.cloudwatch) out.cloudwatch = deps.cloudwatch;
  for (const [name, p] of Object.entries(deps.extra ?? {})) out[name] = p;
  return Object.freeze(out);
}

export function getMetricProvider(providers: MetricProviders, name: string): MetricProvider {
  const p = Object.hasOwn(providers, name) ? providers[name] : undefined;
  if (!p) throw new UnknownMetricProviderError(name, Object.keys(providers));
  return p;
}

export type MeasureContext = Omit<MeasureRequest, "metric">;

/**
 * Measures every metric (at most `concurrency` at a time, default 8) and
 * returns the measurements in the order of `metrics`. Never rejects: an
 * unknown provider or a provider that throws becomes an error measurement.
 */
export async function measureAll(
  providers: MetricProviders,
  metrics: ReadonlyArray<MetricRequestSpec & { provider: string }>,
  ctx: MeasureContext,
  { concurrency = 8 }: { concurrency?: number } = {},
): Promise<Measurement[]> {
  const out: Measurement[] = new Array(metrics.length);
  let next = 0;
  const one = async (m: MetricRequestSpec & { provider: string }): Promise<Measurement> => {
    try {
      const provider = getMetricProvider(providers, m.provider);
      const { provider: _p, ...metric } = m;
      const r = await provider.measure({ ...ctx, metric });
      return { ...r, metric: m.name };
    } catch (err) {
      return errorMeasurement(m.name, errorText(err));
    }
  };
  const lane = async () => {
    while (next < metrics.length) {
      const i = next++;
      out[i] = await one(metrics[i] as MetricRequestSpec & { provider: string });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, metrics.length)) }, lane));
  return out;
}
