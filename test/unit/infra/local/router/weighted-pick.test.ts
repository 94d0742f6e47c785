import { describe, expect, it } from "vitest";
import {
  type BackendView,
  effectiveShares,
  pickBackend,
  RoundRobin,
  readStickyCookie,
  stickyCookie,
} from "../../../../../infra/local/router/weighted-pick";
import { seededRandom } from "../../../../../lib/random/seeded";

const view = (name: string, weight: number, healthy: string[], version = `${name}-v`): BackendView => ({
  name,
  version,
  weight,
  healthy,
});

describe("pickBackend", () => {
  const blue = view("blue", 90, ["b1", "b2"]);
  const green = view("green", 10, ["g1"]);

  it("splits by weight: r below 0.9 is blue, above is green", () => {
    expect(pickBackend([blue, green], { random: () => 0 })).toEqual({
      ok: true,
      backend: "blue",
      reason: "weighted",
    });
    expect(pickBackend([blue, green], { random: () => 0.8999 })).toMatchObject({ backend: "blue" });
    expect(pickBackend([blue, green], { random: () => 0.9 })).toMatchObject({ backend: "green" });
    expect(pickBackend([blue, green], { random: () => 0.999999 })).toMatchObject({ backend: "green" });
  });

  it("10,000 picks at 10% land within 4 sigma of 1,000", () => {
    // Each pick is Bernoulli(0.1): the green count is Binomial(10000, 0.1),
    // sigma = sqrt(10000 * 0.1 * 0.9) = 30. 4 sigma = 120 leaves a false-alarm
    // chance of ~6e-5 with a fresh RNG; here the RNG is seeded, so it is exact.
    const random = seededRandom(42);
    let g = 0;
    for (let i = 0; i < 10_000; i++) {
      const p = pickBackend([blue, green], { random });
      if (p.ok && p.backend === "green") g++;
    }
    expect(Math.abs(g - 1000)).toBeLessThanOrEqual(120);
  });

  it("never picks a backend without healthy instances while another is healthy", () => {
    const sick = view("green", 90, []);
    for (const r of [0, 0.5, 0.95, 0.99999]) {
      expect(pickBackend([view("blue", 10, ["b1"]), sick], { random: () => r })).toMatchObject({
        ok: true,
        backend: "blue",
        reason: "weighted",
      });
    }
  });

  it("falls back to a healthy weight-0 backend when every weighted backend is down (users are always served)", () => {
    const p = pickBackend([view("blue", 100, []), view("green", 0, ["g1"])], { random: () => 0.3 });
    expect(p).toEqual({ ok: true, backend: "green", reason: "fallback" });
  });

  it("falls back when every weight is 0", () => {
    expect(pickBackend([view("blue", 0, ["b1"])], { random: () => 0.3 })).toMatchObject({
      reason: "fallback",
    });
  });

  it("answers 503 when nothing is healthy, naming the backends", () => {
    const p = pickBackend([view("blue", 100, []), view("green", 0, [])], { random: () => 0.3 });
    expect(p).toMatchObject({ ok: false, status: 503 });
    expect(!p.ok && p.message).toContain("blue, green");
    expect(pickBackend([], { random: () => 0 })).toMatchObject({ ok: false, status: 503 });
  });

  it("override targets a weight-0 backend, by name or by unique version label", () => {
    const standby = view("green", 0, ["g1"], "v2");
    expect(pickBackend([blue, standby], { override: "green", random: () => 0 })).toEqual({
      ok: true,
      backend: "green",
      reason: "override",
    });
    expect(pickBackend([blue, standby], { override: "v2", random: () => 0 })).toMatchObject({
      backend: "green",
    });
  });

  it("override is strict: unknown is 400, unhealthy target is 503 (never answered by the other version)", () => {
    expect(pickBackend([blue, green], { override: "purple", random: () => 0 })).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(pickBackend([blue, view("green", 10, [])], { override: "green", random: () => 0 })).toMatchObject({
      ok: false,
      status: 503,
    });
  });

  it("sticky cookie wins over the weights only while its backend has weight > 0 and is healthy", () => {
    expect(pickBackend([blue, green], { sticky: "green", random: () => 0 })).toMatchObject({
      backend: "green",
      reason: "sticky",
    });
    const draining = view("green", 0, ["g1"]);
    expect(pickBackend([blue, draining], { sticky: "green", random: () => 0 })).toMatchObject({
      backend: "blue",
      reason: "weighted",
    });
    const sick = view("green", 10, []);
    expect(pickBackend([blue, sick], { sticky: "green", random: () => 0.99 })).toMatchObject({
      backend: "blue",
    });
    expect(pickBackend([blue, green], { sticky: "nope", random: () => 0 })).toMatchObject({
      reason: "weighted",
    });
  });
});

describe("effectiveShares", () => {
  it("normalises weights over healthy backends", () => {
    expect(effectiveShares([view("blue", 90, ["b"]), view("green", 10, ["g"])])).toEqual({
      blue: 0.9,
      green: 0.1,
    });
  });
  it("reports 0 for a weighted backend with no healthy instance", () => {
    expect(effectiveShares([view("blue", 90, ["b"]), view("green", 10, [])])).toEqual({ blue: 1, green: 0 });
  });
  it("mirrors the fallback rule", () => {
    expect(effectiveShares([view("blue", 100, []), view("green", 0, ["g"])])).toEqual({ blue: 0, green: 1 });
    expect(effectiveShares([view("blue", 100, []), view("green", 0, [])])).toEqual({ blue: 0, green: 0 });
  });
});

describe("RoundRobin", () => {
  it("rotates over healthy instances per backend", () => {
    const rr = new RoundRobin();
    const seq = Array.from({ length: 6 }, () => rr.next("blue", ["a", "b", "c"]));
    expect(seq).toEqual(["a", "b", "c", "a", "b", "c"]);
    expect(rr.next("green", ["x", "y"])).toBe("x");
  });
  it("excludes the instance that just failed (retry target)", () => {
    const rr = new RoundRobin();
    for (let i = 0; i < 5; i++) expect(rr.next("blue", ["a", "b"], "a")).toBe("b");
    expect(rr.next("blue", ["a"], "a")).toBeUndefined();
    expect(rr.next("blue", [])).toBeUndefined();
  });
});

describe("sticky cookie helpers", () => {
  it("reads the cookie among others and ignores empties", () => {
    expect(readStickyCookie("a=1; shipshape_backend=green; b=2")).toBe("green");
    expect(readStickyCookie("shipshape_backend=")).toBeUndefined();
    expect(readStickyCookie("x_shipshape_backend=blue")).toBeUndefined();
    expect(readStickyCookie(undefined)).toBeUndefined();
  });
  it("writes a session cookie for the whole site", () => {
    expect(stickyCookie("green")).toBe("shipshape_backend=green; Path=/; HttpOnly; SameSite=Lax");
  });
});
