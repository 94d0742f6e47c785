// Length limits on what people type (who, why) and on names: refused by the
// CLI before anything is sent, with the field and the limit.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { releaseYaml, shipshape, tempRepo } from "./helpers";

const config = path.join(PROJECT_ROOT, "examples", "shop", "shipshape.yaml");

describe("length limits", () => {
  it("deploy refuses a reason over 1,000 characters and an --as over 100", async () => {
    const common = ["deploy", "--service", "shop", "--version", "v2", "--env", "staging", "--config", config];
    const reason = await shipshape(...common, "--reason", "x".repeat(1001));
    expect(reason.code).toBe(2);
    expect(reason.err).toContain("not deploying: reason is 1001 characters long; the limit is 1000");
    const as = await shipshape(...common, "--as", "a".repeat(101));
    expect(as.err).toContain("requestedBy (--as) is 101 characters long; the limit is 100");
  });

  it("controls refuse a --reason over the limit before connecting", async () => {
    const r = await shipshape("abort", "shop/staging", "--as", "bob", "--reason", "x".repeat(5000));
    expect(r.code).toBe(2);
    expect(r.err).toContain("abort: `reason` is 5000 characters long; the limit is 1000");
  });

  it("an environment name over 63 characters is a config error", async () => {
    const dir = tempRepo("names");
    const file = path.join(dir, "shipshape.yaml");
    fs.writeFileSync(file, releaseYaml().replace("  production:\n", `  ${"e".repeat(64)}:\n`));
    const r = await shipshape("validate", "--json", file);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(2);
    expect(r.out).toContain("is 64 characters long; names are at most 63");
  });
});
