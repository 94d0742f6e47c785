/**
 * `MetricProvider` "cloudwatch": the ALB target-group metrics of the canary
 * (green) and baseline (blue) target groups, from CloudWatch GetMetricData
 * (AWS SDK v3), namespace AWS/ApplicationELB, dimensions {TargetGroup, LoadBalancer}.
 *
 * Queries (the `query` of a metric with `provider: cloudwatch`):
 *   error_rate        HTTPCode_Target_5XX_Count / RequestCount   (ratio; null without requests)
 *   error_count       HTTPCode_Target_5XX_Count sum
 *   request_count     RequestCount sum
 *   latency_avg_ms    TargetResponseTime Sum / SampleCount × 1000
 *   latency_pNN_ms    TargetResponseTime pNN × 1000 (p50, p90, p95, p99; NN any 1–99.9)
 *   metric:<Name>:<Stat>  any AWS/ApplicationELB target-group metric and statistic
 *
 * Every measurement also reports `requests` (RequestCount of each side), so
 * `minRequests` works. Samples (for Mann-Whitney judges) are the per-minute
 * values of the metric over the window. ALB metrics have one-minute
 * resolution and reach CloudWatch with a delay: the window ends `lagSeconds`
 * (default 60) before now. Follows the provider contract of
 * lib/drivers/metric-provider.ts: it never rejects; trouble becomes `error`, an
 * empty series is `null` ("no data" → inconclusive).
 */
