// Files a release config names (app config files, schemas, the migrations
// folder, signers) are resolved with realpath and must stay inside the
// config's repository; outside ones are refused without being read, and the
// worker reads a deployment's config file only inside the folders it serves.
import fs from "node:fs";
import path from "node:path";
import { MockActivityEnvironment } from "@temporalio/testing";
import { afterAll, describe, expect, it } from "vitest";
import { createActivities } from "../../activities";
import { loadReleaseConfig } from "../../lib/config";
import { releaseConfig } from "../support/deployment-harness";
import { createFakes } from "../support/fakes";
import { releaseYaml, shipshape, tempRepo } from "./helpers";

const repo = tempRepo("traversal");
const outside = tempRepo("outside");
// A file with "secrets" outside the repository, as /etc/… would be.
const OUTSIDE_VALUE = "outside-secret-9d2e";
fs.writeFileSync(path.join(outside, "creds.json"), JSON.stringify({ password: OUTSIDE_VALUE }));
fs.writeFileSync(
  path.join(outside, "strict.schema.json"),
  JSON.stringify({ type: "object", additionalProperties: false }),
);
fs.mkdirSync(path.join(outside, "migrations"));
fs.writeFileSync(path.join(repo, "app.json"), '{"port": 8080}\n');
const relOutside = path.relative(repo, outside);

afterAll(() => {
  fs.rmSync(repo, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

function config(name: string, appConfig: string, database = ""): string {
  const file = path.join(repo, name);
  fs.writeFileSync(file, releaseYaml(`${database}appConfig:\n${appConfig}`));
  return file;
}

describe("file references stay inside the config's repository", () => {
  it("refuses an appConfig file reached with ../ without reading it", async () => {
    const file = config(
      "dotdot.yaml",
      `  - file: ${relOutside}/creds.json\n    schema: ${relOutside}/strict.schema.json\n`,
    );
    const r = await shipshape("validate", "--json", file);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.out) as { problems: Array<{ code: string; path: string; message: string }> };
    expect(report.problems.map((p) => p.code)).toContain("path-outside-repository");
    expect(report.problems.find((p) => p.path === "appConfig[0].file")?.message).toContain(
      "outside the config's repository",
    );
    expect(r.out).not.toContain(OUTSIDE_VALUE);
    // Nothing from the outside schema was applied to the outside file.
    expect(report.problems.some((p) => p.code === "app-config-schema")).toBe(false);
  });

  it("refuses a symlink inside the repository that points outside", async () => {
    fs.symlinkSync(path.join(outside, "creds.json"), path.join(repo, "linked.json"));
    const file = config("symlink.yaml", "  - file: ./linked.json\n");
    const result = await loadReleaseConfig(file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const p = result.problems.find((x) => x.code === "path-outside-repository");
    expect(p?.message).toContain(fs.realpathSync(path.join(outside, "creds.json")));
    expect(JSON.stringify(result.problems)).not.toContain(OUTSIDE_VALUE);
  });

  it("refuses a migrations folder outside the repository", async () => {
    const file = config(
      "migrations.yaml",
      "  - file: ./app.json\n",
      `database:\n  url: postgres://x/y\n  migrations: ${outside}/migrations\n`,
    );
    const result = await loadReleaseConfig(file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => `${p.path} ${p.code}`)).toContain(
      "database.migrations path-outside-repository",
    );
  });

  it("the worker's preflight reads a config only inside the folders it serves", async () => {
    const fakes = createFakes();
    const activities = createActivities({ ...fakes.deps, env: { SHIPSHAPE_CONFIG_ROOTS: repo } });
    const env = new MockActivityEnvironment();
    const key = {
      deploymentId: "d1",
      service: "shop",
      environment: "production",
      version: "v2",
      target: { kind: "local" as const, healthPath: "/health" },
    };
    const outsideFile = path.join(outside, "creds.json");
    await expect(
      env.run(activities.preflightDeployment, {
        key,
        artifact: "shop-v2.tgz",
        config: releaseConfig(),
        configPath: outsideFile,
      }),
    ).rejects.toThrow(/not a \.yaml file inside the folders this worker serves/);
  });
});
