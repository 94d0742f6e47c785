import fs from "node:fs";
import {
  type HaproxyFiles,
  haproxyFiles,
  healthPaths,
  mapFileText,
  overrideMapEntries,
  renderConfig,
  routingMapEntries,
  serverAddress,
  serverName,
  serverOptions,
  tokensMapEntries,
} from "./haproxy-config";
import { HaproxyProcess } from "./haproxy-process";
import { type HealthOptions, probe } from "./health";
import { BACKEND_NAMES, type BackendName, type RoutingTable } from "./routing-table";
import type { StatRow } from "./runtime-api";

// HAProxy driven as the router's data plane. Every change of the routing
// table is brought into the running HAProxy through its Runtime API, in an
// order that never sends a request where the new table would not:
//   1. new instances get a first health verdict (probe), are added
//      (`add server`, in maintenance), get their checks and are enabled
//      (`set server … health down` first when the probe failed: then only
//      `rise` good checks let them in);
//   2. instances that left a backend go to maintenance (no new requests,
//      in-flight ones finish) and are deleted (`del server`) once idle;
//   3. the maps: override targets, the override token, then green's share
//      and stickiness, and last the table version — the read-back: a reader
//      that sees version N in HAProxy knows everything of N is in place.
// HAProxy (re)starts (first start, crash, new health path) write the whole
// table into the config instead: servers added at run time exist in no file
// HAProxy reads itself. All changes run one at a time.

export interface DataPlaneOptions {
  binary: string;
  /** Folder for HAProxy's config, maps, socket and pidfile. */
  dir: string;
  port: number;
  logSinkPort: number;
  health: HealthOptions | false;
  proxyTimeoutMs: number;
  drainTimeoutMs: number;
  threads: number;
  log: (event: Record<string, unknown>) => void;
}

export interface ServerView {
  backend: BackendName;
  /** host:port (HAProxy's server name). */
  name: string;
  /** HAProxy's status column: UP, DOWN, "UP 1/2" (going down), MAINT, "no check"… */
  status: string;
  up: boolean;
  /** In maintenance: left the table, finishing its requests before it is deleted. */
  retiring: boolean;
  inflight: number;
  checkStatus: string;
  /** Seconds since the last state change. */
  lastChangeSeconds: number | null;
  failedChecks: number;
}

export interface DataPlaneState {
  /** What HAProxy's routing map holds (the read-back), null before the first table is in. */
  applied: { version: number; greenBasisPoints: number; sticky: boolean } | null;
  servers: ServerView[];
  inflight: Record<BackendName, number>;
  pid: number | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isBackend = (s: string): s is BackendName => (BACKEND_NAMES as readonly string[]).includes(s);

export class HaproxyDataPlane {
  private readonly files: HaproxyFiles;
  private readonly haproxy: HaproxyProcess;
  private table: RoutingTable;
  private queue: Promise<unknown> = Promise.resolve();
  /** `<backend>/<server>` → version of the release it serves, for attributing log lines. */
  private readonly versions = new Map<string, string>();
  private readonly retiring = new Set<string>();
  private lastMaps = { override: "", tokens: "" };
  private checkedPaths = "";
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Restarts after a crash, for the log and the tests. */
  restarts = 0;

  private constructor(
    private readonly o: DataPlaneOptions,
    table: RoutingTable,
  ) {
    this.table = table;
    this.files = haproxyFiles(o.dir);
    this.haproxy = new HaproxyProcess({
      binary: o.binary,
      files: this.files,
      log: o.log,
      onCrash: (code, signal) => {
        if (this.closed) return;
        o.log({ event: "haproxy-crashed", code, signal });
        void this.serialize(() => this.restartUntilUp());
      },
    });
  }

  static async start(o: DataPlaneOptions, table: RoutingTable): Promise<HaproxyDataPlane> {
    fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const dp = new HaproxyDataPlane(o, table);
    await dp.serialize(() => dp.launch(table, "start"));
    dp.timer = setInterval(() => void dp.housekeeping(), 500);
    dp.timer.unref();
    return dp;
  }

  get pid(): number | undefined {
    return this.haproxy.pid;
  }

  /** Brings HAProxy to `table` (see the order above). */
  apply(table: RoutingTable): Promise<void> {
    return this.serialize(() => this.sync(table));
  }

  /** Which release a server of a backend serves (log lines name the server). */
  versionOf(backend: string, server: string): string | undefined {
    return this.versions.get(`${backend}/${server}`);
  }

