/**
 * The http-json provider against a real loopback HTTP server (the same small
 * app the Prometheus tests scrape, which also answers GET /stats?version=v).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpJsonProvider } from "../../../activities/metrics/http-json-provider";
import { freePort } from "../../../lib/runtime/free-port";
import { judge, type MetricsApp, request, spec, startMetricsApp } from "./helpers";

let app: MetricsApp;

beforeAll(async () => {
  app = await startMetricsApp({
    v1: { rps: 40, errorRatio: 0.01, latencyMs: 100 },
    v2: { rps: 10, errorRatio: 0.05, latencyMs: 300 },
  });
});

afterAll(async () => {
  await app?.close();
});

const s = (name: string, query: string, judgeSpec: Parameters<typeof spec>[0]["judge"]) =>
  spec({ name, provider: "http-json", query, judge: judgeSpec });

describe("http-json provider on a real HTTP server", () => {
  it("GETs the URL per version and extracts the number at the path", async () => {
    const p = createHttpJsonProvider();
    const errorRatio = s("error-rate", `${app.url}/stats?version=$version#data.items[0].value`, {
      kind: "threshold",
      max: 0.01,
    });
    const m = await p.measure(request(errorRatio));
    expect(m).toEqual({ metric: "error-rate", canary: 0.05, baseline: 0.01 });
    expect(judge(errorRatio, m).verdict).toBe("fail");

    // numeric strings, quoted keys, relative URLs against baseUrl
    const rel = createHttpJsonProvider({ baseUrl: app.url });
    const rps = await rel.measure(
      request(s("rps", "/stats?version=$version#data.items[1].value", { kind: "threshold", min: 1 })),
    );
    expect([rps.canary, rps.baseline]).toEqual([10, 40]);
    const lat = await rel.measure(
      request(s("p95", '/stats?version=$version#latency["p95 ms"]', { kind: "maxIncrease", fraction: 0.2 })),
    );
    expect([lat.canary, lat.baseline]).toEqual([300, 100]);
  });

  it("an array of numbers gives samples for Mann-Whitney", async () => {
    const mw = s("p95-mw", `${app.url}/stats?version=$version#latency.samples`, {
      kind: "mannWhitney",
      tolerance: 0.1,
      confidence: 0.95,
      minSamples: 5,
    });
    const m = await createHttpJsonProvider().measure(request(mw));
    expect(m.canarySamples).toHaveLength(12);
    expect(m.baselineSamples).toHaveLength(12);
    const r = judge(mw, m);
    expect(r.verdict).toBe("fail");
    expect(r.stats?.nCanary).toBe(12);
    expect(r.stats?.pValue).toBeLessThan(0.05);
  });

  it("absent value → no data (inconclusive); HTTP errors, non-JSON, wrong shapes and refused connections → error", async () => {
    const p = createHttpJsonProvider({ timeoutMs: 2000 });
    const none = s("e", `${app.url}/stats?version=$version#data.items[0].value`, {
      kind: "threshold",
      max: 0.01,
    });
    const empty = await p.measure(request(none, { canaryVersion: "v9" }));
    expect(empty).toEqual({ metric: "e", canary: null, baseline: 0.01 });
    expect(judge(none, empty).verdict).toBe("inconclusive");

    const err = async (query: string) =>
      (await p.measure(request(s("x", query, { kind: "threshold", max: 1 })))).error;
    expect(await err(`${app.url}/broken#value`)).toMatch(/HTTP 500: boom/);
    expect(await err(`${app.url}/html#value`)).toMatch(/body is not JSON/);
    expect(await err(`${app.url}/stats?version=$version#data`)).toMatch(/selects an object, not a number/);
    expect(await err(`${app.url}/stats?version=$version#data.items.x`)).toMatch(/not an object/);
    expect(await err(`${app.url}/stats?version=$version#data[`)).toMatch(/path "data\["/);
    expect(await err("/relative#value")).toMatch(/relative URL and no baseUrl/);
    expect(await err(`http://127.0.0.1:${await freePort()}/x#value`)).toMatch(/failed: .*ECONNREFUSED/);
  });

  it("a stalled server is an error after the timeout, not a hang", async () => {
    const p = createHttpJsonProvider({ timeoutMs: 300 });
    // The timeout's own message proves the measure gave up (a hang would time the test out).
    const m = await p.measure(request(s("x", `${app.url}/hang#value`, { kind: "threshold", max: 1 })));
    expect(m.error).toMatch(/failed: no answer within 300 ms/);
  });
});
