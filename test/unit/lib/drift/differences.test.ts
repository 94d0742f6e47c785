import { describe, expect, it } from "vitest";
import { driftDifferences, formatDifferences, type ObservedState } from "../../../../lib/drift/differences";

const I1 = "http://127.0.0.1:4001";
const I2 = "http://127.0.0.1:4002";
const DIGEST = "sha256:aaaa";

/** What a clean promotion of v2 with two instances leaves. */
function clean(): ObservedState {
  return {
    router: {
      backends: { blue: { version: "v2", weight: 100, instances: [I2, I1], unhealthy: [] } },
      applied: { blue: 100, green: 0 },
    },
    stack: { name: "shop-prod-v2", exists: true, instances: [I1, I2], refresh: [] },
    artifact: { stagedDigest: DIGEST, contentDigest: DIGEST },
  };
}

const recorded = { version: "v2", artifactDigest: DIGEST, instances: [I1, I2], instanceCount: 2 };

describe("driftDifferences", () => {
  it("finds nothing when everything is as promoted (order of instances does not matter)", () => {
    expect(driftDifferences(recorded, clean())).toEqual([]);
  });

  it("reports a weight changed through the router's admin interface, and the data plane's split", () => {
    const o = clean();
    o.router.backends.blue!.weight = 40;
    o.router.applied = { blue: 60, green: 40 };
    o.router.backends.green = {
      version: "v3",
      weight: 60,
      instances: ["http://127.0.0.1:4010"],
      unhealthy: [],
    };
    const d = driftDifferences(recorded, o);
    expect(d).toContainEqual({ what: "router weight of blue", expected: "100", actual: "40" });
    expect(d.map((x) => x.what)).toEqual(
      expect.arrayContaining(["router backend green", "router data plane split"]),
    );
  });

  it("reports a killed instance: unhealthy at the router, gone on refresh", () => {
    const o = clean();
    o.router.backends.blue!.unhealthy = [I1];
    o.stack.refresh = [{ resource: "instance-0", change: "delete" }];
    expect(driftDifferences(recorded, o)).toEqual([
      { what: `instance ${I1}`, expected: "healthy", actual: "failing the router's health check" },
      {
        what: "stack resource instance-0",
        expected: "as recorded in the stack",
        actual: "refresh would delete it",
      },
    ]);
  });

  it("reports a stack edited by hand (an instance removed from its state) and backends swapped at the router", () => {
    const o = clean();
    o.stack.instances = [I1];
    o.router.backends.blue!.instances = [I1, "http://127.0.0.1:9999"];
    const what = driftDifferences(recorded, o).map((x) => x.what);
    expect(what).toEqual([
      "router backends of blue",
      "stack shop-prod-v2 instances",
      "stack shop-prod-v2 instance count",
    ]);
  });

  it("reports another version serving, a missing stack, a different or changed artifact", () => {
    const o = clean();
    o.router.backends.blue!.version = "v1";
    o.stack.exists = false;
    o.artifact = { stagedDigest: "sha256:bbbb", contentDigest: "sha256:cccc" };
    const d = driftDifferences(recorded, o);
    expect(d).toContainEqual({ what: "router: version of blue", expected: "v2", actual: "v1" });
    expect(d).toContainEqual({ what: "stack shop-prod-v2", expected: "exists", actual: "missing" });
    expect(d).toContainEqual({ what: "artifact of v2", expected: DIGEST, actual: "sha256:bbbb (staged)" });
    expect(d).toContainEqual({
      what: "artifact files of v2",
      expected: DIGEST,
      actual: "sha256:cccc (changed on disk)",
    });
  });

  it("without a recorded deployment (preflight) the stack's own record stands for it", () => {
    const o = clean();
    const none = { version: "v2", artifactDigest: null, instances: null, instanceCount: null };
    expect(driftDifferences(none, o)).toEqual([]);
    o.router.backends.blue!.instances = [I1];
    expect(formatDifferences(driftDifferences(none, o))).toBe(
      `router backends of blue: expected ${I1}, ${I2}, found ${I1}`,
    );
  });

  it("reports no router backend at all", () => {
    const o = clean();
    o.router.backends = {};
    expect(driftDifferences(recorded, o)[0]).toEqual({
      what: "router backend blue",
      expected: `v2 (${I1}, ${I2})`,
      actual: "none",
    });
  });
});
