/**
 * The notes service's release config with a `target: aws` environment,
 * deployed through `shipshape worker` and the CLI against moto (server mode,
 * loopback) and a real Temporal dev server — the production path, but for
 * the Pulumi engine: the AWS provider plugin cannot be installed here, so
 * the worker runs Shipshape's version-environment program under Pulumi mocks
 * that create its target group and version rule in moto
 * (test/support/aws-pulumi-mocks.ts, loaded with `--test-aws-infra`).
 *
 * Real: the worker process and its AWS target (ALB router: ModifyRule /
 * DescribeRules / DescribeTargetHealth on the moto listener rule; CloudWatch
 * GetMetricData; verification through the load balancer with the version
 * header), the migrations on PostgreSQL, the CLI.
 *
 * What moto does not do, and the test does instead: it routes no traffic,
 * so a loopback server stands in for the ALB's data plane (`aws.url`): it
 * answers a request only when moto has a listener rule for the request's
 * X-Shipshape-Version header — verification passes only through a version
 * rule the program created. ALB telemetry is not emulated either: the test
 * publishes each version's RequestCount / HTTPCode_Target_5XX_Count with
 * PutMetricData as soon as its target group exists (v3: 10% 5xx).
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import YAML from "yaml";
import {
  ALB_NAMESPACE,
  loadBalancerDimension,
  targetGroupDimension,
} from "../../../activities/metrics/cloudwatch-provider";
import { TAG_SIDE } from "../../../infra/aws/alb-traffic-router";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import type { DetachedProcess } from "../../../lib/runtime/process-group";
import { migrationPhases, runShipshape } from "../../support/cli-process";
import { type MotoServer, startMoto } from "../../support/moto";
import { freshDatabase } from "../../support/postgres";
import { startWorkerProcess, stopGroup } from "../../support/worker-process";

const ENV = "aws";
const NOTES = path.join(PROJECT_ROOT, "examples", "notes");
const dir = path.join(inject("testStateDir"), "aws-worker");
const taskQueue = `aws-worker-${process.pid}`;
const PRIORITY = 300;
let moto: MotoServer;
let elb: ElasticLoadBalancingV2Client;
let cw: CloudWatchClient;
let listenerArn: string;
let ruleArn: string;
let placeholderTg: string;
let dataPlane: http.Server;
let dataPlaneUrl: string;
let worker: DetachedProcess;
let db: Awaited<ReturnType<typeof freshDatabase>>;
let stopMetrics: () => void = () => {};
const published = new Set<string>();

/** 5xx per 1000 requests each version's target group reports: v3 is the bad one. */
const ERRORS_PER_MILLE: Record<string, number> = { v1: 1, v2: 1, v3: 100 };

/**
 * Stands in for the ALB publishing its per-target-group metrics: 1000
 * requests every 10 s over the 4 minutes before the provider's lag (60 s).
 */
async function publishAlbMetrics(targetGroupArn: string, errorsPerMille: number): Promise<void> {
  const now = Date.now();
  const dims = [
    { Name: "TargetGroup", Value: targetGroupDimension(targetGroupArn) },
    { Name: "LoadBalancer", Value: loadBalancerDimension(listenerArn) },
  ];
  const stamps = Array.from({ length: 24 }, (_, k) => new Date(now - 62_000 - k * 10_000));
  for (const [name, value] of [
    ["RequestCount", 1000],
    ["HTTPCode_Target_5XX_Count", errorsPerMille],
  ] as const) {
    await cw.send(
      new PutMetricDataCommand({
        Namespace: ALB_NAMESPACE,
        MetricData: stamps.map((Timestamp) => ({
          MetricName: name,
          Unit: "Count",
          Value: value,
          Timestamp,
          Dimensions: dims,
        })),
      }),
    );
  }
}

