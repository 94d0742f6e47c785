import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { keepWorkerLog, workerLogMark } from "../../../../scripts/chaos/worker-log";

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("each chaos run keeps its part of the worker log", () => {
  it("copies what the worker wrote since the run's mark, even across worker restarts appending to the file", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "worker-log-"));
    const log = path.join(dir, "worker.log");
    fs.writeFileSync(log, "run 1: polling\n");
    const mark = workerLogMark(log);
    fs.appendFileSync(log, "run 2: Unhandled 'error' event\n");
    fs.appendFileSync(log, "run 2: worker 7 polling\n"); // the restarted worker appends to the same file
    const kept = keepWorkerLog(log, mark, path.join(dir, "reports", "run-2"));
    expect(kept).toBe(path.join(dir, "reports", "run-2", "worker.log"));
    expect(fs.readFileSync(kept, "utf8")).toBe("run 2: Unhandled 'error' event\nrun 2: worker 7 polling\n");
  });

  it("a worker that never wrote a log leaves an empty file, not a missing one", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "worker-log-"));
    const log = path.join(dir, "absent.log");
    expect(workerLogMark(log)).toBe(0);
    expect(fs.readFileSync(keepWorkerLog(log, 0, path.join(dir, "run-1")), "utf8")).toBe("");
  });
});
