/**
 * The vitest side of the security tests' setup (hooks): a fresh
 * time-skipping server per test and the team's keys per test file. Kept apart
 * from support.ts, which scripts (history recording) import too.
 */
import fs from "node:fs";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { createHarness, type Harness } from "../support/deployment-harness";
import { createTimeSkippingEnv } from "../support/time-skipping";
import { APPROVALS_YAML, configFolder, makePeople, type Person, policyFolder, signersText } from "./support";

/**
 * One time-skipping server per test: time skipped by one deployment (gate
 * timeouts, keep windows) would make the next one's signatures, dated by the
 * real clock, look stale. The workflow bundle is built once per file.
 */
export function perTestServer(): () => Harness {
  let bundled: Harness | undefined;
  let current: Harness | undefined;
  beforeAll(async () => {
    bundled = await createHarness();
  });
  beforeEach(async () => {
    const b = bundled as Harness;
    current = {
      env: await createTimeSkippingEnv(b.dataConverter),
      bundle: b.bundle,
      dataConverter: b.dataConverter,
    };
  });
  afterEach(async () => {
    await current?.env.teardown();
  });
  afterAll(async () => {
    await bundled?.env.teardown();
  });
  return () => current as Harness;
}

export interface Team {
  root: string;
  alice: Person;
  bob: Person;
  /** Not in the signers file. */
  mallory: Person;
  /** alice and bob's allowed_signers text. */
  signers: string;
  /** The starter's shipshape.yaml (beside it: the signers file). */
  configPath: string;
  /** The worker's policy folder pinning the signers and APPROVALS_YAML for shop/production. */
  policyDir: string;
}

/** Keys for alice, bob and mallory, the release folder and the worker's policy (made when the test file loads, removed after it). */
export function team(): Team {
  const { dir: root, people } = makePeople(["alice", "bob", "mallory"]);
  const { alice, bob, mallory } = people as Record<"alice" | "bob" | "mallory", Person>;
  const signers = signersText([
    ["alice", alice],
    ["bob", bob],
  ]);
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  return {
    root,
    alice,
    bob,
    mallory,
    signers,
    configPath: configFolder(root, "release", signers),
    policyDir: policyFolder(root, signers, APPROVALS_YAML),
  };
}
