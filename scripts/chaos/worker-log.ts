/**
 * Each run's share of the worker's log, kept in the run's report folder: the
 * stack's worker (and every worker the supervisor or a worker-kill fault
 * starts after it) appends to one file, so a run's part is the bytes written
 * between its start and its end. Kept for every run, clean or not: a worker
 * that dies leaves its reason there and nowhere else.
 */
import fs from "node:fs";
import path from "node:path";

/** Where the worker's log ends now (the start of the next run's part). */
export function workerLogMark(logFile: string): number {
  return fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
}

/** Copies what the worker logged since `from` to `<runDir>/worker.log`; returns that file. */
export function keepWorkerLog(logFile: string, from: number, runDir: string): string {
  return keepLogPart(logFile, from, path.join(runDir, "worker.log"));
}

/** Copies what `logFile` got since `from` (a workerLogMark) to `out` (the router's log is kept the same way). */
export function keepLogPart(logFile: string, from: number, out: string): string {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  if (!fs.existsSync(logFile)) {
    fs.writeFileSync(out, "");
    return out;
  }
  const size = workerLogMark(logFile);
  const fd = fs.openSync(logFile, "r");
  try {
    const part = Buffer.alloc(Math.max(0, size - from));
    fs.readSync(fd, part, 0, part.length, from);
    fs.writeFileSync(out, part);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}
