import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  applyPatch,
  emptyTable,
  loadTable,
  PatchError,
  RoutingTableStore,
  routesPatchSchema,
  saveTable,
} from "../../../../../infra/local/router/routing-table";
import { removeDir, tempDir } from "./helpers";

const patch = (p: unknown) => routesPatchSchema.parse(p);
const base = patch({
  backends: {
    blue: { version: "v1", instances: ["http://127.0.0.1:4001"], weight: 100 },
    green: { version: "v2", instances: ["http://127.0.0.1:4002/"], weight: 0 },
  },
});

describe("applyPatch", () => {
  it("upserts backends, bumps the version and canonicalises instance URLs", () => {
    const t = applyPatch(emptyTable(), base);
    expect(t.version).toBe(1);
    expect(t.backends.green?.instances).toEqual(["http://127.0.0.1:4002"]);
    expect(Object.keys(t.backends)).toEqual(["blue", "green"]);
  });

  it("is idempotent: the same patch twice returns the same table object and version", () => {
    const once = applyPatch(emptyTable(), base);
    const twice = applyPatch(once, base);
    expect(twice).toBe(once);
    const w = patch({ weights: { blue: 90, green: 10 } });
    const a = applyPatch(once, w);
    expect(a.version).toBe(2);
    expect(applyPatch(a, w)).toBe(a);
  });

  it("changes only weights with `weights`, removes with null", () => {
    const t = applyPatch(applyPatch(emptyTable(), base), patch({ weights: { green: 10 } }));
    expect(t.backends.blue?.weight).toBe(100);
    expect(t.backends.green?.weight).toBe(10);
    const removed = applyPatch(t, patch({ backends: { green: null } }));
    expect(Object.keys(removed.backends)).toEqual(["blue"]);
  });

  it("rejects weights for an unknown backend", () => {
    expect(() => applyPatch(emptyTable(), patch({ weights: { green: 10 } }))).toThrow(PatchError);
  });

  it("checks ifVersion only when the patch changes something", () => {
    const t = applyPatch(emptyTable(), base); // version 1
    // Stale ifVersion but already applied: a retry after a crash must succeed.
    expect(applyPatch(t, { ...base, ifVersion: 0 })).toBe(t);
    try {
      applyPatch(t, patch({ weights: { green: 50 }, ifVersion: 0 }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PatchError);
      expect((err as PatchError).status).toBe(409);
    }
    expect(applyPatch(t, patch({ weights: { green: 50 }, ifVersion: 1 })).version).toBe(2);
  });

  it("gives every new green version its own override token (one per deployment), keeps it on retries", () => {
    let n = 0;
    const newToken = () => `token-${String(++n).padStart(16, "0")}`;
    const t = applyPatch(emptyTable("token-initial-0000000"), base, { newToken });
    expect(t.overrideToken).toBe("token-0000000000000001");
    // Same green again (an activity retry) or a weight change: same token, same table.
    expect(applyPatch(t, base, { newToken })).toBe(t);
    expect(applyPatch(t, patch({ weights: { green: 10 } }), { newToken }).overrideToken).toBe(
      t.overrideToken,
    );
    const next = applyPatch(
      t,
      patch({ backends: { green: { version: "v3", instances: ["http://127.0.0.1:4003"], weight: 0 } } }),
      { newToken },
    );
    expect(next.overrideToken).toBe("token-0000000000000002");
    // Green gone (rolled back or promoted): the token stays until the next green.
    expect(applyPatch(next, patch({ backends: { green: null } }), { newToken }).overrideToken).toBe(
      next.overrideToken,
    );
    expect(applyPatch(t, patch({ overrideToken: "chosen-by-operator-1234" })).overrideToken).toBe(
      "chosen-by-operator-1234",
    );
  });

  it("schema rejects bad input with useful messages", () => {
    expect(routesPatchSchema.safeParse({}).success).toBe(false);
    expect(
      routesPatchSchema.safeParse({
        backends: { blue: { version: "v1", instances: ["ftp://x"], weight: 1 } },
      }).success,
    ).toBe(false);
    expect(
      routesPatchSchema.safeParse({
        backends: { blue: { version: "v1", instances: ["http://x:1/api"], weight: 1 } },
      }).success,
    ).toBe(false);
    expect(routesPatchSchema.safeParse({ weights: { blue: -1 } }).success).toBe(false);
    expect(routesPatchSchema.safeParse({ weights: { Blue: 1 } }).success).toBe(false);
    const third = routesPatchSchema.safeParse({ weights: { canary: 1 } });
    expect(third.error?.issues[0]?.message).toBe(
      'backend "canary": the local router has exactly two backends, "blue" and "green"',
    );
    expect(routesPatchSchema.safeParse({ overrideToken: "short" }).success).toBe(false);
    expect(routesPatchSchema.safeParse({ weights: { blue: 1 }, extra: true }).success).toBe(false);
  });
});

describe("persistence", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await removeDir(dir);
  });

  it("saves atomically (no temp file left) and loads back the same table", async () => {
    dir = await tempDir();
    const file = join(dir, "nested", "routes.json");
    const t = applyPatch(emptyTable(), base);
    await saveTable(file, t);
    expect(await loadTable(file)).toEqual(t);
    expect(await readdir(join(dir, "nested"))).toEqual(["routes.json"]);
  });

  it("returns undefined for a missing file and refuses a corrupt one", async () => {
    dir = await tempDir();
    expect(await loadTable(join(dir, "none.json"))).toBeUndefined();
    await writeFile(join(dir, "bad.json"), "{ not json");
    await expect(loadTable(join(dir, "bad.json"))).rejects.toThrow(/not valid JSON/);
    await writeFile(join(dir, "wrong.json"), JSON.stringify({ version: "x" }));
    await expect(loadTable(join(dir, "wrong.json"))).rejects.toThrow(/invalid/);
  });

  it("store persists before the new table becomes visible and serialises concurrent updates", async () => {
    dir = await tempDir();
    const file = join(dir, "routes.json");
    const store = await RoutingTableStore.open(file);
    expect(store.current.version).toBe(0);
    await store.update(base);
    const results = await Promise.all(
      [10, 20, 30, 40].map((w) => store.update(patch({ weights: { green: w } }))),
    );
    expect(results.map((r) => r.table.version)).toEqual([2, 3, 4, 5]);
    const onDisk = JSON.parse(await readFile(file, "utf8"));
    expect(onDisk).toEqual(store.current);
    expect(store.current.backends.green?.weight).toBe(40);
    expect(Object.isFrozen(store.current.backends.green)).toBe(true);

    const reopened = await RoutingTableStore.open(file);
    expect(reopened.current).toEqual(store.current);
  });

  it("a failing pre-swap step leaves the table unchanged", async () => {
    dir = await tempDir();
    const store = await RoutingTableStore.open(join(dir, "routes.json"));
    await expect(
      store.update(base, async () => {
        throw new Error("probe failed");
      }),
    ).rejects.toThrow("probe failed");
    expect(store.current.version).toBe(0);
    expect((await store.update(base)).table.version).toBe(1);
  });
});
