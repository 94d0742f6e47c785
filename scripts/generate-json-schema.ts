// Writes schema/shipshape.schema.json from the zod schema in lib/config, so
// editors (yaml-language-server, VS Code) autocomplete and flag shipshape.yaml.
//   npm run schema            regenerate
//   npm run schema -- --check exit 1 if the committed file is out of date (CI)

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { releaseConfigJsonSchema } from "../lib/config/json-schema";

export const SCHEMA_FILE = join(__dirname, "..", "schema", "shipshape.schema.json");

export function renderJsonSchema(): string {
  return `${JSON.stringify(releaseConfigJsonSchema(), null, 2)}\n`;
}

function main(argv: string[]): number {
  const expected = renderJsonSchema();
  if (argv.includes("--check")) {
    const committed = existsSync(SCHEMA_FILE) ? readFileSync(SCHEMA_FILE, "utf8") : "";
    if (committed === expected) {
      console.log("schema/shipshape.schema.json is up to date");
      return 0;
    }
    console.error(
      committed === ""
        ? "schema/shipshape.schema.json is missing; run `npm run schema` and commit it"
        : "schema/shipshape.schema.json is out of date with lib/config/schema.ts; run `npm run schema` and commit it",
    );
    return 1;
  }
  mkdirSync(dirname(SCHEMA_FILE), { recursive: true });
  writeFileSync(SCHEMA_FILE, expected);
  console.log(`wrote ${SCHEMA_FILE}`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
