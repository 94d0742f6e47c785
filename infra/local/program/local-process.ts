import * as pulumi from "@pulumi/pulumi";

/**
 * `LocalProcess`: one instance of a service version as a detached OS process,
 * managed by a Pulumi dynamic provider.
 *
 * Lifecycle
 *   create  picks a free loopback port, starts `sh -c <command>` in its own
 *           process group (setsid via `detached`), stdout/stderr appended to
 *           `logFile`, writes `pidFile` right after spawn, then polls
 *           `http://127.0.0.1:<port><healthPath>` until 2xx. Timeout or early
 *           exit: the group is killed, the pidfile removed, create fails with
 *           the log tail. The process survives the Pulumi engine (own group,
 *           no pipes to it).
 *   delete  SIGTERM to the group, SIGKILL after a grace period, waits until
 *           the port is free, removes the pidfile.
 *   diff    any change of what the process runs (command, env, cwd,
 *           healthPath, key) is a replacement, deleted before the new one is
 *           created (same key → same pidfile/log, and the port is released).
 *
 * Idempotency key: `key` = `<stack>/<instance index>`. The child carries it in
 * its environment (SHIPSHAPE_INSTANCE_KEY) and in the pidfile, so a create
 * that runs again after an interrupted `pulumi up` (pending create cleared,
 * process still alive) finds the pidfile and ADOPTS the live process when it
 * was started from the same spec (spec hash) and answers its health check;
 * otherwise it kills that group and starts afresh. Before any signal the pid
 * is verified to still be ours (Linux: /proc/<pid>/environ holds the key), so a
 * recycled pid is never killed. The child also carries its stack's run folder
 * (SHIPSHAPE_INSTANCE_RUN_DIR, under the worker's state folder): the /proc scan
 * for keyed processes only takes those of the same run folder, so two workers
 * (or a demo and a test) with different state folders never reap each other's
 * instances although their stack names, and so keys, are the same.
 *
 * Dynamic providers are serialized and executed in the provider plugin
 * process: every function below loads its modules with `require`, and the
 * helpers live inside `controller()` so the serialized closure is
 * self-contained.
 */
export interface LocalProcessInputs {
  /** Stable idempotency key: `<stack>/<index>`. */
  key: string;
  command: string;
  cwd: string;
  env: Record<string, string>;
  healthPath: string;
  startTimeoutMs: number;
  pidFile: string;
  logFile: string;
}

export interface LocalProcessOutputs extends LocalProcessInputs {
  pid: number;
  port: number;
  url: string;
  specHash: string;
  adopted: boolean;
}

interface PidFile {
  key: string;
  pid: number;
  port: number;
  specHash: string;
  startedAt: string;
}

