import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";

// The routing table is the router's only durable state. Everything else
// (health verdicts, stats, HAProxy's own runtime state) is rebuilt after a
// restart, so a crash can never resurrect a stale health verdict, but it always
// keeps the split: HAProxy's config is regenerated from this table at every
// start (servers added at run time are not in any file HAProxy reads itself).

/**
 * The data plane has exactly two backends: the release serving users (blue)
 * and the one being rolled out (green). They are also the values of the
 * override header.
 */
export const BACKEND_NAMES = ["blue", "green"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A record keyed by backend name; any other key is refused with a message that says why. */
function backendRecord<T extends z.ZodType>(value: T) {
  return z
    .record(z.string(), value)
    .superRefine((rec, ctx) => {
      for (const key of Object.keys(rec)) {
        if (!(BACKEND_NAMES as readonly string[]).includes(key))
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `backend ${JSON.stringify(key)}: the local router has exactly two backends, "blue" and "green"`,
          });
      }
    })
    .transform((rec) => rec as Partial<Record<BackendName, z.output<T>>>);
}

const instanceUrl = z
  .url()
  .refine((u) => {
    const parsed = new URL(u);
    return parsed.protocol === "http:" && (parsed.pathname === "/" || parsed.pathname === "");
  }, "instance must be an http:// origin without a path, e.g. http://127.0.0.1:4001")
  // One canonical spelling per instance, so health state and idempotency
  // comparisons are not fooled by "http://x:1" vs "http://x:1/".
  .transform((u) => new URL(u).origin);

const weight = z.number().finite().min(0).max(1_000_000);

export const backendSchema = z.strictObject({
  /** What is deployed there (release label), reported in stats and metrics. */
  version: z.string().min(1).max(128),
  instances: z.array(instanceUrl).max(64),
  /** Relative weight; 0 means "receives no new requests" (draining / standby). */
  weight,
  /** Overrides the router-wide health-check path for this backend. */
  healthPath: z.string().startsWith("/").max(256).optional(),
});
export type Backend = z.infer<typeof backendSchema>;

export const routingTableSchema = z.strictObject({
  /** Monotonic; bumped by every change that alters the content, never by a no-op. */
  version: z.number().int().min(0),
  updatedAt: z.string(),
  /** When true, the first pick is remembered in a cookie so a user stays on one backend. */
  sticky: z.boolean(),
  backends: backendRecord(backendSchema),
  /**
   * What a request must carry in `x-shipshape-override-token` for its
   * `x-shipshape-version` header to be honoured. Rotated whenever green gets a
   * new version (one token per deployment). Absent only in tables written by
   * an older router; the store adds one when it opens such a table.
   */
  overrideToken: z.string().min(16).max(256).optional(),
});
export type RoutingTable = z.infer<typeof routingTableSchema>;

/**
 * Body of `PUT /admin/routes`. Merge semantics so a caller can touch one
 * backend without re-sending the others:
 *   - `backends.<name>: {...}` upserts that backend (full object),
 *   - `backends.<name>: null` removes it,
 *   - `weights.<name>: n` changes only the weight of an existing (or just upserted) backend.
 * `ifVersion` is an optimistic-concurrency guard; it is checked only when the
 * patch would change something, so re-sending an already-applied patch is a no-op
 * rather than a conflict (activities retry after crashes).
 */
export const routesPatchSchema = z
  .strictObject({
    backends: backendRecord(backendSchema.nullable()).optional(),
    weights: backendRecord(weight).optional(),
    sticky: z.boolean().optional(),
    /** Sets the override token instead of the automatic per-deployment one. */
    overrideToken: z
      .string()
      .min(16)
      .max(256)
      .regex(/^[A-Za-z0-9._~-]+$/)
      .optional(),
    ifVersion: z.number().int().min(0).optional(),
  })
  .refine(
    (p) =>
      p.backends !== undefined ||
      p.weights !== undefined ||
      p.sticky !== undefined ||
      p.overrideToken !== undefined,
    { message: "nothing to change: give backends, weights, sticky and/or overrideToken" },
  );
export type RoutesPatch = z.infer<typeof routesPatchSchema>;

export class PatchError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 409,
  ) {
    super(message);
  }
}

export function newOverrideToken(): string {
  return randomBytes(18).toString("base64url");
}

export function emptyTable(overrideToken = newOverrideToken()): RoutingTable {
  return { version: 0, updatedAt: new Date(0).toISOString(), sticky: false, backends: {}, overrideToken };
}

