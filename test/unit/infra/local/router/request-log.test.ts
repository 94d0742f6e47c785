import { describe, expect, it } from "vitest";
import {
  isAbnormal,
  outcomeOf,
  parseRequestLine,
  upstreamFailures,
} from "../../../../../infra/local/router/request-log";

// The lines HAProxy writes with the router's log-format:
//   R <backend> <server> <status> <latency µs> <termination state> <retries> <client port>

describe("request log lines", () => {
  it("parses a line, and ignores HAProxy's own events", () => {
    expect(parseRequestLine("R blue 127.0.0.1:4001 200 1834 -- 0")).toEqual({
      backend: "blue",
      server: "127.0.0.1:4001",
      status: 200,
      latencyMs: 1.834,
      termination: "--",
      retries: 0,
    });
    expect(parseRequestLine("R green 127.0.0.1:4002 200 1002244 -- +1")?.retries).toBe(1);
    expect(
      parseRequestLine("Server blue/127.0.0.1:4001 is DOWN, reason: Layer4 connection problem"),
    ).toBeUndefined();
    expect(parseRequestLine("R blue")).toBeUndefined();
    // Fewer than seven fields, or a number field that is not one: not a request line.
    expect(parseRequestLine("R blue a:1 200 900 --")).toBeUndefined();
    expect(parseRequestLine("R blue a:1 2x0 900 -- 0")).toBeUndefined();
    expect(parseRequestLine("R blue a:1 200 900 -- ")).toBeUndefined();
    expect(parseRequestLine("Rblue a:1 200 900 -- 0")).toBeUndefined();
    // HAProxy writes -1 when no response came back.
    expect(parseRequestLine("R blue a:1 -1 900 SD 0")?.status).toBe(-1);
  });

  it("reads the client's port, and tells abnormal endings from normal ones", () => {
    expect(parseRequestLine("R blue 127.0.0.1:4001 200 1834 -- 0 51234")?.clientPort).toBe(51234);
    expect(parseRequestLine("R blue 127.0.0.1:4001 200 1834 -- 0 -")).not.toHaveProperty("clientPort");
    // The second the request ended (HAProxy's %[date]), when the line has it.
    expect(parseRequestLine("R blue a:1 200 900 -- 0 5 1764780000")?.endedAtMs).toBe(1_764_780_000_000);
    expect(parseRequestLine("R blue a:1 200 900 -- 0 5")).not.toHaveProperty("endedAtMs");
    expect(parseRequestLine("R blue a:1 200 900 -- 0 5 x")).not.toHaveProperty("endedAtMs");
    expect(isAbnormal(parseRequestLine("R blue a:1 200 900 -- 0 5")!)).toBe(false);
    expect(isAbnormal(parseRequestLine("R blue a:1 201 900 -- +1 5")!)).toBe(false);
    expect(isAbnormal(parseRequestLine("R blue a:1 -1 900 SD 0 5")!)).toBe(true);
    expect(isAbnormal(parseRequestLine("R blue a:1 502 900 SH 0 5")!)).toBe(true);
    expect(isAbnormal(parseRequestLine("R blue a:1 200 900 CD 0 5")!)).toBe(true);
  });

  it("classifies outcomes the way analysis counts errors", () => {
    const line = (s: string) => outcomeOf(parseRequestLine(s)!);
    expect(line("R blue a:1 200 500 -- 0")).toEqual({ kind: "response", status: 200, latencyMs: 0.5 });
    expect(line("R blue a:1 500 500 -- 0")).toEqual({ kind: "response", status: 500, latencyMs: 0.5 });
    // Refused / dropped by the instance: a connection error (no latency sample).
    expect(line("R blue a:1 503 1000 SC 1")).toMatchObject({ kind: "connection" });
    expect(line("R blue a:1 502 1000 SH 1")).toMatchObject({ kind: "connection" });
    // The instance took longer than the proxy timeout.
    expect(line("R blue a:1 504 30000000 sH 0")).toMatchObject({ kind: "timeout" });
    // The client left: counted, not the backend's fault.
    expect(line("R blue a:1 200 900 CD 0")).toEqual({ kind: "response", status: 499, latencyMs: 0.9 });
    // HAProxy answered itself (no healthy backend): not attributed to a backend.
    expect(line("R shipshape <NOSRV> 503 0 PR 0")).toBe("unrouted");
  });

  it("counts every failed upstream attempt, including one a retry hid", () => {
    expect(upstreamFailures(parseRequestLine("R blue a:1 200 900 -- +1")!)).toBe(1);
    expect(upstreamFailures(parseRequestLine("R blue a:1 503 900 SC 1")!)).toBe(2);
    expect(upstreamFailures(parseRequestLine("R blue a:1 200 900 -- 0")!)).toBe(0);
  });
});
