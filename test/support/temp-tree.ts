import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TempTree {
  root: string;
  /** Writes `text` at `rel` (relative to the root), creating the folders. */
  write(rel: string, text: string): void;
  remove(): void;
}

/** A throwaway project layout under the OS temp folder, for code that reads a project root. */
export function tempTree(prefix: string): TempTree {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    root,
    write(rel, text) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    },
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
