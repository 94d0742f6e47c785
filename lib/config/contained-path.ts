// Files a release config names stay inside the config's repository: the path
// is resolved with realpath (so a symlink cannot point outside) and compared
// with the repository root — the nearest folder above the config holding
// `.git`, or the config's own folder when there is none. Without this,
// `appConfig: ../../../etc/shadow` would be read and its values reported.

import { existsSync, realpathSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";

/** The config's repository root (realpath). */
export function repositoryRoot(configDir: string): string {
  const start = realpathSync(configDir);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git"))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export type ContainedPath =
  | { ok: true; absolute: string; real?: string }
  | { ok: false; absolute: string; real: string; root: string };

/**
 * Where `ref` (relative to `baseDir`) really is. A path that does not exist
 * is judged by its text (missing files are reported elsewhere).
 */
export function containedPath(ref: string, baseDir: string, root = repositoryRoot(baseDir)): ContainedPath {
  const absolute = resolve(baseDir, ref);
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    // Missing: compare the text, with the base folder's own symlinks resolved.
    real = resolve(realpathSync(baseDir), ref);
  }
  return isInside(root, real) ? { ok: true, absolute, real } : { ok: false, absolute, real, root };
}

/** The sentence for a refused path. */
export function outsideMessage(what: string, ref: string, c: { real: string; root: string }): string {
  return `${what} ${JSON.stringify(ref)} resolves to ${c.real}, outside the config's repository ${c.root}`;
}
