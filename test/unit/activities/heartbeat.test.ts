// A cancelled long activity ends only once its work has stopped: a rollback
// must never run while the step it undoes is still going on behind it (a
// `pulumi up` creating instances after destroyGreen leaves them behind).
import { MockActivityEnvironment } from "@temporalio/testing";
import { describe, expect, it } from "vitest";
import { withHeartbeat } from "../../../activities/heartbeat";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("withHeartbeat", () => {
  it("on cancellation, aborts the work's signal and settles only after the work has stopped", async () => {
    const env = new MockActivityEnvironment();
    const events: string[] = [];
    const activity = () =>
      withHeartbeat(
        (_progress, signal) =>
          new Promise<string>((resolve, reject) => {
            events.push("started");
            signal.addEventListener("abort", () => {
              events.push("abort seen");
              // Stopping takes a while (Pulumi finishing the resource it is on).
              setTimeout(() => {
                events.push("stopped");
                reject(new Error("pulumi up cancelled"));
              }, 300);
            });
            setTimeout(() => resolve("done"), 60_000).unref();
          }),
        50,
      );
    const running = env.run(activity).catch((err: Error) => {
      events.push(`activity ended: ${err.name}`);
    });
    await sleep(100);
    env.cancel();
    await running;
    expect(events).toEqual(["started", "abort seen", "stopped", "activity ended: CancelledFailure"]);
  });

  it("waits no longer than the grace for work that ignores the signal", async () => {
    const env = new MockActivityEnvironment();
    const started = Date.now();
    const running = env
      .run(() => withHeartbeat(() => new Promise(() => undefined), 50, 200))
      .catch((err: Error) => err.name);
    await sleep(50);
    env.cancel();
    expect(await running).toBe("CancelledFailure");
    // Bounded: the grace, not the work (which never ends).
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("a failure of the work itself is not a cancellation: it is thrown as it is, at once", async () => {
    const env = new MockActivityEnvironment();
    await expect(
      env.run(() =>
        withHeartbeat(async () => {
          throw new Error("stack is locked");
        }, 50),
      ),
    ).rejects.toThrow("stack is locked");
  });
});
