// Pure routing decisions. No I/O, no clock; randomness is injected so tests
// can make picks deterministic and the server can use Math.random.

export const OVERRIDE_HEADER = "x-shipshape-version";
export const BACKEND_HEADER = "x-shipshape-backend";
export const STICKY_COOKIE = "shipshape_backend";

export interface BackendView {
  name: string;
  version: string;
  weight: number;
  /** Instances currently passing health checks, in table order. */
  healthy: readonly string[];
}

export type PickReason = "override" | "sticky" | "weighted" | "fallback";

export type Pick =
  | { ok: true; backend: string; reason: PickReason }
  | { ok: false; status: 400 | 503; message: string };

export interface PickInput {
  /** Value of the override header: a backend name, or a version label that names exactly one backend. */
  override?: string | undefined;
  /** Backend named by the sticky cookie (only consulted when stickiness is on). */
  sticky?: string | undefined;
  /** Uniform in [0, 1). */
  random: () => number;
}

/**
 * The routing rule:
 *  1. An override header targets that backend regardless of its weight (so
 *     green can be verified at weight 0). It is strict: if that backend has no
 *     healthy instance the answer is 503, never a silent answer from another
 *     version, because the caller asked to test that version specifically.
 *  2. A sticky cookie is honoured only while its backend still has weight > 0
 *     and a healthy instance; a draining (weight 0) backend gets no new work,
 *     sticky or not.
 *  3. Otherwise: weighted random choice among backends with weight > 0 and at
 *     least one healthy instance.
 *  4. If none qualifies, any backend with a healthy instance (uniformly):
 *     users are always served (invariant 1), even by a standby at weight 0.
 *  5. Nothing healthy: 503.
 */
export function pickBackend(backends: readonly BackendView[], input: PickInput): Pick {
  if (input.override) {
    const target = resolveOverride(backends, input.override);
    if (!target) {
      return {
        ok: false,
        status: 400,
        message: `${OVERRIDE_HEADER}: "${input.override}" names no backend (known: ${backends.map((b) => b.name).join(", ") || "none"})`,
      };
    }
    if (target.healthy.length === 0) {
      return {
        ok: false,
        status: 503,
        message: `${OVERRIDE_HEADER}: backend "${target.name}" has no healthy instance`,
      };
    }
    return { ok: true, backend: target.name, reason: "override" };
  }

  if (input.sticky) {
    const s = backends.find((b) => b.name === input.sticky);
    if (s && s.weight > 0 && s.healthy.length > 0) return { ok: true, backend: s.name, reason: "sticky" };
  }

  const eligible = backends.filter((b) => b.weight > 0 && b.healthy.length > 0);
  if (eligible.length > 0) {
    return { ok: true, backend: weightedChoice(eligible, input.random()).name, reason: "weighted" };
  }

  const fallback = backends.filter((b) => b.healthy.length > 0);
  if (fallback.length > 0) {
    const i = Math.min(fallback.length - 1, Math.floor(input.random() * fallback.length));
    return { ok: true, backend: fallback[i]!.name, reason: "fallback" };
  }

  return {
    ok: false,
    status: 503,
    message:
      backends.length === 0
        ? "no backend is configured on this router"
        : `no healthy instance in any backend (${backends.map((b) => b.name).join(", ")})`,
  };
}

function resolveOverride(backends: readonly BackendView[], value: string): BackendView | undefined {
  const v = value.trim();
  const byName = backends.find((b) => b.name === v);
  if (byName) return byName;
  const byVersion = backends.filter((b) => b.version === v);
  return byVersion.length === 1 ? byVersion[0] : undefined;
}

/** `r` uniform in [0,1); the cumulative walk gives each backend a slice proportional to its weight. */
function weightedChoice(eligible: readonly BackendView[], r: number): BackendView {
  const total = eligible.reduce((s, b) => s + b.weight, 0);
  let x = r * total;
  for (const b of eligible) {
    if (x < b.weight) return b;
    x -= b.weight;
  }
  // Floating-point residue when r is close to 1.
  return eligible[eligible.length - 1]!;
}

/**
 * Fraction of un-pinned traffic (no override, no cookie) each backend gets
 * right now, health included. This is what "the router actually applied the
 * weights" means for a read-back check: configured 10% to a backend with no
 * healthy instance is effectively 0%.
 */
export function effectiveShares(backends: readonly BackendView[]): Record<string, number> {
  const shares: Record<string, number> = Object.fromEntries(backends.map((b) => [b.name, 0]));
  const eligible = backends.filter((b) => b.weight > 0 && b.healthy.length > 0);
  if (eligible.length > 0) {
    const total = eligible.reduce((s, b) => s + b.weight, 0);
    for (const b of eligible) shares[b.name] = b.weight / total;
    return shares;
  }
  const fallback = backends.filter((b) => b.healthy.length > 0);
  for (const b of fallback) shares[b.name] = 1 / fallback.length;
  return shares;
}

/**
 * Round-robin over a backend's healthy instances. The cursor is per backend
 * and survives health changes (it is taken modulo the current healthy list),
 * so an instance coming back does not reset everyone's rotation.
 */
export class RoundRobin {
  private readonly cursors = new Map<string, number>();

  next(backend: string, healthy: readonly string[], exclude?: string): string | undefined {
    const candidates = exclude === undefined ? healthy : healthy.filter((i) => i !== exclude);
    if (candidates.length === 0) return undefined;
    const c = this.cursors.get(backend) ?? 0;
    this.cursors.set(backend, (c + 1) % 1_000_000_007);
    return candidates[c % candidates.length];
  }
}

export function readOverride(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const t = v?.trim();
  return t ? t : undefined;
}

export function readStickyCookie(cookieHeader: string | undefined, name = STICKY_COOKIE): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return v ? v : undefined;
    }
  }
  return undefined;
}

export function stickyCookie(backend: string, name = STICKY_COOKIE): string {
  // Session cookie (no Max-Age): stickiness is per browser session, and a
  // rolled-back canary should not pin anyone for days.
  return `${name}=${backend}; Path=/; HttpOnly; SameSite=Lax`;
}
