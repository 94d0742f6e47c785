/**
 * What an artifact of the local target is, and its content digest. An
 * artifact is a folder or a gzipped tarball (`.tar.gz` / `.tgz`); both are
 * identified by the digest of the file tree they hold, so a folder and the
 * tarball built from it have the same digest, and so does the release folder
 * the worker unpacks them into.
 *
 * Tree digest: sha256 over one line per entry in byte order of the relative
 * path — `D <path>` for a folder, `F <path> <x|-> <sha256 of the content>`
 * for a file (x: executable), `L <path> <target>` for a symlink — written
 * `sha256:<hex>`.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tar from "tar";

export type ArtifactKind = "folder" | "tarball";

const TARBALL = /\.(tar\.gz|tgz)$/i;

/** The kind of artifact at `file`, or a sentence saying why it is not one. */
export function artifactKind(file: string): { kind: ArtifactKind } | { problem: string; missing: boolean } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return { problem: `artifact ${file} does not exist`, missing: true };
  }
  if (stat.isDirectory()) return { kind: "folder" };
  if (stat.isFile() && TARBALL.test(file)) return { kind: "tarball" };
  return {
    problem: `artifact ${file} is neither a folder nor a .tar.gz/.tgz file (the local target runs a version from a folder)`,
    missing: false,
  };
}

function fileSha256(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 16);
    for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** The tree digest of a folder (see the header). */
export function treeDigest(root: string): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    const names = fs.readdirSync(path.join(root, rel)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs);
      if (st.isSymbolicLink()) lines.push(`L ${r} ${fs.readlinkSync(abs)}`);
      else if (st.isDirectory()) {
        lines.push(`D ${r}`);
        walk(r);
      } else if (st.isFile()) lines.push(`F ${r} ${st.mode & 0o111 ? "x" : "-"} ${fileSha256(abs)}`);
    }
  };
  walk("");
  return `sha256:${createHash("sha256").update(lines.join("\n")).digest("hex")}`;
}

/** Unpacks a gzipped tarball into `dir` (created); entries never land outside it. */
export async function unpackTarball(file: string, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  // strict: a corrupt archive is an error, not a partial tree; tar refuses absolute
  // paths and `..` by default (preservePaths: false).
  await tar.x({ file, cwd: dir, strict: true, preserveOwner: false });
}

/**
 * Copies a folder into `dir`. Symlinks are followed, so the copy holds every
 * file the artifact refers to and nothing outside it is needed at run time.
 */
export function copyFolder(source: string, dir: string): void {
  fs.cpSync(source, dir, { recursive: true, dereference: true, errorOnExist: true, force: false });
}

/** The content digest of an artifact, unpacking a tarball into a temporary folder to read it. */
export async function artifactDigest(file: string): Promise<string> {
  const k = artifactKind(file);
  if (!("kind" in k)) throw new Error(k.problem);
  if (k.kind === "folder") return treeDigestOfCopy(file);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-artifact-"));
  try {
    await unpackTarball(file, tmp);
    return treeDigest(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The digest a folder will have once copied (symlinks followed): the same
 * walk, reading through links, so the CLI and the release folder agree.
 */
function treeDigestOfCopy(root: string): string {
  const hasLinks = (dir: string): boolean =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .some((e) => (e.isSymbolicLink() ? true : e.isDirectory() ? hasLinks(path.join(dir, e.name)) : false));
  if (!hasLinks(root)) return treeDigest(root);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "shipshape-artifact-"));
  try {
    const copy = path.join(tmp, "app");
    copyFolder(root, copy);
    return treeDigest(copy);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
