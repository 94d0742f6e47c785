// Every command loads what it runs only when it runs: `shipshape --help` and
// `shipshape validate` are run in every pipeline step and must not pay for
// the Temporal SDK, the database driver or the other commands' code.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";

/** Runs the CLI from its sources (tsx) and returns what it loaded: packages, and project files. */
function loadedBy(...args: string[]): { code: number | null; packages: string[]; files: string[] } {
  const script = `
    require("tsx/esm");
    require("tsx/cjs");
    const { main } = require(${JSON.stringify(path.join(PROJECT_ROOT, "cli", "main.ts"))});
    main(["node", "shipshape", ...${JSON.stringify(args)}]).then((code) => {
      process.stderr.write("\\nLOADED " + JSON.stringify(Object.keys(require.cache)) + "\\n");
      process.exitCode = code;
    });`;
  const r = spawnSync(process.execPath, ["-e", script], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", SHOP_DATABASE_URL: "" },
  });
  const line = /\nLOADED (.*)\n/.exec(r.stderr)?.[1];
  if (!line) throw new Error(`the CLI did not finish:\n${r.stdout}${r.stderr}`);
  const loaded = JSON.parse(line) as string[];
  const packages = new Set<string>();
  for (const file of loaded) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    if (pkg) packages.add(pkg);
  }
  const files = loaded
    .filter((f) => f.startsWith(PROJECT_ROOT) && !f.includes("node_modules"))
    .map((f) => path.relative(PROJECT_ROOT, f));
  return { code: r.status, packages: [...packages].sort(), files: files.sort() };
}

const HEAVY = [
  "@temporalio/client",
  "@temporalio/workflow",
  "@temporalio/common",
  "pg",
  "zod",
  "yaml",
  "ajv",
];

describe("commands load their code only when they run", () => {
  it("--help loads commander and the command declarations, nothing else", () => {
    const r = loadedBy("--help");
    expect(r.code).toBe(0);
    expect(r.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(r.files.filter((f) => f.startsWith("cli/actions/"))).toEqual([]);
    expect(r.files).toContain("cli/commands/deploy.ts");
  });

  it("validate loads the config loader, not the Temporal SDK, the database driver or other commands", () => {
    const r = loadedBy("validate", "examples/shop/shipshape.yaml");
    expect(r.code).toBe(0);
    expect(r.packages).toEqual(expect.arrayContaining(["zod", "yaml"]));
    expect(r.packages.filter((p) => p.startsWith("@temporalio/") || p === "pg")).toEqual([]);
    expect(r.files.filter((f) => f.startsWith("cli/actions/"))).toEqual(["cli/actions/validate.ts"]);
  });

  it("a command's --help loads nothing of what the command runs", () => {
    const r = loadedBy("deploy", "--help");
    expect(r.code).toBe(0);
    expect(r.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
    expect(r.files.filter((f) => f.startsWith("cli/actions/"))).toEqual([]);
  });
});
