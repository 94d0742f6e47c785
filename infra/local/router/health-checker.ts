import http from "node:http";

// Active HTTP health checks with rise/fall hysteresis, plus passive ejection
// from real traffic.
//
// Defaults (interval 1 s, timeout 500 ms, fall 2, rise 2) mean a backend that
// starts failing its health endpoint is out of rotation within ~2 s, and one
// that recovers is back after two consecutive good checks (~2 s), so a single
// flap neither ejects nor restores it. A backend whose process dies is
// ejected faster than that: the first proxied request that fails on a fresh
// connection (e.g. ECONNREFUSED) marks the instance down at once (nobody is listening, there is
// nothing to wait for); it comes back only through `rise` active checks.
// See reportFailure for the keep-alive subtlety.

export interface HealthCheckOptions {
  /** Default path probed on every instance (a backend may override it). */
  path?: string;
  intervalMs?: number;
  timeoutMs?: number;
  /** Consecutive successes that bring a down instance back. */
  rise?: number;
  /** Consecutive failures that take an up instance out. */
  fall?: number;
}

export type HealthStatus = "unknown" | "up" | "down";

export interface InstanceHealth {
  instance: string;
  path: string;
  status: HealthStatus;
  consecutiveOk: number;
  consecutiveFail: number;
  lastCheckAt: string | null;
  lastChangeAt: string | null;
  lastError: string | null;
  lastLatencyMs: number | null;
}

export interface HealthTarget {
  instance: string;
  path: string;
}

export type HealthChangeListener = (
  instance: string,
  from: HealthStatus,
  to: HealthStatus,
  why: string,
) => void;

export const DEFAULT_HEALTH: Required<HealthCheckOptions> = {
  path: "/health",
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 2,
};

export class HealthChecker {
  readonly options: Required<HealthCheckOptions>;
  private readonly states = new Map<string, InstanceHealth>();
  private readonly pending = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    options: HealthCheckOptions = {},
    private readonly onChange?: HealthChangeListener,
  ) {
    this.options = { ...DEFAULT_HEALTH, ...options };
    if (this.options.rise < 1 || this.options.fall < 1) throw new Error("rise and fall must be >= 1");
  }

  /** Replace the set of instances to check. Known instances keep their state. */
  setTargets(targets: readonly HealthTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.instance, t.path]));
    for (const key of [...this.states.keys()]) if (!wanted.has(key)) this.states.delete(key);
    for (const [instance, path] of wanted) {
      const s = this.states.get(instance);
      if (s) s.path = path;
      else this.states.set(instance, newState(instance, path));
    }
  }

  /**
   * Unknown counts as not healthy: an instance nobody has checked yet must not
   * get user traffic (invariant 1). The server probes new instances before
   * they enter the table, so in practice "unknown" lasts one probe.
   */
  isUp(instance: string): boolean {
    return this.states.get(instance)?.status === "up";
  }

  get(instance: string): InstanceHealth | undefined {
    const s = this.states.get(instance);
    return s ? { ...s } : undefined;
  }

  snapshot(): InstanceHealth[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  /** One check of each given instance (default: all), resolved when all have answered or timed out. */
  async probe(targets?: readonly HealthTarget[]): Promise<void> {
    const list = targets ?? [...this.states.values()].map((s) => ({ instance: s.instance, path: s.path }));
    await Promise.all(list.map((t) => this.checkOnce(t)));
  }

  /**
   * Passive signal from a proxied request that failed at connection level.
   * `definitive` = the failure happened on a brand-new connection (refused,
   * or accepted and then dropped): the instance is ejected at once, there is
   * nothing to wait for. A failure on a reused keep-alive socket is
   * ambiguous (the backend may just have closed an idle socket as we wrote
   * to it), so it only counts toward `fall` and triggers an immediate check
   * that settles it within one round-trip.
   */
  reportFailure(instance: string, code: string | undefined, definitive: boolean): void {
    const s = this.states.get(instance);
    if (!s) return;
    const why = `proxied request: ${code ?? "connection error"}`;
    if (definitive) {
      s.consecutiveOk = 0;
      s.consecutiveFail = Math.max(s.consecutiveFail + 1, this.options.fall);
      s.lastError = why;
      this.transition(s, "down", why);
      return;
    }
    this.applyResult(s, false, why);
    if (s.status === "up") void this.checkOnce({ instance: s.instance, path: s.path });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      await this.probe();
      if (this.running) this.timer = setTimeout(loop, this.options.intervalMs);
    };
    this.timer = setTimeout(loop, this.options.intervalMs);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private checkOnce(t: HealthTarget): Promise<void> {
    // Never two checks of one instance at a time: a slow instance would
    // otherwise pile up probes exactly when it is least able to answer them.
    const inFlight = this.pending.get(t.instance);
    if (inFlight) return inFlight;
    const p = httpCheck(`${t.instance}${t.path}`, this.options.timeoutMs).then((r) => {
      this.pending.delete(t.instance);
      const s = this.states.get(t.instance);
      if (!s) return; // removed from the table while the check ran
      s.lastCheckAt = new Date().toISOString();
      s.lastLatencyMs = r.latencyMs;
      this.applyResult(s, r.ok, r.error);
    });
    this.pending.set(t.instance, p);
    return p;
  }

  private applyResult(s: InstanceHealth, ok: boolean, error: string | null): void {
    if (ok) {
      s.consecutiveOk++;
      s.consecutiveFail = 0;
      s.lastError = null;
      // A never-checked instance is admitted on its first good check; a
      // failed one has to prove itself `rise` times.
      if (s.status === "unknown" || (s.status === "down" && s.consecutiveOk >= this.options.rise)) {
        this.transition(s, "up", `${s.consecutiveOk} consecutive good check(s)`);
      }
    } else {
      s.consecutiveFail++;
      s.consecutiveOk = 0;
      s.lastError = error;
      if (s.status === "unknown" || (s.status === "up" && s.consecutiveFail >= this.options.fall)) {
        this.transition(s, "down", error ?? "check failed");
      }
    }
  }

  private transition(s: InstanceHealth, to: HealthStatus, why: string): void {
    if (s.status === to) return;
    const from = s.status;
    s.status = to;
    s.lastChangeAt = new Date().toISOString();
    this.onChange?.(s.instance, from, to, why);
  }
}

function newState(instance: string, path: string): InstanceHealth {
  return {
    instance,
    path,
    status: "unknown",
    consecutiveOk: 0,
    consecutiveFail: 0,
    lastCheckAt: null,
    lastChangeAt: null,
    lastError: null,
    lastLatencyMs: null,
  };
}

/** 2xx/3xx within the timeout is healthy. A fresh connection each time (agent: false) so the check also proves the instance accepts connections. */
function httpCheck(
  url: string,
  timeoutMs: number,
): Promise<{ ok: boolean; error: string | null; latencyMs: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ ok, error, latencyMs: performance.now() - started });
    };
    const req = http.get(
      url,
      { agent: false, headers: { "user-agent": "shipshape-router-health" } },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on("end", () => done(status >= 200 && status < 400, status >= 400 ? `HTTP ${status}` : null));
        res.on("error", (err) => done(false, err.message));
      },
    );
    req.setTimeout(timeoutMs, () => {
      done(false, `timeout after ${timeoutMs} ms`);
      req.destroy();
    });
    req.on("error", (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  });
}
