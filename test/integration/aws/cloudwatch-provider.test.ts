/**
 * The CloudWatch metric provider against moto (server mode, loopback): ALB
 * target-group metrics are put with PutMetricData, then measured through
 * GetMetricData for the canary and baseline target groups.
 */
import { CloudWatchClient, PutMetricDataCommand, type StandardUnit } from "@aws-sdk/client-cloudwatch";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALB_NAMESPACE,
  createCloudWatchProvider,
  loadBalancerDimension,
  targetGroupDimension,
  targetsFromRouter,
} from "../../../activities/metrics/cloudwatch-provider";
import { createAlbTrafficRouter } from "../../../infra/aws/alb-traffic-router";
import type { MeasureRequest } from "../../../lib/drivers/metric-provider";
import { type MotoServer, startMoto } from "../../support/moto";

let moto: MotoServer;
let cw: CloudWatchClient;
let elb: ElasticLoadBalancingV2Client;
let listenerArn: string;
let blueTg: string;
let greenTg: string;
const NOW = Date.now();

async function put(
  tg: string,
  name: string,
  unit: StandardUnit,
  points: Array<[minutesAgo: number, value: number]>,
) {
  await cw.send(
    new PutMetricDataCommand({
      Namespace: ALB_NAMESPACE,
      MetricData: points.map(([ago, value]) => ({
        MetricName: name,
        Unit: unit,
        Value: value,
        Timestamp: new Date(NOW - ago * 60_000 - 30_000),
        Dimensions: [
          { Name: "TargetGroup", Value: targetGroupDimension(tg) },
          { Name: "LoadBalancer", Value: loadBalancerDimension(listenerArn) },
        ],
      })),
    }),
  );
}

function request(query: string, extra: Partial<MeasureRequest> = {}): MeasureRequest {
  return {
    metric: { name: query.replace(/_/g, "-"), query },
    canary: { version: "v2", backend: "green" },
    baseline: { version: "v1", backend: "blue" },
    windowSeconds: 300,
    service: "shop",
    environment: "production",
    ...extra,
  };
}

beforeAll(async () => {
  moto = await startMoto();
  cw = new CloudWatchClient(moto.clientConfig);
  elb = new ElasticLoadBalancingV2Client(moto.clientConfig);
  const vpcId = /<vpcId>([^<]+)/.exec(await moto.ec2("DescribeVpcs"))?.[1] ?? "";
  const subnets = [...(await moto.ec2("DescribeSubnets")).matchAll(/<subnetId>([^<]+)/g)].map(
    (m) => m[1] ?? "",
  );
  const lb = await elb.send(
    new CreateLoadBalancerCommand({ Name: "shop-prod", Subnets: subnets.slice(0, 2) }),
  );
  const tg = async (Name: string) =>
    (
      await elb.send(
        new CreateTargetGroupCommand({ Name, Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "ip" }),
      )
    ).TargetGroups?.[0]?.TargetGroupArn ?? "";
  blueTg = await tg("shop-prod-v1");
  greenTg = await tg("shop-prod-v2");
  for (const [arn, ip] of [
    [blueTg, "10.0.1.10"],
    [greenTg, "10.0.2.20"],
  ] as const) {
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: ip, Port: 8080 }] }));
  }
  const l = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers?.[0]?.LoadBalancerArn ?? "",
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", TargetGroupArn: blueTg }],
    }),
  );
  listenerArn = l.Listeners?.[0]?.ListenerArn ?? "";

  // Four minutes of traffic: blue 1000 req/min with 2 errors; green 100 req/min with 5 errors.
  await put(blueTg, "RequestCount", "Count", [
    [1, 1000],
    [2, 1000],
    [3, 1000],
    [4, 1000],
  ]);
  await put(blueTg, "HTTPCode_Target_5XX_Count", "Count", [
    [1, 1],
    [3, 1],
  ]);
  await put(greenTg, "RequestCount", "Count", [
    [1, 100],
    [2, 100],
    [3, 100],
    [4, 100],
  ]);
  await put(greenTg, "HTTPCode_Target_5XX_Count", "Count", [
    [1, 2],
    [2, 1],
    [3, 1],
    [4, 1],
  ]);
  // Latency in seconds, as the ALB publishes it: blue ~0.1 s, green ~0.2 s.
  await put(blueTg, "TargetResponseTime", "Seconds", [
    [1, 0.1],
    [1, 0.1],
    [2, 0.1],
    [3, 0.1],
    [4, 0.1],
  ]);
  await put(greenTg, "TargetResponseTime", "Seconds", [
    [1, 0.2],
    [2, 0.2],
    [2, 0.2],
    [3, 0.2],
    [4, 0.2],
  ]);
}, 120_000);