/** Publishes metrics for each version's target group as soon as the program has created it. */
function watchTargetGroups(): () => void {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const groups =
        (await elb.send(new DescribeTargetGroupsCommand({})).catch(() => undefined))?.TargetGroups ?? [];
      for (const g of groups) {
        const version = new RegExp(`^notes-${ENV}-(v\\d)$`).exec(g.TargetGroupName ?? "")?.[1];
        if (!version || !g.TargetGroupArn || published.has(g.TargetGroupArn)) continue;
        published.add(g.TargetGroupArn);
        await publishAlbMetrics(g.TargetGroupArn, ERRORS_PER_MILLE[version] ?? 0);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return () => {
    stopped = true;
  };
}

/** The ALB's data plane: answers for a version only through a version rule that exists in moto. */
function startDataPlane(): Promise<void> {
  dataPlane = http.createServer(async (req, res) => {
    const version = String(req.headers["x-shipshape-version"] ?? "");
    const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? [];
    const routed = rules.some((r) =>
      (r.Conditions ?? []).some((c) => c.HttpHeaderConfig?.Values?.includes(version)),
    );
    if (!version || !routed) {
      res.statusCode = 404;
      return void res.end(`no rule for version "${version}"`);
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(req.url === "/notes" ? { notes: [], version } : { status: "ok", version }));
  });
  return new Promise((r) =>
    dataPlane.listen(0, "127.0.0.1", () => {
      dataPlaneUrl = `http://127.0.0.1:${(dataPlane.address() as AddressInfo).port}`;
      r();
    }),
  );
}

/**
 * The notes release at `version` with an `aws` environment: the example's own
 * file, migrations and all, plus the environment section (and a metric that
 * names `provider: cloudwatch`; `provider: router` is the ALB there too).
 */
function releaseConfig(version: string): string {
  const release = path.join(dir, "releases", version);
  fs.cpSync(path.join(NOTES, version), release, { recursive: true });
  const file = path.join(release, "shipshape.yaml");
  const raw = YAML.parse(fs.readFileSync(file, "utf8"));
  raw.environments[ENV] = {
    target: "aws",
    aws: {
      region: moto.region,
      cluster: "main",
      listenerArn,
      image: `123456789012.dkr.ecr.${moto.region}.amazonaws.com/notes:$version`,
      containerPort: 8000,
      url: dataPlaneUrl,
      rule: { priority: PRIORITY, hosts: ["notes.example.com"] },
      targetHealthTimeout: "20s",
    },
  };
  raw.release.analysis.metrics.push({
    name: "alb-5xx",
    provider: "cloudwatch",
    query: "error_rate",
    max: "5%",
    critical: true,
  });
  fs.writeFileSync(file, YAML.stringify(raw));
  return file;
}

function shipshape(...args: string[]) {
  return runShipshape(args, { cwd: dir, env: { TEMPORAL_ADDRESS: inject("temporalAddress") } });
}

const deploy = (version: string) =>
  shipshape(
    ...["deploy", "--config", releaseConfig(version), "--service", "notes", "--env", ENV],
    ...["--version", version, "--as", "ci", "--task-queue", taskQueue, "--watch"],
  );

async function status(): Promise<Record<string, unknown>> {
  const r = await shipshape("status", `notes/${ENV}`, "--json");
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

interface Compensation {
  name: string;
  status: string;
  startedAtMs: number | null;
}

/** The compensations (or finalize steps) that ran, in the order they started. */
function ran(compensations: Compensation[]): string[] {
  return compensations
    .filter((c) => c.startedAtMs !== null)
    .sort((a, b) => (a.startedAtMs ?? 0) - (b.startedAtMs ?? 0))
    .map((c) => `${c.name}:${c.status}`);
}

async function ruleForward(): Promise<Array<[string, number]>> {
  const rule = (await elb.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }))).Rules?.[0];
  const fwd = rule?.Actions?.find((a) => a.Type === "forward");
  return (fwd?.ForwardConfig?.TargetGroups ?? []).map((g) => [g.TargetGroupArn ?? "", g.Weight ?? -1]);
}

