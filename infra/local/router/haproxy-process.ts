import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import readline from "node:readline";
import type { HaproxyFiles } from "./haproxy-config";
import { RuntimeApi } from "./runtime-api";

// The HAProxy process of one router, a child of the router's control process
// (same process group: stopping the router stops both).
//
//   start   fresh process on the generated config; if an HAProxy of this
//           router is still running (its control process died and left it
//           serving), the new one takes its listening socket over (-x) and
//           tells it to finish its requests and exit (-sf): no refused
//           connection in between.
//   reload  the same hand-over, to a new config (a backend's health path
//           changed: that is backend configuration, not runtime state).
//   stop    SIGUSR1 (soft stop: stop accepting, let in-flight requests
//           finish), SIGKILL after the grace period.
// An exit nobody asked for is reported to `onCrash` (the data plane starts a
// new one with the persisted table).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HaproxyProcessOptions {
  binary: string;
  files: HaproxyFiles;
  log: (event: Record<string, unknown>) => void;
  onCrash: (code: number | null, signal: NodeJS.Signals | null) => void;
  startTimeoutMs?: number;
}

export class HaproxyProcess {
  private child: ChildProcess | undefined;
  private readonly retiring = new Set<ChildProcess>();
  readonly api: RuntimeApi;

  constructor(private readonly o: HaproxyProcessOptions) {
    this.api = new RuntimeApi(o.files.socket);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts HAProxy on `config`, taking over from a leftover HAProxy of this router if one still runs. */
  async start(config: string): Promise<void> {
    const leftover = runningHaproxyPid(this.o.files);
    fs.writeFileSync(this.o.files.config, config, { mode: 0o600 });
    await this.launch(leftover === undefined ? [] : ["-x", this.o.files.socket, "-sf", String(leftover)]);
    if (leftover !== undefined) this.o.log({ event: "haproxy-takeover", from: leftover, pid: this.pid });
  }

  /** Seamless switch to a new config: the new process inherits the listener, the old one drains. */
  async reload(config: string): Promise<void> {
    const old = this.child;
    if (!old?.pid || !this.running) return this.start(config);
    fs.writeFileSync(this.o.files.config, config, { mode: 0o600 });
    this.retiring.add(old);
    await this.launch(["-x", this.o.files.socket, "-sf", String(old.pid)]);
  }

  /** Soft stop, then SIGKILL after `graceMs`; resolves once every HAProxy of this router is gone. */
  async stop(graceMs: number): Promise<void> {
    const all = [...this.retiring, ...(this.child ? [this.child] : [])];
    if (this.child) this.retiring.add(this.child);
    this.child = undefined;
    const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
    for (const c of all) if (alive(c)) c.kill("SIGUSR1");
    const deadline = Date.now() + graceMs;
    while (all.some(alive) && Date.now() < deadline) await sleep(20);
    for (const c of all) if (alive(c)) c.kill("SIGKILL");
    while (all.some(alive)) await sleep(10);
  }

  private async launch(extra: string[]): Promise<void> {
    const child = spawn(this.o.binary, ["-db", "-f", this.o.files.config, ...extra], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    // HAProxy's own messages (config errors, servers going up or down) into the router's log.
    if (child.stderr) {
      readline
        .createInterface({ input: child.stderr })
        .on("line", (line) => this.o.log({ event: "haproxy", pid: child.pid, line }));
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.once("exit", (code, signal) => {
      const expected = this.retiring.delete(child);
      this.o.log({ event: "haproxy-exit", pid: child.pid, code, signal, expected });
      if (!expected && this.child === child) {
        this.child = undefined;
        this.o.onCrash(code, signal);
      }
    });
    const deadline = Date.now() + (this.o.startTimeoutMs ?? 10_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await exited;
        throw new Error(`haproxy exited during start (code ${child.exitCode}, signal ${child.signalCode})`);
      }
      if (await this.answersAs(child.pid)) break;
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`haproxy did not answer on ${this.o.files.socket} within the start timeout`);
      }
      await sleep(20);
    }
    this.child = child;
    // Written by us (HAProxy writes its pidfile only when it daemonises): how
    // the next control process finds an HAProxy this one left running.
    fs.writeFileSync(this.o.files.pidFile, `${child.pid}\n`);
    this.o.log({ event: "haproxy-ready", pid: child.pid });
  }

  /** The socket is answered by `pid` (during a hand-over the old process may still hold the path). */
  private async answersAs(pid: number | undefined): Promise<boolean> {
    try {
      return new RegExp(`^Pid: ${pid}$`, "m").test(await this.api.send("show info"));
    } catch {
      return false;
    }
  }
}

/**
 * The pid of an HAProxy running this router's config, if any: the control
 * process's own child, or one left serving by a control process that died.
 */
export function runningHaproxyPid(files: HaproxyFiles): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(files.pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmdline.includes(files.config) ? pid : undefined;
  } catch {
    return undefined;
  }
}