export function controller() {
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const net = require("node:net") as typeof import("node:net");
  const http = require("node:http") as typeof import("node:http");
  const crypto = require("node:crypto") as typeof import("node:crypto");
  const cp = require("node:child_process") as typeof import("node:child_process");

  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  function specHash(i: LocalProcessInputs): string {
    const env = Object.keys(i.env)
      .sort()
      .map((k) => [k, i.env[k]]);
    return crypto
      .createHash("sha256")
      .update(JSON.stringify([i.key, i.command, i.cwd, env, i.healthPath]))
      .digest("hex")
      .slice(0, 16);
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM";
    }
  }

  /** Is `pid` alive AND the process we started for `key` (guards against pid reuse)? */
  function ours(pid: number, key: string): boolean {
    if (!alive(pid)) return false;
    const environ = `/proc/${pid}/environ`;
    if (!fs.existsSync("/proc/self/environ")) return true; // no procfs: trust the pidfile
    try {
      return fs.readFileSync(environ, "latin1").split("\0").includes(`SHIPSHAPE_INSTANCE_KEY=${key}`);
    } catch {
      return false;
    }
  }

  /** Any process of the group still alive? */
  function groupAlive(pgid: number): boolean {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM";
    }
  }

  function readPidFile(file: string): PidFile | undefined {
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as PidFile;
    } catch {
      return undefined;
    }
  }

  function writePidFile(file: string, content: PidFile): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(content));
    fs.renameSync(tmp, file);
  }

  function portIsFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
  }

  function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const addr = srv.address();
        const port = typeof addr === "object" && addr ? addr.port : 0;
        srv.close(() => resolve(port));
      });
    });
  }

  function probe(url: string, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve) => {
      const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(undefined));
    });
  }

  function logTail(file: string, lines = 20): string {
    try {
      return fs.readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Polls the health endpoint until 2xx; false on timeout or when the group died. */
  async function waitHealthy(pid: number, port: number, healthPath: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    const url = `http://127.0.0.1:${port}${healthPath}`;
    while (Date.now() < deadline) {
      if (!groupAlive(pid)) return { ok: false, reason: "process exited before it became healthy" };
      const status = await probe(url, 1000);
      if (status !== undefined && status >= 200 && status < 300) {
        // A port collision would let a foreign process answer: make sure ours is still running.
        if (!groupAlive(pid)) return { ok: false, reason: "process exited (port taken by another process?)" };
        return { ok: true, reason: "" };
      }
      await sleep(150);
    }
    return { ok: false, reason: `not healthy on ${url} within ${timeoutMs} ms` };
  }

  /** SIGTERM the group, SIGKILL after graceMs, then wait (bounded) until the port is free. */
  async function killGroup(pid: number, port: number | undefined, graceMs = 5000): Promise<void> {
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // gone
      }
    };
    signal("SIGTERM");
    const deadline = Date.now() + graceMs;
    while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
    if (groupAlive(pid)) signal("SIGKILL");
    const hard = Date.now() + 5000;
    while (groupAlive(pid) && Date.now() < hard) await sleep(50);
    if (groupAlive(pid)) throw new Error(`process group ${pid} survived SIGKILL`);
    if (port !== undefined) {
      const portDeadline = Date.now() + 10_000;
      while (!(await portIsFree(port))) {
        if (Date.now() > portDeadline)
          throw new Error(`port ${port} still in use after stopping group ${pid}`);
        await sleep(100);
      }
    }
  }

  /**
   * Process groups of live processes whose SHIPSHAPE_INSTANCE_KEY matches and
   * whose SHIPSHAPE_INSTANCE_RUN_DIR is `runDir` (Linux /proc scan; empty
   * elsewhere). Covers the one window the pidfile cannot: a crash between
   * spawn and writing the pidfile.
   */
  function keyedGroups(match: (key: string) => boolean, runDir: string): number[] {
    if (!fs.existsSync("/proc/self/environ")) return [];
    const groups = new Set<number>();
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (fields[0] === "Z") continue;
        const environ = fs.readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
        const kv = environ.find((e) => e.startsWith("SHIPSHAPE_INSTANCE_KEY="));
        if (!kv || !environ.includes(`SHIPSHAPE_INSTANCE_RUN_DIR=${runDir}`)) continue;
        if (match(kv.slice("SHIPSHAPE_INSTANCE_KEY=".length))) groups.add(Number(fields[2]));
      } catch {
        // exited meanwhile, or not readable
      }
    }
    return [...groups].filter((g) => g > 1);
  }

  /** Kills every process group of `runDir` carrying a key that matches; returns how many groups. */
  async function reapKeys(match: (key: string) => boolean, runDir: string): Promise<number> {
    const groups = keyedGroups(match, runDir);
    for (const g of groups) await killGroup(g, undefined);
    return groups.length;
  }

  /** Kills whatever a pidfile points at (if it is still ours) and removes the pidfile. */
  async function reap(pidFile: string, key: string): Promise<boolean> {
    const prev = readPidFile(pidFile);
    let killed = false;
    if (prev && prev.key === key && ours(prev.pid, key)) {
      await killGroup(prev.pid, prev.port);
      killed = true;
    } else if (prev && prev.key === key && groupAlive(prev.pid)) {
      // Leader gone but children left in its group (sh exited, node kept running).
      await killGroup(prev.pid, prev.port);
      killed = true;
    }
    if ((await reapKeys((k) => k === key, path.dirname(pidFile))) > 0) killed = true;
    fs.rmSync(pidFile, { force: true });
    return killed;
  }

  async function start(inputs: LocalProcessInputs): Promise<LocalProcessOutputs> {
    const hash = specHash(inputs);
    const prev = readPidFile(inputs.pidFile);
    if (prev && prev.key === inputs.key && ours(prev.pid, inputs.key)) {
      if (prev.specHash === hash) {
        const h = await waitHealthy(prev.pid, prev.port, inputs.healthPath, inputs.startTimeoutMs);
        if (h.ok) {
          return {
            ...inputs,
            pid: prev.pid,
            port: prev.port,
            url: `http://127.0.0.1:${prev.port}`,
            specHash: hash,
            adopted: true,
          };
        }
      }
    }
    await reap(inputs.pidFile, inputs.key);

    const port = await freePort();
    fs.mkdirSync(path.dirname(inputs.logFile), { recursive: true });
    const out = fs.openSync(inputs.logFile, "a");
    fs.writeSync(
      out,
      `--- ${new Date().toISOString()} starting ${inputs.key} on port ${port}: ${inputs.command}\n`,
    );
    const baseEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith("PULUMI_")) baseEnv[k] = v;
    }
    const child = cp.spawn("sh", ["-c", inputs.command], {
      cwd: inputs.cwd,
      detached: true,
      stdio: ["ignore", out, out],
      env: {
        ...baseEnv,
        ...inputs.env,
        PORT: String(port),
        SHIPSHAPE_INSTANCE_KEY: inputs.key,
        // Not an input: adding it changes no spec hash, so running instances are adopted as before.
        SHIPSHAPE_INSTANCE_RUN_DIR: path.dirname(inputs.pidFile),
      },
    });
    fs.closeSync(out);
    const pid = child.pid;
    if (!pid) throw new Error(`could not start: sh -c ${inputs.command}`);
    child.unref();
    writePidFile(inputs.pidFile, {
      key: inputs.key,
      pid,
      port,
      specHash: hash,
      startedAt: new Date().toISOString(),
    });
    const h = await waitHealthy(pid, port, inputs.healthPath, inputs.startTimeoutMs);
    if (!h.ok) {
      await killGroup(pid, undefined, 2000).catch(() => undefined);
      fs.rmSync(inputs.pidFile, { force: true });
      throw new Error(
        `${inputs.key}: ${h.reason}\n--- ${inputs.logFile} (tail) ---\n${logTail(inputs.logFile)}`,
      );
    }
    return { ...inputs, pid, port, url: `http://127.0.0.1:${port}`, specHash: hash, adopted: false };
  }

  return { specHash, start, reap, reapKeys, killGroup, readPidFile, ours, groupAlive, portIsFree };
}

