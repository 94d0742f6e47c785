/**
 * `shipshape parity`: every difference between two environments, as rows of
 * {what, a, b}. PURE. The effective config of each environment (the one its
 * last promotion ran with: defaults filled, `${env:…}` references kept as
 * written) is flattened to key paths; secret-bearing values are passed through
 * `mask` so only references, never values, are shown.
 */

export interface ParityRow {
  what: string;
  a: string;
  b: string;
}

type Json = unknown;

/** Paths whose literal values may be credentials: shown as a reference or masked. */
const SECRET_PATHS = [/^run\.env\./, /^database\.url$/, /\.secrets\./, /^environment\.aws\.secrets\./];

function flatten(value: Json, prefix: string, out: Map<string, string>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, "[]");
    value.forEach((v, i) => {
      flatten(v, `${prefix}[${i}]`, out);
    });
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, Json>);
    if (entries.length === 0 && prefix) out.set(prefix, "{}");
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) out.set(prefix, typeof value === "string" ? value : JSON.stringify(value));
}

/** A config value as it may be shown: references verbatim, other secret-path values masked. */
export function shown(path: string, value: string, mask: (value: string) => string): string {
  if (!SECRET_PATHS.some((re) => re.test(path))) return value;
  if (/^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/.test(value)) return value;
  return mask(value);
}

/**
 * The effective config of `envA` (from `configA`) against `envB` (from
 * `configB`): the shared sections key by key, and the two environments'
 * own sections side by side (under `environment.`).
 */
export function configDifferences(
  configA: Record<string, Json>,
  envA: string,
  configB: Record<string, Json>,
  envB: string,
  mask: (value: string) => string,
): ParityRow[] {
  const view = (config: Record<string, Json>, env: string) => {
    const { environments, ...rest } = config;
    const out = new Map<string, string>();
    flatten(rest, "", out);
    const section = (environments as Record<string, Json> | undefined)?.[env] ?? {};
    // onDrift has no zod default (existing configs keep their digest): its effective value is warn.
    flatten({ onDrift: "warn", ...(section as Record<string, Json>) }, "environment", out);
    return out;
  };
  const a = view(configA, envA);
  const b = view(configB, envB);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const rows: ParityRow[] = [];
  for (const k of keys) {
    const va = a.get(k);
    const vb = b.get(k);
    if (va === vb) continue;
    rows.push({
      what: `config ${k}`,
      a: va === undefined ? "(not set)" : shown(k, va, mask),
      b: vb === undefined ? "(not set)" : shown(k, vb, mask),
    });
  }
  return rows;
}

/** Rows of what runs, kept only where the two environments differ. */
export function runtimeDifferences(facts: Array<{ what: string; a: string; b: string }>): ParityRow[] {
  return facts.filter((f) => f.a !== f.b);
}
