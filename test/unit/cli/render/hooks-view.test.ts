import { describe, expect, it } from "vitest";
import { renderStatus } from "../../../../cli/render/status-view";
import { renderDetails } from "../../../../workflows/deployment/details";
import type { HookStatus } from "../../../../workflows/deployment/state";
import { deploymentStatus } from "../../../support/status-fixture";

const NOW = Date.UTC(2026, 11, 3, 8, 0, 0);
const hooks: HookStatus[] = [
  {
    name: "smoke",
    type: "pre-rollout",
    state: "passed",
    calls: 1,
    sinceMs: NOW - 300_000,
    timeoutAtMs: null,
    onTimeout: null,
    lastAnswer: "HTTP 200",
    lastAtMs: NOW - 300_000,
  },
  {
    name: "go-live",
    type: "confirm-promotion",
    state: "waiting",
    calls: 13,
    sinceMs: NOW - 120_000,
    timeoutAtMs: NOW + 3_480_000,
    onTimeout: "pause",
    lastAnswer: "HTTP 503: change freeze",
    lastAtMs: NOW - 5_000,
  },
];

describe("hooks in status, watch and the Web UI details", () => {
  it("status / watch list each hook with its state, the gate's wait and the last answer", () => {
    const lines = renderStatus(deploymentStatus({ phase: "awaiting-approval", hooks }), { nowMs: NOW });
    const at = lines.indexOf("hooks:");
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      "  ✓ pre-rollout smoke: passed (1 call) — HTTP 200",
      "  ⏸ confirm-promotion go-live: waiting 2m00s, gives up in about 58m00s (onTimeout: pause) (13 calls) — HTTP 503: change freeze",
    ]);
  });

  it("a status without hooks (older runs, no hooks) shows no hooks section", () => {
    expect(renderStatus(deploymentStatus(), { nowMs: NOW })).not.toContain("hooks:");
  });

  it("the Web UI details name the waiting gate and until when", () => {
    const md = renderDetails(deploymentStatus({ hooks }));
    expect(md).toContain("Hook `smoke` (pre-rollout): **passed**, 1 call — HTTP 200");
    expect(md).toContain(
      "Hook `go-live` (confirm-promotion): **waiting** until 2026-12-03T08:58:00.000Z (onTimeout: pause), 13 calls — HTTP 503: change freeze",
    );
  });
});
