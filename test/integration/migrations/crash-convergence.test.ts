/**
 * Crash injection: stop the engine after EVERY step of start, complete and
 * rollback (hook that throws, as a crashed process would stop), rerun the
 * command, and require the database to converge to exactly the state of an
 * uninterrupted run. After a crashed complete the other command is tried as
 * well: before complete's first contract step, rollback must converge to an
 * uninterrupted rollback; after it, rollback must be refused with advice.
 * A few points are real SIGKILLs of a child process.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EVERYTHING, seededShop } from "./fixtures/shop";
import { admin, crashing, engineFor, fingerprint, leftovers, run, withDb } from "./helpers";

/** Every crash point a command passes: each recorded step, plus effect-before-record and first backfill batch. */
function crashPoints(steps: string[], all: string[]): string[] {
  const extra = all.filter((s) => s.endsWith("#effect") || s.endsWith("#batch"));
  return [...steps, ...extra];
}

const reference = async () =>
  withDb("crashref", async (url) => {
    await seededShop(url);
    const seen: string[] = [];
    const e = engineFor(url, { hooks: { afterStep: (s) => void seen.push(s) } });
    const started = await e.start(EVERYTHING);
    const startPoints = crashPoints(started.steps, seen.splice(0));
    const completed = await e.complete(EVERYTHING.name);
    const completePoints = crashPoints(completed.steps, seen.splice(0));
    await e.close();
    const afterComplete = await fingerprint(url);
    return { startPoints, completePoints, afterComplete };
  });

const rollbackReference = async () =>
  withDb("crashref", async (url) => {
    await seededShop(url);
    const seen: string[] = [];
    const e = engineFor(url, { hooks: { afterStep: (s) => void seen.push(s) } });
    await e.start(EVERYTHING);
    seen.splice(0);
    const rolled = await e.rollback(EVERYTHING.name);
    const rollbackPoints = crashPoints(rolled.steps, seen.splice(0));
    await e.close();
    return {
      rollbackPoints,
      afterRollback: await fingerprint(url),
      afterRollbackSchema: await fingerprint(url, { aside: false }),
    };
  });

