/**
 * The digests of a release's migrations, as a deployment carries them: each
 * file's sha256 and the bundle's digest over the files' names and digests,
 * in order. Pure JS, so the CLI that builds the bundle and the workflow that
 * checks it against the start's signature compute them the same way.
 */
import { sha256Hex } from "../signing/statements";
import type { MigrationBundle } from "./types";

/** The bundle of `files` (name and text, in file-name order), with their digests. */
export function migrationBundleOf(files: ReadonlyArray<{ file: string; content: string }>): MigrationBundle {
  const withDigests = files.map(({ file, content }) => ({ file, content, sha256: sha256Hex(content) }));
  return {
    files: withDigests,
    digest: sha256Hex(withDigests.map((f) => `${f.file} ${f.sha256}`).join("\n")),
  };
}