async function ruleTags(): Promise<Record<string, string>> {
  const r = await elb.send(new DescribeTagsCommand({ ResourceArns: [ruleArn] }));
  return Object.fromEntries((r.TagDescriptions?.[0]?.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
}

async function targetGroup(version: string): Promise<string | null> {
  try {
    const r = await elb.send(new DescribeTargetGroupsCommand({ Names: [`notes-${ENV}-${version}`] }));
    return r.TargetGroups?.[0]?.TargetGroupArn ?? null;
  } catch (e) {
    if ((e as Error).name === "TargetGroupNotFoundException") return null;
    throw e;
  }
}

beforeAll(async () => {
  fs.mkdirSync(dir, { recursive: true });
  moto = await startMoto();
  elb = new ElasticLoadBalancingV2Client(moto.clientConfig);
  cw = new CloudWatchClient(moto.clientConfig);
  const vpcId = /<vpcId>([^<]+)/.exec(await moto.ec2("DescribeVpcs"))?.[1] ?? "";
  const subnets = [...(await moto.ec2("DescribeSubnets")).matchAll(/<subnetId>([^<]+)/g)].map(
    (m) => m[1] ?? "",
  );
  const lb = await elb.send(
    new CreateLoadBalancerCommand({ Name: "edge", Subnets: subnets.slice(0, 2), Type: "application" }),
  );
  const tg = await elb.send(
    new CreateTargetGroupCommand({
      Name: "edge-default",
      Protocol: "HTTP",
      Port: 80,
      VpcId: vpcId,
      TargetType: "ip",
    }),
  );
  placeholderTg = tg.TargetGroups?.[0]?.TargetGroupArn ?? "";
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers?.[0]?.LoadBalancerArn ?? "",
      Protocol: "HTTP",
      Port: 80,
      DefaultActions: [{ Type: "forward", TargetGroupArn: placeholderTg }],
    }),
  );
  listenerArn = listener.Listeners?.[0]?.ListenerArn ?? "";
  // The service's weighted rule, created once by the platform team (the platform stack):
  // before the first deployment it forwards to a placeholder.
  const rule = await elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: PRIORITY,
      Conditions: [{ Field: "host-header", HostHeaderConfig: { Values: ["notes.example.com"] } }],
      Actions: [{ Type: "forward", TargetGroupArn: placeholderTg }],
    }),
  );
  ruleArn = rule.Rules?.[0]?.RuleArn ?? "";
  await startDataPlane();
  stopMetrics = watchTargetGroups();
  db = await freshDatabase("notesaws");
  // `shipshape worker`: moto through the SDK's standard AWS_ENDPOINT_URL, the database through
  // DATABASE_URL (the notes config says ${env:DATABASE_URL}); nothing per service.
  worker = await startWorkerProcess({
    temporalAddress: inject("temporalAddress"),
    taskQueue,
    stateDir: path.join(dir, "worker"),
    logFile: path.join(dir, "worker.log"),
    env: {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: moto.region,
      AWS_EC2_METADATA_DISABLED: "true",
      DATABASE_URL: db.url,
      // The mocks module is TypeScript: the worker runs the sources (through tsx), not dist/.
      SHIPSHAPE_FROM_SOURCE: "1",
    },
    args: ["--test-aws-infra", path.join(PROJECT_ROOT, "test", "support", "aws-pulumi-mocks.ts")],
  });
}, 240_000);

afterAll(async () => {
  stopMetrics();
  if (worker) await stopGroup(worker, 10_000);
  await new Promise((r) => dataPlane?.close(r));
  elb?.destroy();
  cw?.destroy();
  await moto?.stop();
  await db?.drop();
});