describe("crash after every step converges on rerun", async () => {
  const ref = await reference();
  const rb = await rollbackReference();

  it("has crash points for every phase", () => {
    expect(ref.startPoints.length).toBeGreaterThan(15);
    expect(ref.startPoints).toContain("start:5:create_index#effect");
    expect(ref.startPoints).toContain("start:1:backfill#batch");
    expect(ref.startPoints).toContain("start:3:change_type:carry");
    expect(ref.startPoints).toContain("start:3:change_type:carry_indexes#effect");
    expect(ref.startPoints).toContain("start:9:backfill#batch");
    expect(ref.completePoints.length).toBeGreaterThan(8);
    expect(ref.completePoints).toContain("validate:3:change_type");
    expect(ref.completePoints).toContain("complete:drop-old-schemas");
    expect(ref.completePoints).toContain("complete:3:change_type:swap");
    expect(rb.rollbackPoints.length).toBeGreaterThan(6);
  });

  it.each(ref.startPoints)("start crashes after %s → rerun start → complete converges", async (point) => {
    await withDb("crs", async (url) => {
      await seededShop(url);
      expect(await crashing(url, point, (e) => e.start(EVERYTHING))).toBe(true);
      const status = await run(url, (e) => e.status());
      expect(status.active?.phase).toBe("starting");
      const resumed = await run(url, (e) => e.start(EVERYTHING));
      // A recorded step is never run again; a crash inside a step (after its
      // effect or a backfill batch, before its record: `step#effect`, `step#batch`)
      // makes the rerun redo that step.
      const step = point.replace(/#(effect|batch)$/, "");
      if (step === point) expect(resumed.steps).not.toContain(point);
      else expect(resumed.steps).toContain(step);
      await run(url, (e) => e.complete(EVERYTHING.name));
      expect(await fingerprint(url)).toBe(ref.afterComplete);
    });
  });

  it.each(ref.startPoints)("start crashes after %s → rollback converges", async (point) => {
    await withDb("crr", async (url) => {
      await seededShop(url);
      expect(await crashing(url, point, (e) => e.start(EVERYTHING))).toBe(true);
      await run(url, (e) => e.rollback(EVERYTHING.name));
      // Same objects and application data; only the put-aside set depends on how far start got.
      expect(await fingerprint(url, { aside: false })).toBe(rb.afterRollbackSchema);
      const left = await leftovers(url);
      expect(left.unrecordedInternal.filter((x) => !x.startsWith("_ss_rb_audit"))).toEqual([]);
    });
  });

  it.each(ref.completePoints)("complete crashes after %s → rerun converges", async (point) => {
    await withDb("crc", async (url) => {
      await seededShop(url);
      await run(url, (e) => e.start(EVERYTHING));
      expect(await crashing(url, point, (e) => e.complete(EVERYTHING.name))).toBe(true);
      await run(url, (e) => e.complete(EVERYTHING.name));
      expect(await fingerprint(url)).toBe(ref.afterComplete);
    });
  });

  /** Until an operation's contract step (`complete:<n>:…`, then the final views) commits, nothing is lost. */
  const beforeContract = (point: string) => !/^complete:\d+:/.test(point) && point !== "complete:views";

  it.each(ref.completePoints)(
    "complete crashes after %s → rollback converges, or is refused saying what to run",
    async (point) => {
      await withDb("crk", async (url) => {
        await seededShop(url);
        await run(url, (e) => e.start(EVERYTHING));
        expect(await crashing(url, point, (e) => e.complete(EVERYTHING.name))).toBe(true);
        const st = await run(url, (e) => e.status());
        expect(st.active?.canRollBack).toBe(beforeContract(point));
        expect(st.active?.next).toMatch(/run `shipshape migrate complete` again/);
        if (beforeContract(point)) {
          expect((await run(url, (e) => e.rollback(EVERYTHING.name))).phase).toBe("rolled_back");
          expect(await fingerprint(url)).toBe(rb.afterRollback);
        } else {
          await expect(run(url, (e) => e.rollback(EVERYTHING.name))).rejects.toMatchObject({
            code: "INVALID_PHASE",
            message: expect.stringMatching(/rollback is no longer possible/),
          });
          await run(url, (e) => e.complete(EVERYTHING.name));
          expect(await fingerprint(url)).toBe(ref.afterComplete);
        }
      });
    },
  );

  it.each(rb.rollbackPoints)("rollback crashes after %s → rerun converges", async (point) => {
    await withDb("crb", async (url) => {
      await seededShop(url);
      await run(url, (e) => e.start(EVERYTHING));
      expect(await crashing(url, point, (e) => e.rollback(EVERYTHING.name))).toBe(true);
      // Once rolling back it can no longer complete.
      await expect(run(url, (e) => e.complete(EVERYTHING.name))).rejects.toThrow(/rolling_back/);
      expect((await run(url, (e) => e.status())).active?.next).toMatch(
        /run `shipshape migrate rollback` again/,
      );
      await run(url, (e) => e.rollback(EVERYTHING.name));
      expect(await fingerprint(url)).toBe(rb.afterRollback);
    });
  });
});

function child(url: string, command: string, env: Record<string, string> = {}) {
  const script = path.join(__dirname, "fixtures", "crash-child.ts");
  const p = spawn(process.execPath, ["--import", "tsx", script], {
    env: {
      ...process.env,
      SHIPSHAPE_DB_URL: url,
      SHIPSHAPE_COMMAND: command,
      SHIPSHAPE_MIGRATION: JSON.stringify(EVERYTHING),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  p.stdout.on("data", (d) => {
    out += d;
  });
  p.stderr.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { p, exited, output: () => out };
}

describe("real SIGKILL of the migrating process", async () => {
  const ref = await reference();
  const rb = await rollbackReference();

  it("killed mid-start, mid-complete: reruns converge", async () => {
    await withDb("kill", async (url) => {
      await seededShop(url);
      const a = child(url, "start", { SHIPSHAPE_KILL_AT: "start:3:change_type:trigger" });
      expect((await a.exited).signal).toBe("SIGKILL");
      expect(a.output()).not.toContain("finished");
      const resumed = await run(url, (e) => e.start(EVERYTHING));
      expect(resumed.steps[0]).toBe("start:3:change_type:not_null");
      const b = child(url, "complete", { SHIPSHAPE_KILL_AT: "validate:3:change_type" });
      expect((await b.exited).signal).toBe("SIGKILL");
      await run(url, (e) => e.complete(EVERYTHING.name));
      expect(await fingerprint(url)).toBe(ref.afterComplete);
    });
  });

  it("killed mid-rollback (after a CONCURRENTLY step's effect, before its record): rerun converges", async () => {
    await withDb("kill", async (url) => {
      await seededShop(url);
      await run(url, (e) => e.start(EVERYTHING));
      const a = child(url, "rollback", { SHIPSHAPE_KILL_AT: "rollback:5:create_index#effect" });
      expect((await a.exited).signal).toBe("SIGKILL");
      await run(url, (e) => e.rollback(EVERYTHING.name));
      expect(await fingerprint(url)).toBe(rb.afterRollback);
    });
  });

  it("killed from outside mid-backfill: the rerun resumes at the persisted cursor", async () => {
    await withDb("kill", async (url) => {
      await seededShop(url);
      const c = await admin(url);
      try {
        await c.query("TRUNCATE products RESTART IDENTITY");
        await c.query(
          "INSERT INTO products (name, price, sku) SELECT 'P' || g, g, 'S' || g FROM generate_series(1, 400) g",
        );
        const a = child(url, "start", { SHIPSHAPE_BATCH: "10", SHIPSHAPE_DELAY: "40" });
        let done = 0;
        for (let i = 0; i < 300 && done < 50; i++) {
          await new Promise((r) => setTimeout(r, 50));
          const r = await c
            .query("SELECT coalesce(sum(rows_done), 0)::int AS n FROM shipshape_migrations.backfills")
            .catch(() => ({ rows: [{ n: 0 }] }));
          done = r.rows[0]?.n ?? 0;
        }
        a.p.kill("SIGKILL");
        await a.exited;
        const before = await c.query(
          "SELECT op_index, rows_done::int, batches::int, done FROM shipshape_migrations.backfills ORDER BY op_index",
        );
        expect(before.rows.length).toBeGreaterThan(0);
        expect(before.rows.some((r) => !r.done)).toBe(true);
        const resumed = await run(url, (e) => e.start(EVERYTHING));
        expect(resumed.phase).toBe("active");
        const after = await c.query(
          "SELECT op_index, rows_done::int, batches::int, done FROM shipshape_migrations.backfills ORDER BY op_index",
        );
        // Resumed, not restarted: over both processes each backfill touched each row exactly once.
        for (const r of after.rows) {
          expect(r.done).toBe(true);
          expect(r.rows_done).toBe(400);
        }
        const nulls = await c.query(
          'SELECT count(*)::int AS n FROM products WHERE slug IS NULL OR "_ss_new_price" IS NULL OR "_ss_new_price" <> (price * 100)::bigint',
        );
        expect(nulls.rows[0].n).toBe(0);
      } finally {
        await c.end();
      }
    });
  });
});