const REPLACE_KEYS = ["key", "command", "cwd", "env", "healthPath", "pidFile", "logFile"] as const;

const localProcessProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: LocalProcessInputs) {
    const outs = await controller().start(inputs);
    return { id: inputs.key, outs };
  },

  async diff(_id: string, olds: LocalProcessOutputs, news: LocalProcessInputs) {
    const { isDeepStrictEqual } = require("node:util") as typeof import("node:util");
    const replaces = REPLACE_KEYS.filter((k) => !isDeepStrictEqual(olds[k], news[k]));
    const changes = replaces.length > 0 || olds.startTimeoutMs !== news.startTimeoutMs;
    return { changes, replaces: [...replaces], deleteBeforeReplace: true };
  },

  async update(_id: string, olds: LocalProcessOutputs, news: LocalProcessInputs) {
    // Only non-replacing fields (startTimeoutMs) reach here: the process stays.
    return { outs: { ...olds, ...news } };
  },

  async read(id: string, props: LocalProcessOutputs) {
    // `pulumi refresh`: a process that died is gone from the state.
    const c = controller();
    if (!props?.pid || !c.ours(props.pid, props.key)) return { id: "", props: {} } as never;
    return { id, props };
  },

  async delete(_id: string, props: LocalProcessOutputs) {
    const c = controller();
    if (props.pid && c.groupAlive(props.pid) && c.ours(props.pid, props.key)) {
      await c.killGroup(props.pid, props.port);
    }
    await c.reap(props.pidFile, props.key);
    if (props.port && !(await c.portIsFree(props.port))) {
      throw new Error(`port ${props.port} of ${props.key} is still in use`);
    }
  },
};

export class LocalProcess extends pulumi.dynamic.Resource {
  declare readonly pid: pulumi.Output<number>;
  declare readonly port: pulumi.Output<number>;
  declare readonly url: pulumi.Output<string>;
  declare readonly logFile: pulumi.Output<string>;
  declare readonly adopted: pulumi.Output<boolean>;
  constructor(name: string, args: LocalProcessInputs, opts?: pulumi.CustomResourceOptions) {
    // The version's env carries credentials (DATABASE_URL): kept encrypted in the
    // state (passphrase secrets provider), decrypted only inside the provider.
    super(
      localProcessProvider,
      name,
      {
        ...args,
        env: pulumi.secret(args.env),
        pid: undefined,
        port: undefined,
        url: undefined,
        adopted: undefined,
      },
      { ...opts, additionalSecretOutputs: ["env"] },
    );
  }
}
