/**
 * The file backend stores every blob with a `.attrs` sidecar (gocloud
 * fileblob: content type and metadata, written next to the blob). A `pulumi`
 * SIGKILLed while it saves a checkpoint can leave that sidecar empty or cut
 * short, and every later command on the stack then fails with "failed to load
 * checkpoint: EOF" — a crash that no retry can get past. A missing sidecar
 * is fine for fileblob (it means "no metadata"), so a torn one is removed.
 * Only `.attrs` files that do not parse are touched, never a checkpoint.
 */
import fs from "node:fs";
import path from "node:path";

function torn(file: string): boolean {
  try {
    const text = fs.readFileSync(file, "utf8");
    if (text.trim() === "") return true;
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

/** Removes torn `.attrs` sidecars of `stack`'s checkpoint, history and locks; returns the files removed. */
export function removeTornSidecars(backendDir: string, project: string, stack: string): string[] {
  const root = path.join(backendDir, ".pulumi");
  const dirs = [
    path.join(root, "stacks", project),
    path.join(root, "history", project, stack),
    path.join(root, "locks", "organization", project, stack),
  ];
  const removed: string[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir)) {
      if (!f.endsWith(".attrs")) continue;
      if (dir.endsWith(path.join("stacks", project)) && !f.startsWith(`${stack}.`)) continue;
      const file = path.join(dir, f);
      if (torn(file)) {
        fs.rmSync(file, { force: true });
        removed.push(file);
      }
    }
  }
  return removed;
}
