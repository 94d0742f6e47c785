/**
 * The shop's schema history as the demo's versions ship it. A release carries
 * its migrations folder: before each deployment the demo stages that version's
 * folder beside its release config (the way a CI checkout of the version
 * would), and the deployment carries the files in its input
 * (client/release-input.ts). Additive changes only: the sample shop's queries
 * stay valid on every version's schema.
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../lib/runtime/paths";

const SHOP = path.join(PROJECT_ROOT, "examples", "shop");

const RATING = `description: products get an optional rating (shop v2)
operations:
  - add_column:
      table: products
      column: { name: rating, type: integer, nullable: true }
`;
const BADGE = `description: products get an optional badge (shop v3)
operations:
  - add_column:
      table: products
      column: { name: badge, type: text, nullable: true }
`;
const TAGS = `description: products get optional tags (shop v4)
operations:
  - add_column:
      table: products
      column: { name: tags, type: text, nullable: true }
`;

/** Folder contents per version: file name → YAML text (or a file to copy). */
const FOLDERS: Record<string, Record<string, { text?: string; copy?: string }>> = {
  v1: { "0001_initial.yaml": { copy: path.join(SHOP, "migrations", "0001_initial.yaml") } },
  v2: { "0002_product_rating.yaml": { text: RATING } },
  v3: { "0002_product_rating.yaml": { text: RATING }, "0003_product_badge.yaml": { text: BADGE } },
  // v3': the failing migration of examples/shop/migrations-failing (fails midway through start)
  v3b: {
    "0002_product_rating.yaml": { text: RATING },
    "0003_barcode.yaml": { copy: path.join(SHOP, "migrations-failing", "0003_barcode.yaml") },
  },
  v4: { "0002_product_rating.yaml": { text: RATING }, "0003_product_tags.yaml": { text: TAGS } },
};

/** The migration each version adds (what expand starts and contract/rollback finishes). */
export const NEW_MIGRATION: Record<string, string> = {
  v1: "0001_initial",
  v2: "0002_product_rating",
  v3: "0003_product_badge",
  v3b: "0003_barcode",
  v4: "0003_product_tags",
};

/** Replaces `dir`'s contents with `version`'s migrations folder. */
export function stageMigrations(dir: string, version: string): void {
  const files = FOLDERS[version];
  if (!files) throw new Error(`no migrations folder for ${version}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const all = { ...(version === "v1" ? {} : FOLDERS.v1), ...files };
  for (const [name, f] of Object.entries(all)) {
    const text = f.copy ? fs.readFileSync(f.copy, "utf8") : (f.text ?? "");
    fs.writeFileSync(path.join(dir, name), text);
  }
}
