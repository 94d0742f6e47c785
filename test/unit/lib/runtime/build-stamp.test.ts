import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inputStates, staleness, writeBuildStamp } from "../../../../lib/runtime/build-stamp";
import { type TempTree, tempTree } from "../../../support/temp-tree";

let tree: TempTree;
let root: string;
const write = (rel: string, text: string) => tree.write(rel, text);

/** What `npm run build` records: the inputs digested, then the artifact written. */
function build(): void {
  const inputs = inputStates(root, "compiled");
  write("dist/cli/main.js", "exports.main = async () => 0;\n");
  writeBuildStamp(root, "compiled", inputs);
}

beforeEach(() => {
  tree = tempTree("build-stamp-");
  root = tree.root;
  write("tsconfig.json", "{}\n");
  write("tsconfig.build.json", JSON.stringify({ include: ["cli", "lib"] }));
  write("cli/main.ts", "export async function main() { return 0; }\n");
  write("lib/names.ts", 'export const TASK_QUEUE = "shipshape";\n');
  write("lib/README.md", "# lib\n");
});

afterEach(() => tree.remove());

describe("build stamp", () => {
  it("an output never built cannot be used", () => {
    expect(staleness(root, "compiled")).toBe("it was never built");
  });

  it("an artifact without a record in the stamp cannot be used", () => {
    write("dist/cli/main.js", "exports.main = async () => 0;\n");
    expect(staleness(root, "compiled")).toBe("dist/build-stamp.json has no record of it");
  });

  it("is current right after the build, also when a file is touched without a change", () => {
    build();
    expect(staleness(root, "compiled")).toBeNull();
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(root, "lib/names.ts"), later, later);
    expect(staleness(root, "compiled")).toBeNull();
  });

  it("reads a file again when its stat changed, so an edit of the same size is seen", () => {
    build();
    write("lib/names.ts", 'export const TASK_QUEUE = "shipshapf";\n');
    expect(staleness(root, "compiled")).toBe("lib/names.ts changed since the last build");
  });

  it("names the source that changed, appeared or went away since the build", () => {
    build();
    write("lib/names.ts", 'export const TASK_QUEUE = "other";\n');
    expect(staleness(root, "compiled")).toBe("lib/names.ts changed since the last build");
    build();
    write("cli/new-command.ts", "export {};\n");
    expect(staleness(root, "compiled")).toBe("cli/new-command.ts is new since the last build");
    build();
    fs.rmSync(path.join(root, "lib/names.ts"));
    expect(staleness(root, "compiled")).toBe("lib/names.ts was removed since the last build");
  });

  it("counts every difference, and the build config itself is an input", () => {
    build();
    write("tsconfig.build.json", JSON.stringify({ include: ["cli", "lib"], compilerOptions: {} }));
    write("lib/names.ts", "export {};\n");
    write("cli/main.ts", "export {};\n");
    expect(staleness(root, "compiled")).toBe("cli/main.ts changed (and 2 more files) since the last build");
  });

  it("ignores documentation and folders tsc does not compile", () => {
    build();
    write("lib/README.md", "# lib, reworded\n");
    write("scripts/demo.ts", "export {};\n");
    expect(staleness(root, "compiled")).toBeNull();
  });

  it("trusts an installed build that ships without its sources", () => {
    build();
    fs.rmSync(path.join(root, "cli"), { recursive: true });
    fs.rmSync(path.join(root, "lib"), { recursive: true });
    expect(staleness(root, "compiled")).toBeNull();
  });
});
