import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkSource, checkTree, formatViolation, isPureLib } from "../../../scripts/check-layers";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..", "..");

describe("check-layers", () => {
  it("reports infra/ importing scripts/ with file:line and the rule", () => {
    const text = [
      'import fs from "node:fs";',
      'import { stateDir } from "../../scripts/toolchain/locations";',
      "",
    ].join("\n");
    const [v, ...more] = checkSource("infra/local/driver.ts", text);
    expect(more).toEqual([]);
    expect(v).toMatchObject({ file: "infra/local/driver.ts", line: 2, rule: "no-scripts" });
    expect(formatViolation(v!)).toMatch(/^infra\/local\/driver\.ts:2:\d+ no-scripts: /);
  });

  it("keeps workflow code on @temporalio/workflow, workflows/ and pure lib/ modules", () => {
    const text = [
      'import { sleep } from "@temporalio/workflow";',
      'import type { Activities } from "../../activities";',
      'import { judgeAll } from "../../lib/analysis/judges";',
      'import { SA } from "../../lib/search-attributes";',
      'import { Saga } from "./saga";',
      'import fs from "node:fs";',
      'import { stateDir } from "../../lib/runtime/paths";',
      'import { createActivities } from "../../activities";',
      'import { Client } from "@temporalio/client";',
      'import { loadReleaseConfig } from "../../lib/config/load";',
      'const later = () => import("../../infra/local/driver");',
    ].join("\n");
    const found = checkSource("workflows/deployment/workflow.ts", text);
    expect(found.map((v) => [v.line, v.rule])).toEqual([
      [6, "workflow-imports"],
      [7, "workflow-imports"],
      [8, "workflow-imports"],
      [9, "workflow-imports"],
      [10, "workflow-imports"],
      [11, "workflow-imports"],
    ]);
  });

  it("keeps the pure lib/ modules pure, so what workflows pull in stays pure", () => {
    expect(isPureLib("lib/config/schema")).toBe(true);
    expect(isPureLib("lib/analysis")).toBe(true);
    expect(isPureLib("lib/config/load")).toBe(false);
    expect(isPureLib("lib/runtime/paths")).toBe(false);
    const found = checkSource(
      "lib/analysis/judges.ts",
      'import { z } from "zod";\nimport { readFileSync } from "node:fs";\nimport type { X } from "../runtime/paths";\n',
    );
    expect(found.map((v) => [v.line, v.rule])).toEqual([[2, "pure-lib"]]);
  });

  it("lets only the dev and demo commands, scripts/, test/ and bench/ import dev/", () => {
    const text = 'import { startLocalStack } from "../../dev/stack/local-stack";\n';
    expect(checkSource("cli/commands/dev.ts", text)).toEqual([]);
    expect(checkSource("cli/commands/demo.ts", text)).toEqual([]);
    expect(checkSource("test/support/x.ts", 'import { a } from "../../dev/stack/local-stack";')).toEqual([]);
    expect(checkSource("scripts/demo/full.ts", text)).toEqual([]);
    expect(checkSource("cli/commands/deploy.ts", text).map((v) => v.rule)).toEqual(["dev-tooling"]);
    expect(checkSource("infra/local/x.ts", text).map((v) => v.rule)).toEqual(["dev-tooling"]);
    expect(
      checkSource("client/start.ts", 'import { a } from "../dev/stack/local-stack";').map((v) => v.rule),
    ).toEqual(["dev-tooling"]);
  });

  it("keeps Temporal worker and client code out of lib/", () => {
    const found = checkSource(
      "lib/config/load.ts",
      'import { Worker } from "@temporalio/worker";\nimport { Client } from "@temporalio/client";\n',
    );
    expect(found.map((v) => [v.line, v.rule])).toEqual([
      [1, "lib-no-sdk"],
      [2, "lib-no-sdk"],
    ]);
  });

  it("fails the command with the report on a tree that breaks a rule", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "check-layers-"));
    try {
      fs.mkdirSync(path.join(root, "activities"), { recursive: true });
      fs.writeFileSync(
        path.join(root, "activities", "bad.ts"),
        '// a side effect module\nimport { run } from "../scripts/demo";\n',
      );
      const r = spawnSync(
        path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"),
        [path.join(PROJECT_ROOT, "scripts", "check-layers.ts"), "--root", root],
        { encoding: "utf8" },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /^activities\/bad\.ts:2:\d+ no-scripts: activities\/ imports "\.\.\/scripts\/demo"/m,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("passes on this repository", () => {
    expect(checkTree(PROJECT_ROOT).violations.map(formatViolation)).toEqual([]);
  });
});
