import { describe, expect, it } from "vitest";
import { isServerUnreachable, keepRunning, type RunningWorker } from "../../../workers/keep-running";

/** A Worker whose run() ends the way `outcome` says, and whose state then says so. */
function workerThat(outcome: "shuts down" | "fails"): RunningWorker {
  let state = "INITIALIZED";
  return {
    run: async () => {
      state = outcome === "fails" ? "FAILED" : "STOPPED";
      if (outcome === "fails") throw new Error("Worker terminated due to fatal error");
    },
    getState: () => state,
  };
}

const refused = () =>
  Object.assign(new Error('tonic::transport::Error(Transport, ConnectError("tcp connect error", ...))'), {
    name: "TransportError",
  });

describe("keepRunning: the worker process outlives a Temporal outage", () => {
  it("connects again while the server is unreachable, runs a new Worker after a failed one, returns on shutdown", async () => {
    const steps = ["unreachable", "unreachable", "fails", "shuts down"] as const;
    const seen: string[] = [];
    const lines: string[] = [];
    let closed = 0;
    await keepRunning({
      start: async () => {
        const step = steps[seen.length];
        seen.push(step ?? "none");
        if (step === "unreachable") throw refused();
        return {
          worker: workerThat(step === "fails" ? "fails" : "shuts down"),
          close: async () => void closed++,
        };
      },
      log: (l) => lines.push(l),
      backoffMs: () => 1,
    });
    expect(seen).toEqual(["unreachable", "unreachable", "fails", "shuts down"]);
    expect(closed).toBe(2); // every Worker's connection is closed
    expect(lines.filter((l) => l.includes("Temporal unreachable"))).toHaveLength(2);
    expect(lines.filter((l) => l.includes("the worker failed"))).toHaveLength(1);
  });

  it("an error that retrying cannot fix (bad credentials, unknown namespace) still ends it", async () => {
    const run = keepRunning({
      start: async () => {
        throw Object.assign(new Error("Namespace nope is not found"), { name: "NamespaceNotFoundError" });
      },
      log: () => undefined,
      backoffMs: () => 1,
    });
    await expect(run).rejects.toThrow(/Namespace nope is not found/);
  });

  it("tells an unreachable server from a misconfiguration", () => {
    expect(isServerUnreachable(refused())).toBe(true);
    expect(isServerUnreachable(new Error("14 UNAVAILABLE: Connection dropped"))).toBe(true);
    expect(isServerUnreachable(new Error("invalid peer certificate: UnknownIssuer"))).toBe(false);
    expect(isServerUnreachable("not an error")).toBe(false);
  });
});
