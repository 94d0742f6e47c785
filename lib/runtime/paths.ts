import os from "node:os";
import path from "node:path";

/**
 * Where Shipshape keeps things.
 *
 * Toolchain binaries live in a user-level cache OUTSIDE the clone, so CI's fresh
 * clone on the same machine (and every later clone) reuses a Pulumi build that
 * takes minutes. Runtime state (Temporal SQLite file, Pulumi file backend,
 * PostgreSQL data, logs) lives in the git-ignored `.shipshape/` of the clone.
 */
export const PROJECT_ROOT = path.resolve(
  __dirname,
  // Built by `npm run build`, this file runs from dist/lib/runtime/paths.js: one level deeper.
  ...(path.extname(__filename) === ".js" ? ["..", "..", ".."] : ["..", ".."]),
);

/** Where `npm run build` writes the compiled product and the workflow bundle (git-ignored). */
export const BUILD_DIR = path.join(PROJECT_ROOT, "dist");

export function toolchainCacheDir(): string {
  if (process.env.SHIPSHAPE_CACHE_DIR) return path.resolve(process.env.SHIPSHAPE_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "shipshape");
}

export function toolchainManifestPath(): string {
  return path.join(toolchainCacheDir(), "toolchain.json");
}

export function stateDir(): string {
  return path.resolve(process.env.SHIPSHAPE_STATE_DIR || path.join(PROJECT_ROOT, ".shipshape"));
}
