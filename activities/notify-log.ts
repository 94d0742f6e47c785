/**
 * A Notifier that writes one line per event (worker log / stdout), and an
 * ArtifactStore for local artifacts (a path, relative to a root). Keyed
 * notifications are sent once per process (a retried activity does not
 * print twice; a new worker may print a line again — at-least-once, which
 * is all a log can promise).
 */
import fs from "node:fs";
import path from "node:path";
import type { ArtifactStore } from "../lib/drivers/artifact-store";
import type { Notifier } from "../lib/drivers/notifier";

export function createLogNotifier(
  write: (line: string) => void = (l) => console.log(l),
  maxKeys = 10_000,
): Notifier {
  const sent = new Set<string>();
  return {
    async send(m) {
      if (sent.has(m.key)) return { sent: false };
      if (sent.size >= maxKeys) sent.clear();
      sent.add(m.key);
      write(`[shipshape] ${m.deploymentId} ${m.event}: ${m.text}`);
      return { sent: true };
    },
  };
}

/** `file:<path>` or a plain path, relative to `root`; anything with a URL scheme other than file: is not local. */
export function createLocalArtifactStore(root: string): ArtifactStore {
  return {
    async exists(artifact) {
      const p = artifact.startsWith("file:") ? artifact.slice(5) : artifact;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return false;
      return fs.existsSync(path.resolve(root, p));
    },
  };
}