afterAll(async () => {
  cw?.destroy();
  elb?.destroy();
  await moto?.stop();
});

describe("CloudWatch provider on moto", () => {
  const provider = () =>
    createCloudWatchProvider({
      client: cw,
      lagSeconds: 0,
      now: () => NOW,
      targets: () => ({ loadBalancer: listenerArn, canary: greenTg, baseline: blueTg }),
    });

  it("measures the 5xx error rate and the requests of both target groups", async () => {
    const m = await provider().measure(request("error_rate"));
    expect(m.error).toBeUndefined();
    expect(m.canary).toBeCloseTo(5 / 400, 10);
    expect(m.baseline).toBeCloseTo(2 / 4000, 10);
    expect(m.requests).toEqual({ canary: 400, baseline: 4000 });
  });

  it("measures request and error counts", async () => {
    const r = await provider().measure(request("request_count"));
    expect([r.canary, r.baseline]).toEqual([400, 4000]);
    const e = await provider().measure(request("error_count"));
    expect([e.canary, e.baseline]).toEqual([5, 2]);
  });

  it("measures the average target response time in milliseconds", async () => {
    const m = await provider().measure(request("latency_avg_ms"));
    expect(m.canary).toBeCloseTo(200, 6);
    expect(m.baseline).toBeCloseTo(100, 6);
  });

  it("returns per-minute samples for a Mann-Whitney judge", async () => {
    const m = await provider().measure({
      ...request("error_rate"),
      metric: {
        name: "error-rate",
        query: "error_rate",
        judge: {
          kind: "mannWhitney",
          tolerance: 0.1,
          confidence: 0.95,
          direction: "increase-is-bad",
          minSamples: 3,
        },
      },
    });
    expect(m.canarySamples?.map((v) => Math.round(v * 1000) / 1000)).toEqual([0.01, 0.01, 0.01, 0.02]);
    expect(m.baselineSamples).toHaveLength(4);
  });

  it("only looks at the window: a 2-minute window sees the point 90 s ago, not the one 150 s ago", async () => {
    const m = await provider().measure(request("request_count", { windowSeconds: 120 }));
    expect([m.canary, m.baseline]).toEqual([100, 1000]);
  });

  it("no data is null (inconclusive), not an error; no baseline is null", async () => {
    const later = createCloudWatchProvider({
      client: cw,
      lagSeconds: 0,
      now: () => NOW + 3_600_000,
      targets: () => ({ loadBalancer: listenerArn, canary: greenTg, baseline: null }),
    });
    const m = await later.measure(request("error_rate", { baseline: { version: null, backend: "blue" } }));
    expect(m).toEqual({
      metric: "error-rate",
      canary: null,
      baseline: null,
      requests: { canary: 0, baseline: 0 },
    });
  });

  it("a bad query or an unreachable endpoint is an error, never a rejection", async () => {
    const bad = await provider().measure(request("p95"));
    expect(bad.error).toMatch(/unknown cloudwatch query/);
    const down = createCloudWatchProvider({
      clientConfig: { ...moto.clientConfig, endpoint: "http://127.0.0.1:9" },
      targets: () => ({ loadBalancer: listenerArn, canary: greenTg, baseline: blueTg }),
    });
    const m = await down.measure(request("error_rate"));
    expect(m.canary).toBeNull();
    expect(m.error).toMatch(/^cloudwatch: /);
    expect(m.error).not.toMatch(/test/); // no credentials in messages
  });

  it("takes the target groups from the ALB router's table", async () => {
    const router = createAlbTrafficRouter({ resolve: () => ({ listenerArn }), client: elb, pollMs: 50 });
    const scope = { service: "shop", environment: "production" };
    await router.setBackends(scope, {
      blue: { version: "v1", instances: [blueTg] },
      green: { version: "v2", instances: [greenTg] },
    });
    const p = createCloudWatchProvider({
      client: cw,
      lagSeconds: 0,
      now: () => NOW,
      targets: targetsFromRouter(router, () => listenerArn),
    });
    const m = await p.measure(request("error_rate"));
    expect(m.requests).toEqual({ canary: 400, baseline: 4000 });
    const wrong = await p.measure(request("error_rate", { canary: { version: "v3", backend: "green" } }));
    expect(wrong.error).toMatch(/not the canary v3/);
  });
});
