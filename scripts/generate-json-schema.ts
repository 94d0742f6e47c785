// Writes schema/shipshape.schema.json from the zod schema in lib/config, so
// editors (yaml-language-server, VS Code) autocomplete and flag shipshape.yaml,
// and schema/notification.schema.json (the notification payload receivers get,
// lib/notifications/payload.ts).
//   npm run schema            regenerate
//   npm run schema -- --check exit 1 if the committed file is out of date (CI)

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { releaseConfigJsonSchema } from "../lib/config/json-schema";
import { notificationJsonSchema } from "../lib/notifications/payload";

export const SCHEMA_FILE = join(__dirname, "..", "schema", "shipshape.schema.json");
export const NOTIFICATION_SCHEMA_FILE = join(__dirname, "..", "schema", "notification.schema.json");

export function renderJsonSchema(): string {
  return `${JSON.stringify(releaseConfigJsonSchema(), null, 2)}\n`;
}

export function renderNotificationSchema(): string {
  return `${JSON.stringify(notificationJsonSchema(), null, 2)}\n`;
}

const OUTPUTS = [
  {
    file: SCHEMA_FILE,
    name: "schema/shipshape.schema.json",
    source: "lib/config/schema.ts",
    render: renderJsonSchema,
  },
  {
    file: NOTIFICATION_SCHEMA_FILE,
    name: "schema/notification.schema.json",
    source: "lib/notifications/payload.ts",
    render: renderNotificationSchema,
  },
];

function main(argv: string[]): number {
  if (argv.includes("--check")) {
    let status = 0;
    for (const out of OUTPUTS) {
      const committed = existsSync(out.file) ? readFileSync(out.file, "utf8") : "";
      if (committed === out.render()) {
        console.log(`${out.name} is up to date`);
        continue;
      }
      console.error(
        committed === ""
          ? `${out.name} is missing; run \`npm run schema\` and commit it`
          : `${out.name} is out of date with ${out.source}; run \`npm run schema\` and commit it`,
      );
      status = 1;
    }
    return status;
  }
  for (const out of OUTPUTS) {
    mkdirSync(dirname(out.file), { recursive: true });
    writeFileSync(out.file, out.render());
    console.log(`wrote ${out.file}`);
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