import {
  CloudWatchClient,
  type CloudWatchClientConfig,
  GetMetricDataCommand,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import type { Measurement } from "../../lib/analysis/types";
import type { MeasureRequest, MetricProvider } from "../../lib/drivers/metric-provider";
import type { TrafficRouter } from "../../lib/drivers/traffic-router";

export const ALB_NAMESPACE = "AWS/ApplicationELB";

/** The target groups (ARNs) behind the two sides of one scope, and their load balancer. */
export interface CloudWatchTargets {
  /** Load balancer ARN, or listener ARN (its load balancer is derived), or the dimension value `app/<name>/<id>`. */
  loadBalancer: string;
  canary: string;
  /** null when there is no baseline (first deployment). */
  baseline: string | null;
}

export interface CloudWatchProviderOptions {
  targets: (request: MeasureRequest) => CloudWatchTargets | Promise<CloudWatchTargets>;
  client?: CloudWatchClient;
  clientConfig?: CloudWatchClientConfig;
  /** How far the window ends before now (CloudWatch ingestion delay). Default 60. */
  lagSeconds?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** `arn:…:targetgroup/name/id` → `targetgroup/name/id` (the CloudWatch dimension value). */
export function targetGroupDimension(arn: string): string {
  const m = /:(targetgroup\/[^/]+\/[^/]+)$/.exec(arn);
  if (m?.[1]) return m[1];
  if (/^targetgroup\/[^/]+\/[^/]+$/.test(arn)) return arn;
  throw new Error(`not a target group ARN: ${arn}`);
}

/** Load balancer or listener ARN (or the dimension itself) → `app/name/id`. */
export function loadBalancerDimension(arn: string): string {
  const m = /:(?:loadbalancer|listener(?:-rule)?)\/(app\/[^/]+\/[^/]+)/.exec(arn);
  if (m?.[1]) return m[1];
  if (/^app\/[^/]+\/[^/]+$/.test(arn)) return arn;
  throw new Error(`not an application load balancer or listener ARN: ${arn}`);
}

type Plan =
  | { kind: "ratio"; num: { name: string; stat: string }; den: { name: string; stat: string }; scale: number }
  | { kind: "single"; name: string; stat: string; scale: number; combine: "sum" | "mean" };

export function planQuery(query: string): Plan {
  const q = query.trim();
  if (q === "error_rate")
    return {
      kind: "ratio",
      num: { name: "HTTPCode_Target_5XX_Count", stat: "Sum" },
      den: { name: "RequestCount", stat: "Sum" },
      scale: 1,
    };
  if (q === "error_count")
    return { kind: "single", name: "HTTPCode_Target_5XX_Count", stat: "Sum", scale: 1, combine: "sum" };
  if (q === "request_count")
    return { kind: "single", name: "RequestCount", stat: "Sum", scale: 1, combine: "sum" };
  if (q === "latency_avg_ms")
    return {
      kind: "ratio",
      num: { name: "TargetResponseTime", stat: "Sum" },
      den: { name: "TargetResponseTime", stat: "SampleCount" },
      scale: 1000,
    };
  const p = /^latency_p(\d{1,2}(?:\.\d)?)_ms$/.exec(q);
  if (p?.[1] && Number(p[1]) > 0) {
    return { kind: "single", name: "TargetResponseTime", stat: `p${p[1]}`, scale: 1000, combine: "mean" };
  }
  const raw = /^metric:([A-Za-z0-9_]+):([A-Za-z0-9.]+)$/.exec(q);
  if (raw?.[1] && raw[2]) {
    return {
      kind: "single",
      name: raw[1],
      stat: raw[2],
      scale: 1,
      combine: raw[2] === "Sum" ? "sum" : "mean",
    };
  }
  throw new Error(
    `unknown cloudwatch query "${query}": use error_rate, error_count, request_count, latency_avg_ms, latency_p95_ms (pNN) or metric:<Name>:<Stat>`,
  );
}

const finite = (n: number | null | undefined): number | null =>
  n === null || n === undefined || !Number.isFinite(n) ? null : n;

export function createCloudWatchProvider(options: CloudWatchProviderOptions): MetricProvider {
  const client = options.client ?? new CloudWatchClient(options.clientConfig ?? {});
  const lagSeconds = options.lagSeconds ?? 60;
  const now = options.now ?? Date.now;

  return {
    name: "cloudwatch",
    async measure(request: MeasureRequest): Promise<Measurement> {
      const metric = request.metric.name;
      try {
        const plan = planQuery(request.metric.query);
        const targets = await options.targets(request);
        const lb = loadBalancerDimension(targets.loadBalancer);
        const sides: Array<["canary" | "baseline", string]> = [
          ["canary", targetGroupDimension(targets.canary)],
        ];
        if (targets.baseline && request.baseline.version !== null) {
          sides.push(["baseline", targetGroupDimension(targets.baseline)]);
        }
        const end = Math.floor((now() - lagSeconds * 1000) / 1000) * 1000;
        const windowSeconds = Math.max(60, Math.ceil(request.windowSeconds / 60) * 60);
        const start = end - windowSeconds * 1000;

        const queries: MetricDataQuery[] = [];
        const add = (id: string, tg: string, name: string, stat: string) =>
          queries.push({
            Id: id,
            ReturnData: true,
            MetricStat: {
              Metric: {
                Namespace: ALB_NAMESPACE,
                MetricName: name,
                Dimensions: [
                  { Name: "TargetGroup", Value: tg },
                  { Name: "LoadBalancer", Value: lb },
                ],
              },
              Period: 60,
              Stat: stat,
            },
          });
        for (const [side, tg] of sides) {
          add(`${side}_requests`, tg, "RequestCount", "Sum");
          if (plan.kind === "ratio") {
            add(`${side}_num`, tg, plan.num.name, plan.num.stat);
            add(`${side}_den`, tg, plan.den.name, plan.den.stat);
          } else {
            add(`${side}_value`, tg, plan.name, plan.stat);
          }
        }

        const series = new Map<string, Array<{ t: number; v: number }>>();
        let token: string | undefined;
        do {
          const r = await client.send(
            new GetMetricDataCommand({
              MetricDataQueries: queries,
              StartTime: new Date(start),
              EndTime: new Date(end),
              ScanBy: "TimestampAscending",
              NextToken: token,
            }),
            { abortSignal: request.signal },
          );
          for (const res of r.MetricDataResults ?? []) {
            if (!res.Id) continue;
            if (res.StatusCode === "Forbidden" || res.StatusCode === "InternalError") {
              throw new Error(
                `${res.Id}: ${res.StatusCode} ${(res.Messages ?? []).map((m) => m.Value).join("; ")}`,
              );
            }
            const list = series.get(res.Id) ?? [];
            const ts = res.Timestamps ?? [];
            (res.Values ?? []).forEach((v, i) => {
              if (Number.isFinite(v)) list.push({ t: ts[i]?.getTime() ?? i, v });
            });
            series.set(res.Id, list);
          }
          token = r.NextToken;
        } while (token);

        const sum = (id: string) => (series.get(id) ?? []).reduce((a, p) => a + p.v, 0);
        const has = (id: string) => (series.get(id)?.length ?? 0) > 0;
        const result: Measurement = { metric, canary: null, baseline: null };
        const wantSamples = request.metric.judge?.kind === "mannWhitney";
        for (const [side] of sides) {
          let value: number | null = null;
          let samples: number[] = [];
          if (plan.kind === "ratio") {
            const den = sum(`${side}_den`);
            value = den > 0 ? (sum(`${side}_num`) / den) * plan.scale : null;
            const nums = new Map((series.get(`${side}_num`) ?? []).map((p) => [p.t, p.v]));
            samples = (series.get(`${side}_den`) ?? [])
              .filter((p) => p.v > 0)
              .map((p) => ((nums.get(p.t) ?? 0) / p.v) * plan.scale);
          } else {
            const pts = series.get(`${side}_value`) ?? [];
            samples = pts.map((p) => p.v * plan.scale);
            if (has(`${side}_value`)) {
              value =
                plan.combine === "sum"
                  ? sum(`${side}_value`) * plan.scale
                  : samples.reduce((a, b) => a + b, 0) / samples.length;
            }
          }
          result[side] = finite(value);
          if (wantSamples) result[side === "canary" ? "canarySamples" : "baselineSamples"] = samples;
        }
        result.requests = {
          canary: sum("canary_requests"),
          baseline: sides.length > 1 ? sum("baseline_requests") : 0,
        };
        return result;
      } catch (e) {
        const err = e as Error & { name?: string };
        return {
          metric,
          canary: null,
          baseline: null,
          error: `cloudwatch: ${err.name && err.name !== "Error" ? `${err.name}: ` : ""}${err.message}`,
        };
      }
    },
  };
}

/**
 * Targets from the ALB router's table: the target groups registered as
 * green (canary) and blue (baseline) for the scope, checked against the
 * versions being compared; `listenerArn` gives the load balancer dimension.
 */
export function targetsFromRouter(
  router: Pick<TrafficRouter, "getRoutes">,
  listenerArn: (scope: { service: string; environment: string }) => string | Promise<string>,
): CloudWatchProviderOptions["targets"] {
  return async (request) => {
    const scope = { service: request.service, environment: request.environment };
    const routes = await router.getRoutes(scope);
    const green = routes.backends.green;
    const blue = routes.backends.blue;
    if (!green || green.version !== request.canary.version) {
      throw new Error(
        `router has ${green ? `green ${green.version}` : "no green"}, not the canary ${request.canary.version}`,
      );
    }
    const tg = (b: typeof green) => {
      const arn = b.instances[0];
      if (!arn) throw new Error(`backend ${b.version} has no target group`);
      return arn;
    };
    return {
      loadBalancer: await listenerArn(scope),
      canary: tg(green),
      baseline: blue && request.baseline.version !== null ? tg(blue) : null,
    };
  };
}
