/**
 * Prometheus discovery for the local target: every instance a version
 * environment runs (one pidfile per instance under
 * `<state>/local/run/<stack>/instance-N.json`, written right after spawn and
 * removed on destroy) becomes a scrape target, so Prometheus scrapes green
 * from the moment it starts and stops when it is gone. The file is Prometheus'
 * `file_sd` format and is rewritten (atomically) only when the set changes.
 */
import fs from "node:fs";
import path from "node:path";
import { isAlive } from "../../lib/runtime/process-group";

export interface InstanceTarget {
  targets: string[];
  labels: { shipshape_stack: string; shipshape_instance: string };
}

interface PidFile {
  key?: unknown;
  pid?: unknown;
  port?: unknown;
}

function readPidFile(file: string): PidFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PidFile;
  } catch {
    return undefined; // removed or half-written meanwhile: seen on the next pass
  }
}

/** The live instances of every local stack under `stateDir`, sorted by instance key. Exported for tests. */
export function localInstanceTargets(stateDir: string): InstanceTarget[] {
  const runDir = path.join(stateDir, "local", "run");
  const out: InstanceTarget[] = [];
  const stacks = fs.existsSync(runDir) ? fs.readdirSync(runDir) : [];
  for (const stack of stacks) {
    const dir = path.join(runDir, stack);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^instance-\d+\.json$/.test(f)) : [];
    for (const f of files) {
      const p = readPidFile(path.join(dir, f));
      if (!p || typeof p.key !== "string" || typeof p.pid !== "number" || typeof p.port !== "number")
        continue;
      if (!isAlive(p.pid)) continue;
      out.push({
        targets: [`127.0.0.1:${p.port}`],
        labels: { shipshape_stack: stack, shipshape_instance: p.key },
      });
    }
  }
  return out.sort((a, b) => a.labels.shipshape_instance.localeCompare(b.labels.shipshape_instance));
}

export interface InstanceTargetsWatch {
  /** Rewrites the file now if the set changed; returns the current targets. */
  refresh(): InstanceTarget[];
  stop(): void;
}

/** Keeps `file` in step with the live local instances, checking every `intervalMs` (default 500). */
export function watchInstanceTargets(options: {
  stateDir: string;
  file: string;
  intervalMs?: number;
}): InstanceTargetsWatch {
  let last = "";
  const refresh = () => {
    const targets = localInstanceTargets(options.stateDir);
    const text = `${JSON.stringify(targets, null, 2)}\n`;
    if (text !== last) {
      const tmp = `${options.file}.${process.pid}.tmp`;
      fs.mkdirSync(path.dirname(options.file), { recursive: true });
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, options.file);
      last = text;
    }
    return targets;
  };
  refresh();
  const timer = setInterval(refresh, options.intervalMs ?? 500);
  timer.unref();
  return { refresh, stop: () => clearInterval(timer) };
}