/** Everything that changes routing; `version` and `updatedAt` are bookkeeping. */
function content(t: RoutingTable) {
  return { sticky: t.sticky, backends: t.backends, overrideToken: t.overrideToken };
}

export function sameContent(a: RoutingTable, b: RoutingTable): boolean {
  return isDeepStrictEqual(content(a), content(b));
}

/**
 * Pure (clock and token source injected): the table that results from
 * applying `patch` to `current`. Returns `current` itself (same version) when
 * the patch changes nothing. A green with a new version gets a new override
 * token unless the patch sets one.
 */
export function applyPatch(
  current: RoutingTable,
  patch: RoutesPatch,
  { now = new Date(), newToken = newOverrideToken }: { now?: Date; newToken?: () => string } = {},
): RoutingTable {
  const backends: Partial<Record<BackendName, Backend>> = { ...current.backends };
  for (const [name, b] of entries(patch.backends)) {
    if (b === null) delete backends[name];
    else backends[name] = stripUndefined(b);
  }
  for (const [name, w] of entries(patch.weights)) {
    const b = backends[name];
    if (!b) throw new PatchError(`unknown backend "${name}" in weights; define it under backends first`, 400);
    backends[name] = { ...b, weight: w };
  }
  const greenChanged = backends.green && backends.green.version !== current.backends.green?.version;
  const candidate: RoutingTable = {
    version: current.version,
    updatedAt: current.updatedAt,
    sticky: patch.sticky ?? current.sticky,
    backends: sortKeys(backends),
    overrideToken:
      patch.overrideToken ?? (greenChanged || !current.overrideToken ? newToken() : current.overrideToken),
  };
  if (sameContent(candidate, current)) return current;
  if (patch.ifVersion !== undefined && patch.ifVersion !== current.version) {
    throw new PatchError(
      `table is at version ${current.version}, patch expected ${patch.ifVersion}; re-read and retry`,
      409,
    );
  }
  return { ...candidate, version: current.version + 1, updatedAt: now.toISOString() };
}

function stripUndefined(b: Backend): Backend {
  const out: Backend = { version: b.version, instances: [...b.instances], weight: b.weight };
  if (b.healthPath !== undefined) out.healthPath = b.healthPath;
  return out;
}

function sortKeys<T>(o: Partial<Record<BackendName, T>>): Partial<Record<BackendName, T>> {
  return Object.fromEntries(entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

function entries<T>(o: Partial<Record<BackendName, T>> | undefined): Array<[BackendName, T]> {
  return Object.entries(o ?? {}) as Array<[BackendName, T]>;
}

export async function loadTable(file: string): Promise<RoutingTable | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  // A corrupt state file is a hard error: silently starting empty would drop
  // the current split, which is exactly what persistence is there to prevent.
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new Error(`router state file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = routingTableSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`router state file ${file} is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * Write-to-temp, fsync, rename, fsync the directory: after a crash the file is
 * either the old table or the new one, never a torn mix.
 */
export async function saveTable(file: string, table: RoutingTable): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(table, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  try {
    const dh = await open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

/**
 * Holds the current table. Changes are serialised (one at a time) and the new
 * table is persisted before it becomes visible, so what a caller is told is
 * applied is also what survives a restart.
 */
export class RoutingTableStore {
  private table: RoutingTable;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    initial: RoutingTable,
  ) {
    this.table = deepFreeze(initial);
  }

  static async open(file: string, initial?: RoutingTable): Promise<RoutingTableStore> {
    const loaded = await loadTable(file);
    if (loaded?.overrideToken) return new RoutingTableStore(file, loaded);
    const start = loaded ?? (initial ? routingTableSchema.parse(initial) : emptyTable());
    const withToken = { ...start, overrideToken: start.overrideToken ?? newOverrideToken() };
    await saveTable(file, withToken);
    return new RoutingTableStore(file, withToken);
  }

  get current(): RoutingTable {
    return this.table;
  }

  /**
   * Applies `patch`. `beforeSwap` runs with the candidate table after it is
   * validated but before it is persisted and swapped in (the server uses it to
   * probe new instances so they have a health verdict from the first request).
   */
  update(
    patch: RoutesPatch,
    beforeSwap?: (candidate: RoutingTable) => Promise<void>,
  ): Promise<{ table: RoutingTable; changed: boolean }> {
    const run = async () => {
      const before = this.table;
      const next = applyPatch(before, patch);
      if (next === before) return { table: before, changed: false };
      await beforeSwap?.(next);
      await saveTable(this.file, next);
      this.table = deepFreeze(next);
      return { table: this.table, changed: true };
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
