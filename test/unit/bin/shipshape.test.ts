// The `shipshape` bin picks what to run: the built CLI when dist/ was built
// from exactly the sources beside it, the sources through tsx otherwise. Run
// on a small copy of the layout, with a dist/ and sources that say who answered.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inputStates, writeBuildStamp } from "../../../lib/runtime/build-stamp";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import { type TempTree, tempTree } from "../../support/temp-tree";

let tree: TempTree;
let root: string;
const write = (rel: string, text: string) => tree.write(rel, text);

const mainAnswering = (who: string) =>
  `export async function main(argv: string[]) { console.log("${who}", argv.slice(2).join(" ")); return 3; }\n`;

/** dist/ as `npm run build` leaves it: the stamp module compiled, a main, the stamp. */
function build(): void {
  const stampSource = fs.readFileSync(path.join(PROJECT_ROOT, "lib/runtime/build-stamp.ts"), "utf8");
  const inputs = inputStates(root, "compiled");
  write(
    "dist/lib/runtime/build-stamp.js",
    ts.transpileModule(stampSource, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    }).outputText,
  );
  write(
    "dist/cli/main.js",
    'exports.main = async (argv) => { console.log("dist", argv.slice(2).join(" ")); return 3; };\n',
  );
  writeBuildStamp(root, "compiled", inputs);
}

function shipshape(env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(root, "bin/shipshape.cjs"), "validate", "x.yaml"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, SHIPSHAPE_FROM_SOURCE: "", ...env },
  });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
}

beforeEach(() => {
  tree = tempTree("bin-");
  root = tree.root;
  write("bin/shipshape.cjs", fs.readFileSync(path.join(PROJECT_ROOT, "bin/shipshape.cjs"), "utf8"));
  fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(root, "node_modules"));
  write("tsconfig.json", "{}\n");
  write("tsconfig.build.json", JSON.stringify({ include: ["cli", "lib"] }));
  write("cli/main.ts", mainAnswering("source"));
  write("lib/names.ts", 'export const TASK_QUEUE = "shipshape";\n');
});

afterEach(() => tree.remove());

describe("bin/shipshape.cjs", () => {
  it("runs the built CLI when dist/ is current, passing the arguments and the exit code through", () => {
    build();
    expect(shipshape()).toMatchObject({ code: 3, stdout: "dist validate x.yaml" });
  });

  it("never runs a stale dist/: a source changed since the build runs from the sources", () => {
    build();
    write("lib/names.ts", 'export const TASK_QUEUE = "edited";\n');
    expect(shipshape()).toMatchObject({ code: 3, stdout: "source validate x.yaml" });
    write("cli/main.ts", mainAnswering("edited source"));
    expect(shipshape().stdout).toBe("edited source validate x.yaml");
  });

  it("runs the sources when dist/ was never built, or when SHIPSHAPE_FROM_SOURCE=1 asks", () => {
    expect(shipshape()).toMatchObject({ code: 3, stdout: "source validate x.yaml", stderr: "" });
    build();
    expect(shipshape({ SHIPSHAPE_FROM_SOURCE: "1" }).stdout).toBe("source validate x.yaml");
  });

  it("says to run `npm run build` when dist/ cannot be used and tsx is not installed", () => {
    build();
    write("lib/names.ts", "export {};\n");
    fs.rmSync(path.join(root, "node_modules"));
    const r = shipshape();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "dist/cli/main.js cannot be used (lib/names.ts changed since the last build) and tsx is not installed: run `npm run build`",
    );
  });
});
