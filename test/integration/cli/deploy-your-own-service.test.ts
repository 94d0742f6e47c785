/**
 * "Deploy your own service", the way a platform engineer does it: a stack
 * started like `npm run dev` (`shipshape dev` in the project's root, whose
 * worker is `shipshape worker` with nothing but DATABASE_URL), and the CLI.
 *
 * The service is examples/notes — Python, not the shop — with three
 * releases as separate artifact folders, each bringing its migrations:
 *   v1  promoted (first deployment: its table is created)
 *   v2  promoted (0002 adds a NOT NULL summary, backfilled for v1's notes)
 *   v3  bad (its list query is wrong): rolled back, its migration undone —
 *       while the shop is deployed to another environment on the same worker
 * and a different artifact under an existing label is refused.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Client as PgClient } from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import YAML from "yaml";
import type { DevStackInfo } from "../../../dev/stack/dev-stack";
import { createLocalInfraDriver } from "../../../infra/local/driver";
import { localStackName } from "../../../infra/local/program";
import { routerNameFor, stopRouterProcess } from "../../../infra/local/router-process";
import { devPulumiSettings } from "../../../infra/pulumi/workspace";
import { treeDigest } from "../../../lib/artifacts/content";
import { freePort, portIsFree } from "../../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import { migrationPhases, runShipshape } from "../../support/cli-process";
import { processesOfStack } from "../local/helpers";

const NOTES = path.join(PROJECT_ROOT, "examples", "notes");
const SHOP = path.join(PROJECT_ROOT, "examples", "shop");
const NOTES_URL = "http://127.0.0.1:8070"; // examples/notes: environments.staging.local.listen
const root = path.join(inject("testStateDir"), "own-service", "project");
const shopEnv = `e2e${randomBytes(2).toString("hex")}`;
let dev: ChildProcess;
let devOutput = "";
let stack: DevStackInfo;
let db: PgClient;

/** `npx shipshape …` in the project's root, against the dev stack. */
function shipshape(...args: string[]) {
  return runShipshape(args, { cwd: root, env: { TEMPORAL_ADDRESS: stack.temporalAddress } });
}

const notesScope = () => ({ service: "notes", environment: "staging", databaseUrl: stack.databaseUrl });

const deployNotes = (version: string, artifact = version) =>
  shipshape(
    "deploy",
    ...["--config", path.join(NOTES, version, "shipshape.yaml"), "--artifact", path.join(NOTES, artifact)],
    ...["--service", "notes", "--env", "staging", "--version", version, "--as", "alice", "--watch"],
  );

async function status(ref: string): Promise<Record<string, unknown>> {
  const r = await shipshape("status", ref, "--json");
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

/** Users: four at a time on each service's public address, so the canary analysis has requests to judge. */
function traffic(urls: string[]) {
  let stopped = false;
  const user = async (url: string) => {
    while (!stopped) {
      await fetch(url, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.arrayBuffer())
        .catch(() => new Promise((r) => setTimeout(r, 100))); // no backend yet
    }
  };
  const users = urls.flatMap((u) => Array.from({ length: 4 }, () => user(u)));
  return {
    async stop() {
      stopped = true;
      await Promise.all(users);
    },
  };
}

/** The shop, as a second service on the same worker: its demo config in an environment of this test. */
function shopConfig(): string {
  const raw = YAML.parse(fs.readFileSync(path.join(SHOP, "shipshape.demo.yaml"), "utf8"));
  raw.environments = { [shopEnv]: { target: "local" } };
  delete raw.database; // its tables come from SHOP_AUTO_SCHEMA here; the notes own the migrations story
  raw.run.env.SHOP_AUTO_SCHEMA = "1";
  raw.release.steps = [
    { weight: 50, bake: "6s" },
    { weight: 100, bake: "2s" },
  ];
  raw.release.analysis.minRequests = 3;
  // This test's users only list products: the demo's shopper metrics (searches, checkouts)
  // would never see an event here and stay inconclusive. The router's own view judges it.
  raw.release.analysis.metrics = raw.release.analysis.metrics.filter(
    (m: { provider: string }) => m.provider === "router",
  );
  const file = path.join(root, "shop-release", "shipshape.yaml");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, YAML.stringify(raw));
  return file;
}

