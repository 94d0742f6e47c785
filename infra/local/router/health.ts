import http from "node:http";

// Health of the instances behind the router. HAProxy runs the active checks
// (every `intervalMs`, `rise`/`fall` hysteresis) and the passive ejection (the
// first refused connection marks an instance down); this module only gives a
// brand-new instance its first verdict before it is added, so it is neither
// sent traffic unchecked nor kept out for a whole interval after the change.

export interface HealthOptions {
  /** Default path probed on every instance (a backend may override it). */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive good checks that bring a down instance back. */
  rise: number;
  /** Consecutive failed checks that take an up instance out. */
  fall: number;
}

export const DEFAULT_HEALTH: HealthOptions = {
  path: "/health",
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 2,
};

export function healthOptions(partial: Partial<HealthOptions> = {}): HealthOptions {
  const o = { ...DEFAULT_HEALTH, ...partial };
  if (o.rise < 1 || o.fall < 1) throw new Error("rise and fall must be >= 1");
  if (o.intervalMs < 10 || o.timeoutMs < 10) throw new Error("health interval and timeout must be >= 10 ms");
  return o;
}

export interface ProbeResult {
  ok: boolean;
  error: string | null;
}

/**
 * One check, the way HAProxy's will judge it: 2xx/3xx within the timeout, on
 * a fresh connection (so it also proves the instance accepts connections).
 */
export function probe(url: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ ok, error });
    };
    const req = http.get(
      url,
      { agent: false, headers: { "user-agent": "shipshape-router-probe" } },
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
