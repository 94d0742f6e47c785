import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inputStates, writeBuildStamp } from "../../../lib/runtime/build-stamp";
import { chooseWorkflowCode } from "../../../workers/workflow-bundle";
import { type TempTree, tempTree } from "../../support/temp-tree";

let tree: TempTree;
let root: string;
const write = (rel: string, text: string) => tree.write(rel, text);

/** What `npm run build` does for the bundle: digest the inputs, write the bundle, record it. */
function buildBundle(): void {
  const inputs = inputStates(root, "workflowBundle");
  write("dist/workflow-bundle.js", "/* bundle */\n");
  writeBuildStamp(root, "workflowBundle", inputs);
}

beforeEach(() => {
  tree = tempTree("workflow-bundle-");
  root = tree.root;
  write("workflows/index.ts", 'export * from "./deployment";\n');
  write("workflows/deployment/run.ts", "export const step = 1;\n");
  write("lib/analysis/judges.ts", "export const judge = 1;\n");
  write("activities/deploy.ts", "export const activity = 1;\n");
  write("package-lock.json", '{ "lockfileVersion": 3 }\n');
});

afterEach(() => tree.remove());

describe("the workflow code a worker runs", () => {
  it("is the prebuilt bundle when it was built from exactly these workflow sources", () => {
    buildBundle();
    expect(chooseWorkflowCode({}, root)).toEqual({
      bundle: path.join(root, "dist/workflow-bundle.js"),
      why: "current build of the sources",
    });
  });

  it("is bundled from the sources when a workflow, a pure lib module or the lock file changed", () => {
    buildBundle();
    write("workflows/deployment/run.ts", "export const step = 2;\n");
    expect(chooseWorkflowCode({}, root)).toEqual({
      bundle: undefined,
      why: "dist/workflow-bundle.js cannot be used: workflows/deployment/run.ts changed since the last build",
    });
    buildBundle();
    write("lib/analysis/judges.ts", "export const judge = 2;\n");
    expect(chooseWorkflowCode({}, root).bundle).toBeUndefined();
    buildBundle();
    write("package-lock.json", '{ "lockfileVersion": 3, "packages": {} }\n');
    expect(chooseWorkflowCode({}, root).why).toContain("package-lock.json changed");
  });

  it("stays the prebuilt bundle when only non-workflow code changed", () => {
    buildBundle();
    write("activities/deploy.ts", "export const activity = 2;\n");
    expect(chooseWorkflowCode({}, root).bundle).toBe(path.join(root, "dist/workflow-bundle.js"));
  });

  it("is bundled from the sources when no bundle was built", () => {
    expect(chooseWorkflowCode({}, root)).toEqual({
      bundle: undefined,
      why: "dist/workflow-bundle.js cannot be used: it was never built",
    });
  });

  it("is the bundle SHIPSHAPE_WORKFLOW_BUNDLE names, whoever built it", () => {
    expect(chooseWorkflowCode({ SHIPSHAPE_WORKFLOW_BUNDLE: "/tmp/test-bundle.js" }, root)).toEqual({
      bundle: "/tmp/test-bundle.js",
      why: "SHIPSHAPE_WORKFLOW_BUNDLE",
    });
  });
});
