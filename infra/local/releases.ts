/**
 * The local target's artifact store: every version of a service runs from its
 * own immutable release folder, `<state>/releases/<service>/<version>/app`,
 * copied or unpacked once from the deployment's artifact (a folder or a
 * .tar.gz/.tgz), with `release.json` recording where it came from and its
 * content digest. A release is never rewritten: staging the same artifact
 * again is a no-op, a different artifact under the same version label is
 * refused, and content that differs from the digest the requester saw is
 * refused too. Releases are kept after a version is decommissioned, so a
 * rollback or a redeploy runs exactly the same files.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  artifactDigest,
  artifactKind,
  copyFolder,
  treeDigest,
  unpackTarball,
} from "../../lib/artifacts/content";
import { ArtifactError, type ArtifactStore, type StagedArtifact } from "../../lib/drivers/artifact-store";
import type { VersionEnvironmentRef } from "../../lib/drivers/common";

interface ReleaseRecord {
  service: string;
  version: string;
  digest: string;
  source: string;
  stagedAt: string;
}

/** A version label as a folder name: itself when safe, else a readable part and a hash. */
function labelFolder(version: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(version)) return version;
  const readable = version.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 60);
  return `${readable}-${Buffer.from(version).toString("hex").slice(0, 16)}`;
}

export function releaseDir(stateDir: string, service: string, version: string): string {
  return path.join(stateDir, "releases", service, labelFolder(version));
}

function readRecord(dir: string): ReleaseRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "release.json"), "utf8")) as ReleaseRecord;
  } catch {
    return undefined;
  }
}

function sourcePath(artifact: string): string {
  return path.resolve(artifact.startsWith("file:") ? artifact.slice(5) : artifact);
}

/** An existing release of the label: the same artifact is reused, another one refused. */
function reuse(
  ref: VersionEnvironmentRef,
  record: ReleaseRecord,
  dir: string,
  wanted: { digest: string | null; source: string },
): StagedArtifact {
  if (wanted.digest && wanted.digest !== record.digest) {
    throw new ArtifactError(
      "conflict",
      `${ref.service} ${ref.version} is already a release with different content (${record.digest}, from ${record.source}); ` +
        `${wanted.source} is ${wanted.digest}. A version label names one artifact: deploy this one under a new version`,
    );
  }
  return { location: path.join(dir, "app"), digest: record.digest };
}

async function stageInto(tmp: string, source: string): Promise<void> {
  const kind = artifactKind(source);
  if (!("kind" in kind)) throw new ArtifactError(kind.missing ? "missing" : "unsupported", kind.problem);
  if (kind.kind === "folder") copyFolder(source, path.join(tmp, "app"));
  else {
    try {
      await unpackTarball(source, path.join(tmp, "app"));
    } catch (err) {
      throw new ArtifactError("invalid", `artifact ${source} cannot be unpacked: ${(err as Error).message}`);
    }
  }
}

/**
 * Lets every user read and enter the release (a+rX): instances of a worker
 * running as root run as an unprivileged user (instance-user.ts), and a
 * release is code, not a place for secrets. Execute bits stay as they were
 * (the content digest records them).
 */
function makeReadable(dir: string): void {
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    fs.chmodSync(dir, (st.mode & 0o7777) | 0o555);
    for (const entry of fs.readdirSync(dir)) makeReadable(path.join(dir, entry));
  } else fs.chmodSync(dir, (st.mode & 0o7777) | 0o444 | (st.mode & 0o100 ? 0o011 : 0));
}

export function createLocalReleaseStore(options: { stateDir: string }): ArtifactStore {
  return {
    async stage(ref, artifact, expectedDigest) {
      const source = sourcePath(artifact);
      const dir = releaseDir(options.stateDir, ref.service, ref.version);
      const existing = readRecord(dir);
      if (existing) {
        // Without the requester's digest, the source (while it exists) says which content is meant;
        // once it is gone (a rollback long after), the release itself is what runs.
        const wanted =
          expectedDigest ?? ("kind" in artifactKind(source) ? await artifactDigest(source) : null);
        return reuse(ref, existing, dir, { digest: wanted, source });
      }
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      const tmp = `${dir}.staging-${process.pid}-${randomBytes(4).toString("hex")}`;
      try {
        await stageInto(tmp, source);
        makeReadable(path.join(tmp, "app"));
        const digest = treeDigest(path.join(tmp, "app"));
        if (expectedDigest && digest !== expectedDigest) {
          throw new ArtifactError(
            "changed",
            `artifact ${source} is ${digest} now, but the deployment was requested for ${expectedDigest}: it changed in between; deploy again`,
          );
        }
        const record: ReleaseRecord = {
          service: ref.service,
          version: ref.version,
          digest,
          source,
          stagedAt: new Date().toISOString(),
        };
        fs.writeFileSync(path.join(tmp, "release.json"), `${JSON.stringify(record, null, 2)}\n`);
        try {
          fs.renameSync(tmp, dir);
        } catch (err) {
          // Another worker staged the label first: its release decides.
          const raced = readRecord(dir);
          if (!raced) throw err;
          return reuse(ref, raced, dir, { digest, source });
        }
        return { location: path.join(dir, "app"), digest };
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },

    async digestOf(service, version) {
      return readRecord(releaseDir(options.stateDir, service, version))?.digest ?? null;
    },
  };
}
