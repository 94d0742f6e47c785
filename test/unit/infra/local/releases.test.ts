import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tar from "tar";
import { afterAll, describe, expect, it } from "vitest";
import { createLocalReleaseStore, releaseDir } from "../../../../infra/local/releases";
import { artifactDigest, treeDigest } from "../../../../lib/artifacts/content";
import { ArtifactError } from "../../../../lib/drivers/artifact-store";

/**
 * The local target's releases: a folder or a tarball is staged once per
 * version label into an immutable release folder, with its content digest; a
 * different artifact under an existing label is refused.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "releases-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function app(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

const ref = (version: string) => ({ deploymentId: "d", service: "notes", environment: "staging", version });
const rejection = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArtifactError);
  return err as ArtifactError;
};

describe("local releases", () => {
  const state = path.join(tmp, "state");
  const store = createLocalReleaseStore({ stateDir: state });
  const v1 = app("v1", { "app.py": "print('v1')\n", "lib/util.py": "X = 1\n" });
  const v2 = app("v2", { "app.py": "print('v2')\n", "lib/util.py": "X = 2\n" });

  it("stages a folder into the version's release folder, with the folder's content digest", async () => {
    const staged = await store.stage(ref("v1"), v1, null);
    expect(staged.location).toBe(path.join(releaseDir(state, "notes", "v1"), "app"));
    expect(fs.readFileSync(path.join(staged.location, "lib/util.py"), "utf8")).toBe("X = 1\n");
    expect(staged.digest).toBe(treeDigest(v1));
    expect(await store.digestOf("notes", "v1")).toBe(staged.digest);
    // Again: the same release (idempotent), not a new copy.
    const mtime = fs.statSync(staged.location).mtimeMs;
    expect(await store.stage(ref("v1"), v1, staged.digest)).toEqual(staged);
    expect(fs.statSync(staged.location).mtimeMs).toBe(mtime);
  });

  it("refuses a different artifact under a version label that exists", async () => {
    const err = await rejection(store.stage(ref("v1"), v2, null));
    expect(err.code).toBe("conflict");
    expect(err.message).toMatch(
      /notes v1 is already a release with different content .* deploy this one under a new version/,
    );
    // The release is untouched.
    expect(fs.readFileSync(path.join(releaseDir(state, "notes", "v1"), "app", "app.py"), "utf8")).toBe(
      "print('v1')\n",
    );
  });

  it("refuses the same folder once its content changed under the label", async () => {
    const moving = app("moving", { "app.py": "print('a')\n" });
    await store.stage(ref("m1"), moving, null);
    fs.writeFileSync(path.join(moving, "app.py"), "print('b')\n");
    expect((await rejection(store.stage(ref("m1"), moving, null))).code).toBe("conflict");
  });

  it("refuses content that differs from the digest the requester saw", async () => {
    const err = await rejection(store.stage(ref("v2"), v2, "sha256:0000"));
    expect(err.code).toBe("changed");
    expect(fs.existsSync(releaseDir(state, "notes", "v2"))).toBe(false);
  });

  it("unpacks a .tar.gz to the same digest as the folder it was built from", async () => {
    const tgz = path.join(tmp, "v2.tar.gz");
    await tar.c({ gzip: true, file: tgz, cwd: v2 }, ["."]);
    expect(await artifactDigest(tgz)).toBe(treeDigest(v2));
    const staged = await store.stage(ref("v2"), tgz, treeDigest(v2));
    expect(staged.digest).toBe(treeDigest(v2));
    expect(fs.readFileSync(path.join(staged.location, "app.py"), "utf8")).toBe("print('v2')\n");
  });

  it("runs an existing release after its artifact is gone (a rollback), given its digest", async () => {
    const gone = app("gone", { "app.py": "print('gone')\n" });
    const first = await store.stage(ref("g1"), gone, null);
    fs.rmSync(gone, { recursive: true });
    expect(await store.stage(ref("g1"), gone, first.digest)).toEqual(first);
  });

  it("says what is wrong with a missing artifact or a file that is not one", async () => {
    expect((await rejection(store.stage(ref("x1"), path.join(tmp, "nope"), null))).code).toBe("missing");
    const zip = path.join(tmp, "app.zip");
    fs.writeFileSync(zip, "PK");
    const err = await rejection(store.stage(ref("x2"), zip, null));
    expect(err.code).toBe("unsupported");
    expect(err.message).toMatch(/neither a folder nor a \.tar\.gz\/\.tgz/);
    const broken = path.join(tmp, "broken.tgz");
    fs.writeFileSync(broken, "not gzip");
    expect((await rejection(store.stage(ref("x3"), broken, null))).code).toBe("invalid");
    expect(
      fs.readdirSync(path.join(state, "releases", "notes")).filter((f) => f.includes("staging")),
    ).toEqual([]);
  });
});