beforeAll(async () => {
  if (!(await portIsFree(8070))) {
    throw new Error("port 8070 (examples/notes staging local.listen) is in use; free it to run this test");
  }
  fs.mkdirSync(root, { recursive: true });
  dev = spawn(process.execPath, [path.join(PROJECT_ROOT, "bin", "shipshape.cjs"), "dev"], {
    cwd: root,
    env: {
      ...process.env,
      SHIPSHAPE_TEMPORAL_PORT: String(await freePort()),
      SHIPSHAPE_UI_PORT: String(await freePort()),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  dev.stdout?.on("data", (d) => {
    devOutput += String(d);
  });
  dev.stderr?.on("data", (d) => {
    devOutput += String(d);
  });
  const deadline = Date.now() + 150_000;
  const file = path.join(root, ".shipshape", "dev", "stack.json");
  while (!fs.existsSync(file)) {
    if (dev.exitCode !== null || Date.now() > deadline)
      throw new Error(`dev stack did not start:\n${devOutput}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  stack = JSON.parse(fs.readFileSync(file, "utf8"));
  db = new PgClient({ connectionString: stack.databaseUrl });
  await db.connect();
}, 200_000);

afterAll(async () => {
  await db?.end().catch(() => undefined);
  if (stack) {
    // Deployed services outlive `npm run dev` (they are the users' services): take them down.
    const infra = createLocalInfraDriver({
      stateDir: stack.stateDir,
      pulumi: devPulumiSettings(stack.stateDir),
    });
    const gone = [
      ...["v1", "v2", "v3"].map((version) => ({ service: "notes", environment: "staging", version })),
      { service: "shop", environment: shopEnv, version: "v1" },
    ];
    for (const ref of gone) await infra.destroyEnvironment({ deploymentId: "cleanup", ...ref }, () => {});
    await stopRouterProcess(routerNameFor({ service: "notes", environment: "staging" }), {
      purge: true,
      stateDir: stack.stateDir,
    });
    await stopRouterProcess(routerNameFor({ service: "shop", environment: shopEnv }), {
      purge: true,
      stateDir: stack.stateDir,
    });
  }
  if (dev && dev.exitCode === null) {
    const exited = new Promise((r) => dev.once("exit", r));
    dev.kill("SIGINT");
    await exited;
  }
}, 240_000);

describe("deploy your own service (examples/notes, Python) through the CLI and `shipshape worker`", () => {
  it("the worker is `shipshape worker` with DATABASE_URL and nothing per service", () => {
    const pid = stack.worker?.pid ?? 0;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0");
    expect(argv).toContain("worker");
    const environ = fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
    expect(environ).toContain(`DATABASE_URL=${stack.databaseUrl}`);
    expect(environ.filter((e) => /^(SHIPSHAPE_MIGRATIONS_DIR|NOTES_|SHOP_)/.test(e))).toEqual([]);
  });

  it("v1 is promoted: its table created, served on local.listen from its release folder", {
    timeout: 400_000,
  }, async () => {
    const load = traffic([`${NOTES_URL}/notes`]);
    const r = await deployNotes("v1").finally(() => load.stop());
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    const digest = treeDigest(path.join(NOTES, "v1"));
    const s = await status("notes/staging");
    expect(s.endpoint).toBe(NOTES_URL);
    expect(s.serving).toEqual({ version: "v1", artifactDigest: digest });
    expect(s.artifactDigest).toBe(digest);
    expect(s.activeMigration).toBeNull();
    const pid = processesOfStack(
      localStackName({ service: "notes", environment: "staging", version: "v1" }, stack.stateDir),
    )[0];
    expect(fs.realpathSync(`/proc/${pid}/cwd`)).toBe(
      fs.realpathSync(path.join(stack.stateDir, "releases", "notes", "v1", "app")),
    );
    const created = await fetch(`${NOTES_URL}/notes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "first", body: "written by v1, before summaries existed" }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("x-notes-version")).toBe("v1");
  });

  it("v2 is promoted: the summary column is added and filled for what v1 wrote; same address", {
    timeout: 400_000,
  }, async () => {
    const load = traffic([`${NOTES_URL}/notes`]);
    const r = await deployNotes("v2").finally(() => load.stop());
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    const s = await status("notes/staging");
    expect(s.endpoint).toBe(NOTES_URL);
    expect(s.serving).toEqual({ version: "v2", artifactDigest: treeDigest(path.join(NOTES, "v2")) });
    const rows = await db.query("SELECT title, summary FROM notes ORDER BY id");
    expect(rows.rows[0]).toEqual({
      title: "first",
      summary: "written by v1, before summaries existed".slice(0, 40),
    });
    expect(rows.rows.every((x) => x.summary !== null)).toBe(true);
    const list = (await (await fetch(`${NOTES_URL}/notes`)).json()) as { version: string; notes: unknown[] };
    expect(list.version).toBe("v2");
    const phases = await migrationPhases(shipshape, notesScope());
    expect(phases).toEqual(["0001_initial:completed", "0002_note_summary:completed"]);
  });

  it("v3 (bad) rolls back with its migration undone, while the shop ships to another environment on the same worker", {
    timeout: 500_000,
  }, async () => {
    const shopFile = shopConfig();
    const load = traffic([`${NOTES_URL}/notes`]);
    const shopLoad: { stop?: () => Promise<void> } = {};
    const shopDeploy = shipshape(
      ...["deploy", "--config", shopFile, "--artifact", SHOP, "--service", "shop", "--env", shopEnv],
      ...["--version", "v1", "--as", "bob", "--json"],
    );
    const started = await shopDeploy;
    expect(started.code, started.err).toBe(0);
    const [notesRun] = await Promise.all([
      deployNotes("v3"),
      (async () => {
        // Users of the shop: on its endpoint (no local.listen: a free port) as soon as it is known.
        let endpoint: string | null = null;
        for (let i = 0; i < 600 && !endpoint; i++) {
          endpoint = (await status(`shop/${shopEnv}`)).endpoint as string | null;
          if (!endpoint) await new Promise((r) => setTimeout(r, 200));
        }
        const t = traffic([`${endpoint}/api/products`]);
        shopLoad.stop = () => t.stop();
      })(),
    ]);
    const watched = await shipshape("watch", `shop/${shopEnv}`, "--interval", "500");
    await shopLoad.stop?.();
    await load.stop();

    expect(notesRun.code, `${notesRun.out}\n${notesRun.err}`).toBe(1);
    const s = await status("notes/staging");
    expect(s.outcome).toBe("rolled-back");
    expect(String(s.outcomeReason)).toMatch(/verif/);
    // Users never left v2.
    expect(s.serving).toEqual({ version: "v2", artifactDigest: treeDigest(path.join(NOTES, "v2")) });
    expect(s.activeMigration).toBeNull();
    const pinned = await db.query(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes' AND column_name = 'pinned'",
    );
    expect(pinned.rowCount).toBe(0); // renamed aside, not live
    const phases = await migrationPhases(shipshape, notesScope());
    expect(phases).toContain("0003_note_pinned:rolled_back");
    expect(
      processesOfStack(
        localStackName({ service: "notes", environment: "staging", version: "v3" }, stack.stateDir),
      ),
    ).toEqual([]);
    expect(((await (await fetch(`${NOTES_URL}/notes`)).json()) as { version: string }).version).toBe("v2");

    expect(watched.code, `${watched.out}\n${watched.err}`).toBe(0);
    const shop = await status(`shop/${shopEnv}`);
    expect(shop.outcome).toBe("promoted");
    expect(shop.serving).toEqual({ version: "v1", artifactDigest: treeDigest(SHOP) });
    const products = await fetch(`${shop.endpoint}/api/products`);
    expect(products.status).toBe(200);
    expect(products.headers.get("x-shop-version")).toBe("v1");
  });

  it("a different artifact under a version label that exists is refused", { timeout: 200_000 }, async () => {
    const r = await deployNotes("v1", "v2");
    expect(r.code).toBe(1);
    const s = await status("notes/staging");
    expect(s.outcome).toBe("rolled-back");
    expect(String(s.outcomeReason)).toMatch(/notes v1 is already a release with different content/);
    // Refused at preflight, before any side effect: users stay on v2.
    expect(((await (await fetch(`${NOTES_URL}/notes`)).json()) as { version: string }).version).toBe("v2");
    expect(
      processesOfStack(
        localStackName({ service: "notes", environment: "staging", version: "v1" }, stack.stateDir),
      ),
    ).toEqual([]);
  });
});
