/**
 * Digests a start signature covers: what is deployed and the migration files.
 * A file digests to the sha256 of its bytes; a folder to the sha256 of the
 * canonical list of its files (relative path and sha256 each), so a change
 * to any file, or a file added or removed, changes it.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { canonicalJson } from "../lib/config/canonical-json";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function filesUnder(root: string, rel = ""): Array<{ path: string; sha256: string }> {
  const out: Array<{ path: string; sha256: string }> = [];
  for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
    const relPath = rel ? `${rel}/${name}` : name;
    const stat = fs.statSync(path.join(root, relPath));
    if (stat.isDirectory()) out.push(...filesUnder(root, relPath));
    else if (stat.isFile())
      out.push({ path: relPath, sha256: sha256(fs.readFileSync(path.join(root, relPath))) });
  }
  return out;
}

/** The digest of a file or folder, or "" when there is nothing at `p` (a remote artifact, no migrations). */
export function pathDigest(p: string): string {
  if (!fs.existsSync(p)) return "";
  const stat = fs.statSync(p);
  if (stat.isFile()) return sha256(fs.readFileSync(p));
  return sha256(canonicalJson(filesUnder(p)));
}