  async state(): Promise<DataPlaneState> {
    const [rows, routing] = await Promise.all([
      this.haproxy.api.showStat(),
      this.haproxy.api.showMap(this.files.routingMap),
    ]);
    const version = routing.get("version");
    return {
      applied:
        version === undefined
          ? null
          : {
              version: Number(version),
              greenBasisPoints: Number(routing.get("green") ?? 0),
              sticky: routing.get("sticky") === "1",
            },
      servers: rows.flatMap((r) => serverView(r) ?? []),
      inflight: Object.fromEntries(
        BACKEND_NAMES.map((b) => [
          b,
          Number(rows.find((r) => r.pxname === b && r.svname === "BACKEND")?.scur ?? 0),
        ]),
      ) as Record<BackendName, number>,
      pid: this.haproxy.pid,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.queue.catch(() => undefined);
    await this.haproxy.stop(this.o.drainTimeoutMs);
    // Sockets may live in the temp folder (deep state folders): nothing of this router stays behind.
    for (const s of [this.files.socket, this.files.flushSocket]) fs.rmSync(s, { force: true });
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes config and maps for `table` and starts (or reloads) HAProxy on them. */
  private async launch(table: RoutingTable, how: "start" | "reload"): Promise<void> {
    const instances = BACKEND_NAMES.flatMap((b) =>
      (table.backends[b]?.instances ?? []).map((instance) => ({ backend: b, instance })),
    );
    const verdicts = await this.probeAll(table, instances);
    const down = new Set(instances.filter((_, i) => !verdicts[i]).map((x) => x.instance));
    const override = mapFileText(overrideMapEntries(table));
    const tokens = mapFileText(tokensMapEntries(table));
    fs.writeFileSync(this.files.routingMap, mapFileText(routingMapEntries(table)));
    fs.writeFileSync(this.files.overrideMap, override);
    fs.writeFileSync(this.files.tokensMap, tokens, { mode: 0o600 });
    const config = renderConfig({ ...this.o, files: this.files, table, down });
    if (how === "reload") await this.haproxy.reload(config);
    else await this.haproxy.start(config);
    // Written in maintenance because their probe failed: from now on their checks decide.
    for (const { backend, instance } of instances.filter((x) => down.has(x.instance)))
      await this.admitAsDown(`${backend}/${serverName(instance)}`);
    this.versions.clear();
    this.retiring.clear();
    for (const b of BACKEND_NAMES)
      for (const i of table.backends[b]?.instances ?? [])
        this.versions.set(`${b}/${serverName(i)}`, table.backends[b]!.version);
    this.lastMaps = { override, tokens };
    this.checkedPaths = healthPaths(table, this.o.health);
    this.table = table;
    this.o.log({ event: `haproxy-${how}`, pid: this.haproxy.pid, tableVersion: table.version });
  }

  private async restartUntilUp(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(2000, delay * 2)) {
      try {
        await this.launch(this.table, "start");
        this.restarts++;
        return;
      } catch (err) {
        this.o.log({ event: "haproxy-restart-failed", message: (err as Error).message });
        await sleep(delay);
      }
    }
  }

  private async sync(table: RoutingTable): Promise<void> {
    if (!this.haproxy.running) await this.restartUntilUp();
    if (this.closed) throw new Error("router is stopping");
    if (healthPaths(table, this.o.health) !== this.checkedPaths) return this.launch(table, "reload");
    const rows = await this.haproxy.api.showStat();
    const current = new Map(
      rows.flatMap((r) => serverView(r) ?? []).map((s) => [`${s.backend}/${s.name}`, s]),
    );
    await this.addServers(table, current);
    await this.retireServers(table, current);
    await this.writeMaps(table);
    this.table = table;
  }

  private async addServers(table: RoutingTable, current: Map<string, ServerView>): Promise<void> {
    const fresh: Array<{ backend: BackendName; instance: string }> = [];
    for (const b of BACKEND_NAMES) {
      const be = table.backends[b];
      for (const instance of be?.instances ?? []) {
        const id = `${b}/${serverName(instance)}`;
        this.versions.set(id, be!.version);
        const s = current.get(id);
        if (!s) fresh.push({ backend: b, instance });
        else if (s.retiring) {
          await this.haproxy.api.change(`set server ${id} state ready`);
          this.retiring.delete(id);
        }
      }
    }
    const verdicts = await this.probeAll(table, fresh);
    for (const [i, { backend, instance }] of fresh.entries()) {
      const id = `${backend}/${serverName(instance)}`;
      const opts = serverOptions(this.o.health);
      // Added in maintenance (HAProxy's rule for dynamic servers).
      await this.haproxy.api.change(`add server ${id} ${serverAddress(instance)} ${opts}`.trimEnd());
      if (this.o.health) await this.haproxy.api.change(`enable health ${id}`);
      if (verdicts[i]) await this.haproxy.api.change(`enable server ${id}`);
      else await this.admitAsDown(id);
      this.o.log({ event: "server-added", server: id, healthy: verdicts[i] });
    }
  }

  /**
   * Out of maintenance but marked down, so only `rise` good checks let it in.
   * (Leaving maintenance would otherwise assume it up; the detour through
   * drain keeps it without requests while its health is forced down.)
   */
  private async admitAsDown(id: string): Promise<void> {
    if (!this.o.health) return this.haproxy.api.change(`set server ${id} state ready`);
    await this.haproxy.api.change(`set server ${id} state drain`);
    await this.haproxy.api.change(`set server ${id} health down`);
    await this.haproxy.api.change(`set server ${id} state ready`);
  }

  private async retireServers(table: RoutingTable, current: Map<string, ServerView>): Promise<void> {
    const wanted = new Set(
      BACKEND_NAMES.flatMap((b) => (table.backends[b]?.instances ?? []).map((i) => `${b}/${serverName(i)}`)),
    );
    for (const [id, s] of current) {
      if (wanted.has(id) || s.retiring) continue;
      await this.haproxy.api.change(`set server ${id} state maint`);
      this.retiring.add(id);
      this.o.log({ event: "server-retired", server: id });
    }
  }

  private async writeMaps(table: RoutingTable): Promise<void> {
    const override = overrideMapEntries(table);
    const tokens = tokensMapEntries(table);
    if (mapFileText(override) !== this.lastMaps.override) {
      await this.haproxy.api.replaceMap(this.files.overrideMap, override);
      this.lastMaps.override = mapFileText(override);
    }
    if (mapFileText(tokens) !== this.lastMaps.tokens) {
      await this.haproxy.api.replaceMap(this.files.tokensMap, tokens);
      this.lastMaps.tokens = mapFileText(tokens);
    }
    for (const [k, v] of routingMapEntries(table))
      await this.haproxy.api.change(`set map ${this.files.routingMap} ${k} ${v}`);
  }

  /** Deletes retired servers once they have finished their requests. */
  private async housekeeping(): Promise<void> {
    if (this.closed || this.retiring.size === 0 || !this.haproxy.running) return;
    await this.serialize(async () => {
      const rows = await this.haproxy.api.showStat();
      for (const id of [...this.retiring]) {
        const [backend, name] = id.split("/") as [string, string];
        const row = rows.find((r) => r.pxname === backend && r.svname === name);
        if (row && Number(row.scur) + Number(row.qcur) > 0) continue;
        try {
          if (row) await this.haproxy.api.change(`del server ${id}`);
          this.retiring.delete(id);
          this.versions.delete(id);
        } catch {
          // idle connections still attached: next round
        }
      }
    }).catch((err) => this.o.log({ event: "housekeeping-failed", message: (err as Error).message }));
  }

  private async probeAll(
    table: RoutingTable,
    list: Array<{ backend: BackendName; instance: string }>,
  ): Promise<boolean[]> {
    const health = this.o.health;
    if (!health) return list.map(() => true);
    return Promise.all(
      list.map(async ({ backend, instance }) => {
        const p = table.backends[backend]?.healthPath ?? health.path;
        return (await probe(`${instance}${p}`, health.timeoutMs)).ok;
      }),
    );
  }
}

function serverView(r: StatRow): ServerView | undefined {
  if (!isBackend(r.pxname ?? "") || r.svname === "BACKEND" || !r.svname) return undefined;
  const status = r.status ?? "";
  const lastChange = Number(r.lastchg);
  return {
    backend: r.pxname as BackendName,
    name: r.svname,
    status,
    up: /^(UP|no check)/.test(status),
    retiring: status.startsWith("MAINT"),
    inflight: Number(r.scur ?? 0),
    checkStatus: r.check_status ?? "",
    lastChangeSeconds: r.lastchg === "" || !Number.isFinite(lastChange) ? null : lastChange,
    failedChecks: Number(r.chkfail ?? 0),
  };
}
