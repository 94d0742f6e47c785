import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderJsonSchema, SCHEMA_FILE } from "../../../scripts/generate-json-schema";

describe("committed JSON Schema", () => {
  it("equals the one generated from the zod schema", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(renderJsonSchema());
  });

  it("`npm run schema -- --check` passes on the committed file", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/generate-json-schema.ts", "--check"], {
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("up to date");
    expect(r.status).toBe(0);
  });

  it("lets an editor accept the valid configs and flag typos", () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")));
    for (const file of ["examples/shop/shipshape.yaml", "test/fixtures/configs/valid/design-sketch.yaml"]) {
      expect(validate(parse(readFileSync(file, "utf8"))), JSON.stringify(validate.errors)).toBe(true);
    }
    const typo = parse(readFileSync("test/fixtures/configs/broken/06-unknown-step-key.yaml", "utf8"));
    expect(validate(typo)).toBe(false);
    const badDuration = parse(readFileSync("test/fixtures/configs/broken/22-duration-bad-unit.yaml", "utf8"));
    expect(validate(badDuration)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain("pattern");
  });
});
