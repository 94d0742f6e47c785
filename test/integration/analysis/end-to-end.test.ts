/**
 * Canary analysis end to end on the REAL local target: DeploymentWorkflow on a
 * real Temporal dev server and worker, Pulumi local stacks running
 * examples/shop/server.js, the real local router (data plane + `router`
 * metric provider), a real Prometheus scraping the shop instances
 * (`prometheus` provider), and real load through the router
 * (scripts/load/generate-load.ts). v1 is blue at the start; scenarios run in
 * order and each starts from the blue the previous one left:
 *
 *   a  5% errors caught at the 1% step → rolled back, traffic first
 *   b  +200 ms latency caught by the relative judge (maxIncrease on latency_p95_ms)
 *   c  healthy but too little traffic → inconclusive → paused (never rolled back by analysis)
 *   d  Prometheus stopped mid-analysis → consecutiveErrorLimit → paused, no rollback;
 *      Prometheus restarted + resume → promoted (blue becomes v-prom)
 *   e  degradation only after promotion (post-promotion watch) → rollback to the still-warm blue
 *   f  a 20-metric analysis (router + Prometheus) → promoted
 */
import fs from "node:fs";
import path from "node:path";
import type { WorkflowHandle } from "@temporalio/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type PrometheusServer, startPrometheusServer } from "../../../dev/services/prometheus-server";
import { requirePrometheus } from "../../../lib/runtime/toolchain-manifest";
import { abortUpdate, resumeUpdate } from "../../../workflows/deployment/messages";
import type { DeploymentStatus } from "../../../workflows/deployment/state";
import { freshDatabase } from "../../support/postgres";
import { processesOfStack } from "../local/helpers";
import { backgroundLoad, FAULT_PRELOAD, type Rig, startRig, waitFor } from "./e2e/rig";

const stateDir = path.join(inject("testStateDir"), "analysis-e2e");
let db: Awaited<ReturnType<typeof freshDatabase>>;
let rig: Rig;
let prom: PrometheusServer;
/** Every version that has been deployed and is (or was) running, for the scrape config. */
const scraped = new Map<string, string[]>();

const INTERVAL = "2s";
/** Green's (or blue's) 5xx share from the shop's own http_requests_total, scraped by Prometheus. */
const PROM_ERR =
  '(sum(rate(http_requests_total{version="$version",status=~"5.."}[10s])) or vector(0))' +
  ' / sum(rate(http_requests_total{version="$version"}[10s]))';
const lines = (s: DeploymentStatus) => s.analysis.verdicts.map((v) => `${v.decision}: ${v.line}`).join("\n");

async function scrapeAll(): Promise<void> {
  await prom.setScrape([{ job: "shop", targets: [...scraped.values()].flat().map((u) => new URL(u).host) }]);
  await prom.waitForTargets(20_000);
}

const load = (rps: number, concurrency: number) => backgroundLoad(rig.router.url, rps, concurrency);

async function blueVersion(): Promise<string | undefined> {
  return (await rig.traffic.getRoutes(rig.scope)).backends.blue?.version;
}

/** Waits for green to be attached and returns its instance URLs. */
async function greenInstances(handle: WorkflowHandle, version: string): Promise<string[]> {
  return waitFor(
    `green ${version} attached`,
    async () => {
      const r = await rig.traffic.getRoutes(rig.scope);
      if (r.backends.green?.version === version) return r.backends.green.instances;
      const s = await rig.status(handle);
      if (s.outcome) throw new Error(`ended before green was attached: ${s.outcomeReason}`);
      return undefined;
    },
    60_000,
  );
}

beforeAll(async () => {
  db = await freshDatabase("anae2e");
  prom = await startPrometheusServer({
    binary: requirePrometheus().path,
    storageDir: path.join(stateDir, "prometheus"),
    scrape: [],
    scrapeIntervalSeconds: 1,
  });
  rig = await startRig({
    temporalAddress: inject("temporalAddress"),
    databaseUrl: db.url,
    stateDir,
    environment: "anae2e",
    prometheusUrl: prom.url,
  });
  scraped.set("v1", (await rig.traffic.getRoutes(rig.scope)).backends.blue?.instances ?? []);
  await scrapeAll();
});

afterAll(async () => {
  await rig?.close();
  await prom?.stop();
  await db?.drop();
});

