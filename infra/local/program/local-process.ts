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
 *           no pipes to it). Its environment is an allow-list, never the
 *           worker's (instanceEnv); with `runAs` (a root worker) it runs as
 *           that unprivileged user, HOME a folder of its own (instance-user.ts).
 *   delete  SIGTERM to the group, SIGKILL after a grace period, waits until
 *           the port is free, removes the pidfile.
 *   diff    any change of what the process runs (command, env, cwd,
 *           healthPath, key) is a replacement, deleted before the new one is
 *           created (same key → same pidfile/log, and the port is released).
 *
 * Idempotency key: `key` = `<stack>/<instance index>`, also the resource's
 * ID. The child carries it in its environment (SHIPSHAPE_INSTANCE_KEY) and in
 * the pidfile, so after an interrupted `pulumi up` the pending create is
 * imported under that ID and `read` finds the pidfile and ADOPTS the live
 * process when it was started from the same spec (spec hash) and answers its
 * health check; a create that runs again does the same, and otherwise kills
 * that group and starts afresh. Before every signal a
 * member of the group is verified to carry the key (Linux: /proc/<pid>/environ;
 * elsewhere `ps -E`), so a recycled pid or pgid (a stranger after a crash or a
 * reboot) is never signalled; what cannot be verified is not signalled.
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
  /**
   * The unprivileged user the instance runs as when the worker is root
   * (instance-user.ts); absent: the worker's own user. Its HOME is a folder of
   * its own beside the pidfile, owned by it.
   */
  runAs?: { uid: number; gid: number };
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
    // runAs only when set: instances started before it existed keep their hash (and are adopted).
    const spec = [i.key, i.command, i.cwd, env, i.healthPath, ...(i.runAs ? [i.runAs] : [])];
    return crypto.createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16);
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM";
    }
  }

  const PROCFS = fs.existsSync("/proc/self/environ");
  /**
   * The folder of the instance's pidfile (its stack's run dir inside one state
   * folder), in the instance's environment next to its key: keys are
   * `<stack>/<index>`, the same in every state folder on the host, so a scan
   * by key alone would reap another state folder's instances. Instances
   * started before this variable existed lack it and still match by key.
   */
  const HOME_VAR = "SHIPSHAPE_INSTANCE_HOME";
  const homeOf = (pidFile: string) => path.resolve(path.dirname(pidFile));
  /** The own folder of an instance run as another user: `instance-<i>.home` beside its pidfile. */
  const ownDirOf = (pidFile: string) =>
    path.join(path.dirname(pidFile), `${path.basename(pidFile, path.extname(pidFile))}.home`);
  const keyEntry = (key: string) => `SHIPSHAPE_INSTANCE_KEY=${key}`;

  /**
   * Without procfs (macOS), `ps -E` prints each process's environment after its
   * command line, space-separated. Lines of `pid pgid command env…`; empty when
   * ps fails, so nothing unverifiable is ever signalled.
   */
  function psLines(): Array<{ pid: number; pgid: number; text: string }> {
    try {
      const out = cp.execFileSync("ps", ["-A", "-E", "-ww", "-o", "pid=,pgid=,command="], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      return out
        .split("\n")
        .map((l) => /^\s*(\d+)\s+(\d+)\s(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), text: `${m[3]} ` }));
    } catch {
      return [];
    }
  }

  function environHasKey(pid: number, key: string): boolean {
    try {
      return fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(keyEntry(key));
    } catch {
      return false;
    }
  }

  /** Is `pid` alive AND the process we started for `key` (guards against pid reuse)? */
  function ours(pid: number, key: string): boolean {
    if (!alive(pid)) return false;
    if (PROCFS) return environHasKey(pid, key);
    return psLines().some((p) => p.pid === pid && p.text.includes(` ${keyEntry(key)} `));
  }

  /**
   * Does a live (non-zombie) member of process group `pgid` carry `key`? The
   * only test that allows signalling the group: the pidfile's pid may have been
   * recycled, and a group whose leader exited may since hold a stranger.
   */
  function groupCarriesKey(pgid: number, key: string): boolean {
    if (!(pgid > 1)) return false;
    if (!PROCFS) return psLines().some((p) => p.pgid === pgid && p.text.includes(` ${keyEntry(key)} `));
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (fields[0] === "Z" || Number(fields[2]) !== pgid) continue;
        if (environHasKey(Number(entry), key)) return true;
      } catch {
        // exited meanwhile
      }
    }
    return false;
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

  /**
   * Variables of the worker's environment an instance gets (this process
   * inherits the worker's through the Pulumi engine): ordinary tools need
   * them. Nothing else of the worker's passes — it holds cloud credentials,
   * Temporal and payload keys, the router's admin token. The same allow-list
   * as check commands (lib/config/check-env.ts), without the worker's
   * SHIPSHAPE_* variables: an instance's SHIPSHAPE_* are the ones set for it.
   */
  const PASSED_THROUGH = ["PATH", "HOME", "LANG"];

  /** An instance's whole environment: the allow-list, its release's `run.env` (resolved), PORT and its key. */
  function instanceEnv(inputs: LocalProcessInputs, port: number): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of PASSED_THROUGH) {
      const v = process.env[name];
      if (v !== undefined) env[name] = v;
    }
    // Another user cannot use the worker's HOME: it gets its own folder.
    if (inputs.runAs) env.HOME = ownDirOf(inputs.pidFile);
    return {
      ...env,
      ...inputs.env,
      PORT: String(port),
      SHIPSHAPE_INSTANCE_KEY: inputs.key,
      [HOME_VAR]: homeOf(inputs.pidFile),
    };
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

  /**
   * SIGTERM the group, SIGKILL after graceMs, then wait (bounded) until the
   * port is free. Each signal goes out only while a member of the group carries
   * `key`; a group that is not (or no longer) ours is left alone and the call
   * returns false.
   */
  async function killGroup(
    pid: number,
    port: number | undefined,
    key: string,
    graceMs = 5000,
  ): Promise<boolean> {
    const signal = (s: NodeJS.Signals): boolean => {
      if (!groupCarriesKey(pid, key)) return false;
      try {
        process.kill(-pid, s);
      } catch {
        // gone
      }
      return true;
    };
    if (!signal("SIGTERM")) return false;
    const deadline = Date.now() + graceMs;
    while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
    // Whatever is left without the key (a stranger that took the pgid) is not ours to kill.
    if (groupAlive(pid) && !signal("SIGKILL")) return true;
    const hard = Date.now() + 5000;
    while (groupAlive(pid) && Date.now() < hard) await sleep(50);
    if (groupAlive(pid) && groupCarriesKey(pid, key))
      throw new Error(`process group ${pid} survived SIGKILL`);
    if (port !== undefined) {
      const portDeadline = Date.now() + 10_000;
      while (!(await portIsFree(port))) {
        if (Date.now() > portDeadline)
          throw new Error(`port ${port} still in use after stopping group ${pid}`);
        await sleep(100);
      }
    }
    return true;
  }

  /**
   * Process groups of live processes whose SHIPSHAPE_INSTANCE_KEY matches
   * (Linux /proc scan; empty elsewhere). Covers the one window the pidfile
   * cannot: a crash between spawn and writing the pidfile.
   */
  function keyedGroups(match: (key: string) => boolean, home?: string): Map<number, string> {
    const groups = new Map<number, string>();
    if (!PROCFS) return groups;
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        if (fields[0] === "Z") continue;
        const environ = fs.readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
        const kv = environ.find((e) => e.startsWith("SHIPSHAPE_INSTANCE_KEY="));
        const theirHome = environ.find((e) => e.startsWith(`${HOME_VAR}=`))?.slice(HOME_VAR.length + 1);
        if (home !== undefined && theirHome !== undefined && path.resolve(theirHome) !== path.resolve(home))
          continue;
        const key = kv?.slice("SHIPSHAPE_INSTANCE_KEY=".length);
        if (key !== undefined && match(key) && Number(fields[2]) > 1) groups.set(Number(fields[2]), key);
      } catch {
        // exited meanwhile, or not readable
      }
    }
    return groups;
  }

  /**
   * Kills every process group carrying a key that matches (and, with `home`,
   * started for that run dir: another state folder's instances are not ours);
   * returns how many groups.
   */
  async function reapKeys(match: (key: string) => boolean, home?: string): Promise<number> {
    let killed = 0;
    for (const [g, key] of keyedGroups(match, home)) if (await killGroup(g, undefined, key)) killed++;
    return killed;
  }

  /**
   * Kills what a pidfile points at and removes the pidfile. The group is
   * signalled only if one of its members carries the key: the leader (sh) may
   * have exited leaving the service in its group, or the pid may have been
   * recycled by a stranger, who is left alone.
   */
  async function reap(pidFile: string, key: string): Promise<boolean> {
    const prev = readPidFile(pidFile);
    let killed = false;
    if (prev && prev.key === key && groupAlive(prev.pid)) {
      killed = await killGroup(prev.pid, prev.port, key);
    }
    if ((await reapKeys((k) => k === key, homeOf(pidFile))) > 0) killed = true;
    fs.rmSync(pidFile, { force: true });
    fs.rmSync(ownDirOf(pidFile), { recursive: true, force: true });
    return killed;
  }

  /**
   * The process the pidfile records for `inputs`, as outputs, when it is ours
   * (key), runs the same spec and answers its health check; else undefined.
   */
  async function adopt(inputs: LocalProcessInputs): Promise<LocalProcessOutputs | undefined> {
    const hash = specHash(inputs);
    const prev = readPidFile(inputs.pidFile);
    if (!prev || prev.key !== inputs.key || prev.specHash !== hash || !ours(prev.pid, inputs.key))
      return undefined;
    const h = await waitHealthy(prev.pid, prev.port, inputs.healthPath, inputs.startTimeoutMs);
    if (!h.ok) return undefined;
    return {
      ...inputs,
      pid: prev.pid,
      port: prev.port,
      url: `http://127.0.0.1:${prev.port}`,
      specHash: hash,
      adopted: true,
    };
  }

  async function start(inputs: LocalProcessInputs): Promise<LocalProcessOutputs> {
    const hash = specHash(inputs);
    const adopted = await adopt(inputs);
    if (adopted) return adopted;
    await reap(inputs.pidFile, inputs.key);

    const port = await freePort();
    fs.mkdirSync(path.dirname(inputs.logFile), { recursive: true });
    const out = fs.openSync(inputs.logFile, "a");
    fs.writeSync(
      out,
      `--- ${new Date().toISOString()} starting ${inputs.key} on port ${port}: ${inputs.command}\n`,
    );
    if (inputs.runAs) {
      const own = ownDirOf(inputs.pidFile);
      fs.mkdirSync(own, { recursive: true, mode: 0o700 });
      fs.chownSync(own, inputs.runAs.uid, inputs.runAs.gid);
      fs.chmodSync(own, 0o700);
    }
    const child = cp.spawn("sh", ["-c", inputs.command], {
      cwd: inputs.cwd,
      detached: true,
      stdio: ["ignore", out, out],
      env: instanceEnv(inputs, port),
      // libuv drops the supplementary groups (root's) along with uid and gid.
      ...(inputs.runAs ? { uid: inputs.runAs.uid, gid: inputs.runAs.gid } : {}),
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
      await killGroup(pid, undefined, inputs.key, 2000).catch(() => undefined);
      fs.rmSync(inputs.pidFile, { force: true });
      throw new Error(
        `${inputs.key}: ${h.reason}\n--- ${inputs.logFile} (tail) ---\n${logTail(inputs.logFile)}`,
      );
    }
    return { ...inputs, pid, port, url: `http://127.0.0.1:${port}`, specHash: hash, adopted: false };
  }

  return {
    specHash,
    adopt,
    start,
    reap,
    reapKeys,
    killGroup,
    readPidFile,
    ours,
    groupAlive,
    groupCarriesKey,
    portIsFree,
  };
}

const REPLACE_KEYS = ["key", "command", "cwd", "env", "healthPath", "pidFile", "logFile", "runAs"] as const;

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
    const c = controller();
    if (!props?.pid) {
      // A pending create being imported (`--import-pending-creates`): only its inputs are
      // known. It is recorded when its pidfile holds a live, healthy process of that spec.
      const outs = props?.key ? await c.adopt(props) : undefined;
      return (outs ? { id, props: outs } : { id: "", props: {} }) as never;
    }
    // `pulumi refresh`: a process that died is gone from the state.
    if (!c.ours(props.pid, props.key)) return { id: "", props: {} } as never;
    return { id, props };
  },

  async delete(_id: string, props: LocalProcessOutputs) {
    const c = controller();
    if (props.pid && c.groupAlive(props.pid)) await c.killGroup(props.pid, props.port, props.key);
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
