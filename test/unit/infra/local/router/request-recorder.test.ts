import { describe, expect, it } from "vitest";
import type { RequestLogEntry } from "../../../../../infra/local/router/request-log";
import { requestRecorder } from "../../../../../infra/local/router/request-recorder";
import type { RoutingTable } from "../../../../../infra/local/router/routing-table";
import { RouterStats } from "../../../../../infra/local/router/stats";

// The control process's handling of HAProxy's request-log lines, on a fake
// clock: a request counts for the release that served it, in the second it
// ended (the line says), however late the line is read.

const NOW = 1_764_780_000_500; // ms, half a second into a second
const sec = (offsetSeconds: number) => Math.floor(NOW / 1000) + offsetSeconds;

const table: RoutingTable = {
  version: 3,
  updatedAt: new Date(NOW).toISOString(),
  sticky: false,
  backends: {
    blue: { version: "v1", instances: ["http://127.0.0.1:4001"], weight: 90 },
    green: { version: "v2", instances: ["http://127.0.0.1:4002"], weight: 10 },
  },
};

function setup(versionOf: (b: string, s: string) => string | undefined | null = () => undefined) {
  let now = NOW;
  const stats = new RouterStats({ now: () => now, maxWindowSeconds: 60 });
  const abnormal: RequestLogEntry[] = [];
  const record = requestRecorder({
    stats,
    table: () => table,
    versionOf,
    abnormal: (e) => abnormal.push(e),
    now: () => now,
  });
  return { stats, abnormal, record, advance: (ms: number) => (now += ms) };
}

const line = (backend: string, status: number, endedAtSecond?: number) =>
  `R ${backend} 127.0.0.1:4001 ${status} 1500 -- 0 50000${endedAtSecond === undefined ? "" : ` ${endedAtSecond}`}`;

describe("request recorder", () => {
  it("counts a request in the second it ended, not the one its line was read in", () => {
    const { stats, record } = setup();
    record(line("blue", 200, sec(-5)));
    record(line("blue", 200, sec(0)));
    expect(stats.snapshot(1).backends.blue).toMatchObject({ requests: 1 });
    expect(stats.snapshot(6).backends.blue).toMatchObject({ requests: 2 });
    expect(stats.snapshot(1).backends.blue?.latencyMs?.p50).toBeCloseTo(1.5, 1);
  });

  it("stamps a line without an end time (or one in the future) with the time it is read", () => {
    const { stats, record } = setup();
    record(line("green", 500));
    record(line("green", 200, sec(30)));
    expect(stats.snapshot(1).backends.green).toMatchObject({ requests: 2, errors5xx: 1, version: "v2" });
  });

  it("counts a line older than every window in the totals only, without touching newer seconds", () => {
    const { stats, record } = setup();
    record(line("blue", 200, sec(0)));
    // Same slot of the 61-second ring, one lap earlier.
    record(line("blue", 500, sec(-61)));
    expect(stats.snapshot(60).backends.blue).toMatchObject({ requests: 1, errors: 0 });
    expect(stats.snapshot(60).backends.blue?.total).toMatchObject({ requests: 2, errors5xx: 1 });
  });

  it("drops lines before HAProxy runs and requests served by a release no longer in the table", () => {
    const none = setup(() => null);
    none.record(line("blue", 200, sec(0)));
    expect(none.stats.all()).toEqual([]);
    const old = setup(() => "v0");
    old.record(line("blue", 200, sec(0)));
    expect(old.stats.all()).toEqual([]);
  });

  it("reports abnormal endings and counts what HAProxy answered itself as unrouted", () => {
    const { stats, abnormal, record } = setup();
    record(`R blue 127.0.0.1:4001 503 900 SC 1 50001 ${sec(0)}`);
    record(`R shipshape <NOSRV> 503 0 PR 0 50002 ${sec(0)}`);
    record("Server blue/127.0.0.1:4001 is DOWN");
    expect(abnormal.map((e) => e.clientPort)).toEqual([50001, 50002]);
    expect(stats.snapshot(1).backends.blue).toMatchObject({
      requests: 1,
      connectionErrors: 1,
      upstreamFailures: 2,
    });
    expect(stats.snapshot(1).unrouted).toEqual({ window: 1, total: 1 });
    record(`R shipshape <NOSRV> 503 0 PR 0 50003 ${sec(-5)}`);
    expect(stats.snapshot(1).unrouted).toEqual({ window: 1, total: 2 });
    expect(stats.snapshot(6).unrouted).toEqual({ window: 2, total: 2 });
  });
});