describe("canary analysis end to end on the local target", () => {
  it("(a) 5% errors are caught at the 1% step and rolled back, traffic first", {
    timeout: 150_000,
  }, async () => {
    // Exactly 5% errors (every 20th /api request, fault-preload.cjs): SHOP_ERROR_RATE is random, and
    // at 1% of ~150 rps green sees ~1.5 requests/s — a random 5% would often show no error in a step.
    // Any green window containing an error is > 1%, so the step fails once green has served 20 requests.
    let l: ReturnType<typeof load> | undefined;
    try {
      const handle = await rig.deploy(
        "v2-errors",
        {
          steps: [
            { weight: 1, bake: "40s" },
            { weight: 100, bake: "2s" },
          ],
          analysis: {
            interval: INTERVAL,
            minRequests: 1,
            inconclusiveLimit: 100,
            metrics: [
              { name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true },
            ],
          },
          postPromotion: { watch: "2s", keepPrevious: "1s" },
        },
        { NODE_OPTIONS: `--require ${FAULT_PRELOAD}`, SHOP_FAULT_EVERY: "20" },
      );
      await greenInstances(handle, "v2-errors");
      l = load(150, 8);
      // Watch the router table and green's processes while the rollback runs.
      const observed: { blue100At?: number; greenAliveAtBlue100?: number; greenGoneAt?: number } = {};
      let watching = true;
      const watcher = (async () => {
        for (let i = 0; watching && i < 3000; i++) {
          const r = await rig.traffic.getRoutes(rig.scope);
          const alive = processesOfStack(rig.stackName("v2-errors")).length;
          if (observed.blue100At === undefined && r.split.blue === 100 && r.split.green === 0) {
            const s = await rig.status(handle);
            if (s.phase === "rolling-back" || s.outcome) {
              observed.blue100At = Date.now();
              observed.greenAliveAtBlue100 = alive;
            }
          }
          if (observed.blue100At !== undefined && alive === 0 && observed.greenGoneAt === undefined)
            observed.greenGoneAt = Date.now();
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const result = await rig.result(handle, 120_000);
      watching = false;
      await watcher;
      const s = await rig.status(handle);
      console.log(`(a) verdicts:\n${lines(s)}`);
      expect(result.outcome, lines(s)).toBe("rolled-back");
      const fail = s.analysis.verdicts.find((v) => v.decision === "fail");
      expect(fail, lines(s)).toBeDefined();
      expect(fail?.metric).toBe("error-rate");
      expect(fail?.weightPercent).toBe(1);
      expect(fail?.stepIndex).toBe(1);
      expect(fail?.line).toMatch(/^error-rate .*% > max 1% at 1% traffic/);
      expect(s.outcomeReason).toContain("analysis failed: error-rate");
      // traffic first: restoreTraffic finished before destroyGreen started (compensation log) …
      const restore = s.compensations.find((c) => c.name === "restoreTraffic");
      const destroy = s.compensations.find((c) => c.name === "destroyGreen");
      expect(restore?.status).toBe("done");
      expect(destroy?.status).toBe("done");
      expect(restore!.endedAtMs!).toBeLessThanOrEqual(destroy!.startedAtMs!);
      // … and the router said blue 100% while green's processes were still running
      expect(observed.blue100At, "router never showed blue 100%").toBeDefined();
      expect(observed.greenAliveAtBlue100).toBeGreaterThan(0);
      expect(observed.greenGoneAt).toBeGreaterThan(observed.blue100At!);
      const routes = await rig.traffic.getRoutes(rig.scope);
      expect(routes.split).toEqual({ blue: 100, green: 0 });
      expect(routes.backends.blue?.version).toBe("v1");
      expect(processesOfStack(rig.stackName("v2-errors"))).toEqual([]);
    } finally {
      await l?.stop();
    }
  });

  it("(b) +200 ms latency is caught by the relative judge (maxIncrease on latency_p95_ms)", {
    timeout: 120_000,
  }, async () => {
    let l: ReturnType<typeof load> | undefined;
    try {
      const handle = await rig.deploy(
        "v2-slow",
        {
          steps: [
            { weight: 25, bake: "20s" },
            { weight: 100, bake: "2s" },
          ],
          analysis: {
            interval: INTERVAL,
            minRequests: 5,
            inconclusiveLimit: 100,
            metrics: [
              { name: "error-rate", provider: "router", query: "error_rate", max: "5%" },
              { name: "latency-p95", provider: "router", query: "latency_p95_ms", maxIncrease: "50%" },
            ],
          },
          postPromotion: { watch: "2s", keepPrevious: "1s" },
        },
        { SHOP_EXTRA_LATENCY_MS: "200" },
      );
      await greenInstances(handle, "v2-slow");
      l = load(80, 8);
      const result = await rig.result(handle, 90_000);
      const s = await rig.status(handle);
      console.log(`(b) verdicts:\n${lines(s)}`);
      expect(result.outcome, lines(s)).toBe("rolled-back");
      const fail = s.analysis.verdicts.find((v) => v.decision === "fail");
      expect(fail?.metric, lines(s)).toBe("latency-p95");
      expect(fail?.weightPercent).toBe(25);
      // the relative judge: green's p95 against blue's p95 in the same window
      expect(fail?.line).toMatch(/^latency-p95 .*vs baseline/);
      const routes = await rig.traffic.getRoutes(rig.scope);
      expect(routes.split).toEqual({ blue: 100, green: 0 });
      expect(routes.backends.blue?.version).toBe("v1");
    } finally {
      await l?.stop();
    }
  });

  it("(c) a healthy version with too little traffic is inconclusive: paused, not failed, not rolled back", {
    timeout: 120_000,
  }, async () => {
    let l: ReturnType<typeof load> | undefined;
    try {
      const handle = await rig.deploy("v2-quiet", {
        steps: [
          { weight: 10, bake: "30s" },
          { weight: 100, bake: "2s" },
        ],
        analysis: {
          interval: INTERVAL,
          minRequests: 20, // green gets ~0.3 requests/s at 10% of 3 rps: never 20 in a window
          inconclusiveLimit: 2, // more than 2 consecutive inconclusive intervals → pause
          metrics: [
            { name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true },
          ],
        },
        postPromotion: { watch: "2s", keepPrevious: "1s" },
      });
      await greenInstances(handle, "v2-quiet");
      l = load(3, 1);
      const paused = await waitFor(
        "analysis pause",
        async () => {
          const s = await rig.status(handle);
          if (s.outcome) throw new Error(`ended: ${s.outcome} ${s.outcomeReason}`);
          // The pause is recorded, then notified (an activity), then the phase turns "paused".
          return s.paused?.by === "analysis" && s.phase === "paused" ? s : undefined;
        },
        40_000,
      );
      console.log(`(c) verdicts:\n${lines(paused)}`);
      expect(paused.phase).toBe("paused");
      expect(paused.analysis.status).toBe("paused");
      expect(paused.paused?.reason).toMatch(/error-rate/);
      expect(paused.analysis.verdicts.some((v) => v.decision === "fail")).toBe(false);
      // it stays paused (more than another interval), green keeps its 10% and its processes, nothing is compensated
      await new Promise((r) => setTimeout(r, 3000));
      const still = await rig.status(handle);
      expect(still.phase).toBe("paused");
      expect(still.outcome).toBeNull();
      expect(still.compensations.every((c) => c.status === "registered")).toBe(true);
      const routes = await rig.traffic.getRoutes(rig.scope);
      expect(routes.split).toEqual({ blue: 90, green: 10 });
      expect(processesOfStack(rig.stackName("v2-quiet")).length).toBeGreaterThan(0);
      // the operator decides: abort (clean up for the next scenario)
      await handle.executeUpdate(abortUpdate, {
        args: [{ by: "oncall", reason: "not enough traffic to judge" }],
      });
      const result = await rig.result(handle, 60_000);
      expect(result.outcome).toBe("rolled-back");
      expect((await rig.status(handle)).outcomeReason).toMatch(/^aborted by oncall/);
    } finally {
      await l?.stop();
    }
  });

  it("(d) Prometheus stopped mid-analysis pauses a healthy version (consecutiveErrorLimit); restart + resume promotes", {
    timeout: 150_000,
  }, async () => {
    let l: ReturnType<typeof load> | undefined;
    try {
      const handle = await rig.deploy("v3-prom", {
        steps: [
          { weight: 50, bake: "20s" },
          { weight: 100, bake: "2s" },
        ],
        analysis: {
          interval: INTERVAL,
          consecutiveErrorLimit: 1, // a 2nd consecutive provider error pauses
          inconclusiveLimit: 100, // until Prometheus has scraped green, its series is empty (no data)
          metrics: [{ name: "prom-error-rate", provider: "prometheus", query: PROM_ERR, max: "1%" }],
        },
        postPromotion: { watch: "2s", keepPrevious: "1s" },
      });
      const green = await greenInstances(handle, "v3-prom");
      l = load(60, 6);
      scraped.set("v3-prom", green);
      await scrapeAll();
      // a conclusive Prometheus measurement of green first
      await waitFor(
        "a passing Prometheus interval at 50%",
        async () => {
          const s = await rig.status(handle);
          return s.analysis.verdicts.some((v) => v.decision === "continue" && /1 pass/.test(v.line))
            ? s
            : undefined;
        },
        30_000,
      );
      await prom.stop();
      const paused = await waitFor(
        "analysis pause after provider errors",
        async () => {
          const s = await rig.status(handle);
          if (s.outcome) throw new Error(`ended: ${s.outcome} ${s.outcomeReason}`);
          return s.paused?.by === "analysis" && s.phase === "paused" ? s : undefined;
        },
        30_000,
      );
      console.log(`(d) verdicts while paused:\n${lines(paused)}`);
      const pause = paused.analysis.verdicts.at(-1);
      expect(pause?.decision).toBe("pause");
      expect(pause?.metric).toBe("prom-error-rate");
      expect(paused.analysis.verdicts.some((v) => v.decision === "fail")).toBe(false);
      // no premature rollback: still paused a few seconds later, green still at 50%, alive
      await new Promise((r) => setTimeout(r, 3000));
      const still = await rig.status(handle);
      expect(still.phase).toBe("paused");
      expect(still.compensations.every((c) => c.status === "registered")).toBe(true);
      expect((await rig.traffic.getRoutes(rig.scope)).split).toEqual({ blue: 50, green: 50 });
      expect(processesOfStack(rig.stackName("v3-prom")).length).toBeGreaterThan(0);
      // Prometheus back (same port and storage), operator resumes → promoted
      await prom.start();
      await prom.waitForTargets(20_000);
      await handle.executeUpdate(resumeUpdate, { args: [{ by: "oncall", reason: "prometheus is back" }] });
      const result = await rig.result(handle, 90_000);
      const s = await rig.status(handle);
      console.log(`(d) verdicts at the end:\n${lines(s)}`);
      expect(result.outcome, lines(s)).toBe("promoted");
      expect(s.analysis.verdicts.some((v) => v.decision === "fail")).toBe(false);
      expect(await blueVersion()).toBe("v3-prom");
      scraped.delete("v1"); // decommissioned after the keep window
    } finally {
      await l?.stop();
    }
  });

  it("(e) a degradation appearing only after promotion rolls back to the still-warm blue", {
    timeout: 150_000,
  }, async () => {
    const faultFile = path.join(stateDir, "v4-late.fault");
    fs.rmSync(faultFile, { force: true });
    const bluePids = processesOfStack(rig.stackName("v3-prom")).sort();
    expect(bluePids.length).toBeGreaterThan(0);
    let l: ReturnType<typeof load> | undefined;
    try {
      const handle = await rig.deploy(
        "v4-late",
        {
          steps: [
            { weight: 50, bake: "4s" },
            { weight: 100, bake: "2s" },
          ],
          analysis: {
            interval: INTERVAL,
            minRequests: 5,
            inconclusiveLimit: 100,
            metrics: [
              { name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true },
            ],
          },
          postPromotion: { watch: "40s", keepPrevious: "60s" },
        },
        { NODE_OPTIONS: `--require ${FAULT_PRELOAD}`, SHOP_FAULT_FILE: faultFile },
      );
      await greenInstances(handle, "v4-late");
      l = load(60, 6);
      // healthy through the steps; wait for one passing interval of the watch
      await waitFor(
        "a passing post-promotion interval",
        async () => {
          const s = await rig.status(handle);
          if (s.outcome) throw new Error(`ended: ${s.outcome} ${s.outcomeReason}`);
          return s.phase === "post-promotion-watch" &&
            s.analysis.verdicts.some((v) => v.stepIndex === 3 && v.decision === "continue")
            ? s
            : undefined;
        },
        60_000,
      );
      fs.writeFileSync(faultFile, "on\n"); // v4-late now answers 500 on /api
      const result = await rig.result(handle, 60_000);
      const s = await rig.status(handle);
      console.log(`(e) verdicts:\n${lines(s)}`);
      expect(result.outcome, lines(s)).toBe("rolled-back");
      const fail = s.analysis.verdicts.find((v) => v.decision === "fail");
      expect(fail?.metric).toBe("error-rate");
      expect(fail?.stepIndex).toBe(3); // the watch (after the 2 traffic steps)
      expect(fail?.weightPercent).toBe(100);
      expect(s.phases.some((p) => p.phase === "post-promotion-watch")).toBe(true);
      const routes = await rig.traffic.getRoutes(rig.scope);
      expect(routes.split).toEqual({ blue: 100, green: 0 });
      expect(routes.backends.blue?.version).toBe("v3-prom");
      // the same blue processes (kept warm), not a re-provisioned blue
      expect(processesOfStack(rig.stackName("v3-prom")).sort()).toEqual(bluePids);
      expect(processesOfStack(rig.stackName("v4-late"))).toEqual([]);
    } finally {
      await l?.stop();
      fs.rmSync(faultFile, { force: true });
    }
  });

  it("(f) a 20-metric analysis (12 router + 8 Prometheus) promotes a healthy version", {
    timeout: 150_000,
  }, async () => {
    const router = (name: string, query: string, judge: Record<string, string | number>) => ({
      name,
      provider: "router",
      query,
      ...judge,
    });
    const promq = (name: string, query: string, judge: Record<string, string | number>) => ({
      name,
      provider: "prometheus",
      query,
      ...judge,
    });
    const sel = 'version="$version"';
    const metrics = [
      router("r-error-rate", "error_rate", { max: "2%" }),
      router("r-error-rate-loose", "error_rate", { max: "10%" }),
      router("r-p50", "latency_p50_ms", { max: 1000 }),
      router("r-p95", "latency_p95_ms", { max: 2000 }),
      router("r-p99", "latency_p99_ms", { max: 3000 }),
      router("r-mean", "latency_mean_ms", { max: 1000 }),
      router("r-max", "latency_max_ms", { max: 10000 }),
      router("r-rate", "request_rate", { min: 0.5 }),
      router("r-requests", "requests", { min: 1 }),
      router("r-p95-tight", "latency_p95_ms", { max: 1500 }),
      router("r-p50-tight", "latency_p50_ms", { max: 500 }),
      router("r-error-rate-strict", "error_rate", { max: "1%" }),
      promq("p-error-rate", PROM_ERR, { max: "2%" }),
      promq("p-rps", `sum(rate(http_requests_total{${sel}}[10s]))`, { min: 0.5 }),
      promq(
        "p-p50-s",
        `histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[10s])))`,
        { max: 1 },
      ),
      promq(
        "p-p95-s",
        `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[10s])))`,
        { max: 2 },
      ),
      promq(
        "p-p99-s",
        `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[10s])))`,
        { max: 2.5 },
      ),
      promq(
        "p-mean-s",
        `sum(rate(http_request_duration_seconds_sum{${sel}}[10s])) / sum(rate(http_request_duration_seconds_count{${sel}}[10s]))`,
        { max: 1 },
      ),
      promq("p-5xx", `sum(increase(http_requests_total{${sel},status=~"5.."}[10s])) or vector(0)`, {
        max: 5,
      }),
      promq("p-browse-rps", `sum(rate(http_requests_total{${sel},route="/api/products"}[10s]))`, {
        min: 0.1,
      }),
    ];
    expect(metrics).toHaveLength(20);
    let l: ReturnType<typeof load> | undefined;
    try {
      const handle = await rig.deploy("v5-wide", {
        steps: [
          { weight: 50, bake: "16s" },
          { weight: 100, bake: "4s" },
        ],
        analysis: { interval: INTERVAL, minRequests: 3, inconclusiveLimit: 100, metrics },
        postPromotion: { watch: "2s", keepPrevious: "1s" },
      });
      const green = await greenInstances(handle, "v5-wide");
      l = load(60, 6);
      scraped.set("v5-wide", green);
      await scrapeAll();
      const result = await rig.result(handle, 120_000);
      const s = await rig.status(handle);
      console.log(`(f) verdicts:\n${lines(s)}`);
      expect(result.outcome, lines(s)).toBe("promoted");
      expect(s.analysis.verdicts.some((v) => v.decision === "fail")).toBe(false);
      // every step concluded on all 20 metrics
      const concluded = s.analysis.verdicts.filter(
        (v) => /20 metrics/.test(v.line) && v.decision === "continue",
      );
      expect(concluded.length, lines(s)).toBeGreaterThan(0);
      expect(await blueVersion()).toBe("v5-wide");
    } finally {
      await l?.stop();
    }
  });
});