describe("target: aws through `shipshape worker` and the CLI (moto)", () => {
  it("v1, the first deployment, is promoted: the rule forwards to its target group only", {
    timeout: 300_000,
  }, async () => {
    const r = await deploy("v1");
    expect(
      r.code,
      `${r.out}\n${r.err}\n${fs.readFileSync(path.join(dir, "worker.log"), "utf8").slice(-3000)}`,
    ).toBe(0);
    const v1 = await targetGroup("v1");
    expect(v1).not.toBeNull();
    expect(await ruleForward()).toEqual([[v1, 999]]);
    expect((await ruleTags())[TAG_SIDE.blue]).toBe(`v1 ${v1}`);
    const s = await status();
    expect(s.endpoint).toBe(dataPlaneUrl);
    expect(s.serving).toEqual({
      version: "v1",
      artifactDigest: `image:123456789012.dkr.ecr.${moto.region}.amazonaws.com/notes:v1`,
    });
    // The notes table exists: the migrations ran on the release's database, in the aws environment's scope.
    expect(
      await migrationPhases(shipshape, { service: "notes", environment: ENV, databaseUrl: db.url }),
    ).toEqual(["0001_initial:completed"]);
  });

  it("v2 is promoted through 50% → 100% on the ALB rule, CloudWatch analysis passes, v1 is decommissioned", {
    timeout: 300_000,
  }, async () => {
    const v1 = await targetGroup("v1");
    const r = await deploy("v2");
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    const v2 = await targetGroup("v2");
    expect(await ruleForward()).toEqual([[v2, 999]]);
    const tags = await ruleTags();
    expect(tags[TAG_SIDE.blue]).toBe(`v2 ${v2}`);
    expect(tags[TAG_SIDE.green]).toBe("");
    expect(await targetGroup("v1")).toBeNull(); // decommissioned: its target group is gone from moto
    expect(v1).not.toBe(v2);
    const s = (await status()) as {
      analysis: { verdicts: Array<{ line: string; decision: string }> };
      compensations: Compensation[];
      weights: unknown;
    };
    // Every verdict came from CloudWatch data: no provider errors, nothing inconclusive, nothing failed.
    const lines = s.analysis.verdicts.map((v) => v.line).join("\n");
    expect(lines).not.toMatch(/provider|inconclusive|not configured/);
    expect(s.analysis.verdicts.filter((v) => v.decision === "fail")).toEqual([]);
    expect(s.analysis.verdicts.at(-1)?.line).toMatch(/passed/);
    expect(s.weights).toEqual({ blue: 0, green: 100 });
    expect(ran(s.compensations)).toEqual([
      "finalize:routes:done",
      "finalize:decommissionBlue:done",
      "finalize:contractSchema:done",
    ]);
  });

  it("v3 with 10% 5xx in CloudWatch is rolled back: traffic to v2 first, its migration undone, green gone", {
    timeout: 300_000,
  }, async () => {
    const v2 = await targetGroup("v2");
    const r = await deploy("v3");
    expect(r.code, `${r.out}\n${r.err}`).toBe(1);
    const s = (await status()) as {
      outcomeReason: string;
      compensations: Compensation[];
      serving: unknown;
      activeMigration: unknown;
    };
    expect(s.outcomeReason).toMatch(/analysis failed: (error-rate|alb-5xx) 10% > max 5% at 50% traffic/);
    // Traffic first; moto would have refused to delete green's target group while the rule used it.
    expect(ran(s.compensations)).toEqual(["restoreTraffic:done", "rollbackSchema:done", "destroyGreen:done"]);
    expect(await ruleForward()).toEqual([[v2, 999]]);
    expect((await ruleTags())[TAG_SIDE.green]).toBe("");
    expect(await targetGroup("v3")).toBeNull();
    expect(s.activeMigration).toBeNull();
    expect((s.serving as { version: string }).version).toBe("v2");
    const phases = await migrationPhases(shipshape, {
      service: "notes",
      environment: ENV,
      databaseUrl: db.url,
    });
    expect(phases).toEqual([
      "0001_initial:completed",
      "0002_note_summary:completed",
      "0003_note_pinned:rolled_back",
    ]);
  });
});
