import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { migrationBundleOf } from "../../lib/deployment/migration-bundle";
import type { DeploymentInput } from "../../lib/deployment/types";
import { openPolicyDirectory } from "../../lib/signing/policy-dir";
import { type DeploymentHandle, input, withDeployment } from "../support/deployment-harness";
import { createFakes } from "../support/fakes";
import { perTestServer, team } from "./fixtures";
import {
  approveWith,
  configFolder,
  forgedArgs,
  policyFolder,
  signedConfig,
  signedStarter,
  signersText,
  withSignedDeployment,
} from "./support";

const server = perTestServer();
const { root, alice, bob, mallory, configPath, policyDir } = team();

/** The status of a start that runs, once it waits at its approval gate (then terminated). */
const statusAtGate = (starter: ReturnType<typeof signedStarter>) =>
  withSignedDeployment(
    server(),
    policyDir,
    async (ctx) => {
      const s = await ctx.until((x) => x.phase === "awaiting-approval", "gate");
      await (ctx.handle as DeploymentHandle).terminate("test over");
      return s;
    },
    starter,
  );

describe("the worker pins the signers", () => {
  it("a start with a foreign signers file is refused at preflight, before any side effect", async () => {
    // mallory's own signers file lists her key as alice and as bob: self-consistent, but not the worker's.
    const foreign = configFolder(root, "mallory", signersText([["alice,bob", mallory]]));
    const { result, answer, effects } = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx, fakes) => {
        const answer = await approveWith(
          ctx.handle,
          await forgedArgs(ctx.handle, "approve", mallory, "bob", { gate: "go-live" }),
        );
        return { result: await deploymentResult(ctx.handle), answer, effects: fakes.effects() };
      },
      signedStarter(foreign, mallory, { actor: "alice" }),
    );
    expect(answer).toMatch(/nothing is waiting for approval/);
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(
      /preflight failed: the start's signers file \(sha256 [0-9a-f]+…\) is not the one this worker pins for shop\/production \(.*allowed_signers, sha256 [0-9a-f]+…\): a foreign signers file is refused/,
    );
    expect(effects).not.toContain("provision:v2");
  });

  it("an unsigned start to an environment the worker pins is refused (stripping the signers does not help)", async () => {
    const config = signedConfig();
    const approvals = config.environments.production?.approvals;
    if (approvals) delete approvals.signers;
    const fakes = createFakes();
    fakes.deps.signingPolicy = openPolicyDirectory(policyDir);
    const result = await withDeployment(server(), fakes, input(config), (ctx) =>
      deploymentResult(ctx.handle),
    );
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(
      /shop\/production requires signed deployments \(the worker pins .*allowed_signers\); this start is unsigned/,
    );
    expect(fakes.effects()).not.toContain("provision:v2");
  });

  it("a worker without --policy trusts no signers file a starter brings", async () => {
    const result = await withSignedDeployment(
      server(),
      null,
      (ctx) => deploymentResult(ctx.handle),
      signedStarter(configPath, alice),
    );
    expect(result.reason).toMatch(
      /this worker pins no signers for shop\/production.*start the worker with --policy <dir>/,
    );
  });

  it("a start whose approvals policy differs from the pinned one is refused", async () => {
    const lax = policyFolder(
      `${root}/lax`,
      signersText([
        ["alice", alice],
        ["bob", bob],
      ]),
      "approvers: [alice, bob]\nallowSelfApproval: true\n",
    );
    const result = await withSignedDeployment(
      server(),
      lax,
      (ctx) => deploymentResult(ctx.handle),
      signedStarter(configPath, alice),
    );
    expect(result.reason).toMatch(
      /the approvals policy of shop\/production changed or differs from the one this worker pins .*allowSelfApproval true/,
    );
  });

  it("a signed start the worker pins runs, and status says who started it and that it is signed", async () => {
    const status = await statusAtGate(signedStarter(configPath, alice));
    expect(status.signing).toMatchObject({ mode: "signed", pinned: true, requester: { identity: "alice" } });
    expect(status.decisions[0]?.signed?.statement).toContain('"type":"shipshape/start@1"');
  });
});

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A migration bundle as the CLI reads one. */
const bundleOf = (files: Record<string, string>) =>
  migrationBundleOf(Object.entries(files).map(([file, content]) => ({ file, content })));

const addTags =
  "operations:\n  - add_column: { table: products, column: { name: tags, type: text, nullable: true } }\n";
const dropUsers = "operations:\n  - raw_sql: { up: DROP TABLE users }\n";
const carried = {
  artifactDigest: `sha256:${sha256("v2's content")}`,
  migrations: bundleOf({ "0002_tags.yaml": addTags }),
};

/** Why the workflow failed (the failure's chain of messages), or null when it did not fail. */
async function failureOf(handle: DeploymentHandle): Promise<string | null> {
  try {
    await handle.result();
    return null;
  } catch (err) {
    const messages: string[] = [];
    for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause)
      messages.push(e.message);
    return messages.join(" ← ");
  }
}

describe("what the start's signature covers is what runs", () => {
  // Separate helpers: awaiting a result on the time-skipping server skips
  // time, which would let a running start's approval gate time out.
  /** A start expected to fail: why it failed (null when it did not). */
  const refusalOf = (tamper: (signed: DeploymentInput) => DeploymentInput) =>
    withSignedDeployment(
      server(),
      policyDir,
      (ctx) => failureOf(ctx.handle as DeploymentHandle),
      signedStarter(configPath, alice, { carry: carried, tamper }),
    );

  it("a signed start carrying migrations and an artifact digest runs as signed", async () => {
    const status = await statusAtGate(signedStarter(configPath, alice, { carry: carried }));
    expect(status.signing).toMatchObject({ mode: "signed", requester: { identity: "alice" } });
  });

  it("migrations swapped after signing (digests recomputed to match) are refused at start", async () => {
    const failure = await refusalOf((signed) => ({
      ...signed,
      migrations: bundleOf({ "0002_tags.yaml": dropUsers }),
    }));
    expect(failure).toMatch(
      /the start is refused: the migrations in the input \(sha256 [0-9a-f]{12}…\) are not the ones signed \([0-9a-f]{12}…\): the input was altered after signing/,
    );
  });

  it("a migration's text changed after signing (its recorded digest kept) is refused at start", async () => {
    const failure = await refusalOf((signed) => {
      const files = signed.migrations?.files.map((f) => ({ ...f, content: dropUsers })) ?? [];
      return { ...signed, migrations: { files, digest: signed.migrations?.digest ?? "" } };
    });
    expect(failure).toMatch(
      /the start is refused: migration 0002_tags.yaml does not match its digest: the input was altered after signing/,
    );
  });

  it("an artifact digest changed after signing is refused at start", async () => {
    const failure = await refusalOf((signed) => ({
      ...signed,
      artifactDigest: `sha256:${sha256("mallory's build")}`,
    }));
    expect(failure).toMatch(
      /the start is refused: the artifact digest in the input \(sha256:[0-9a-f]{12}…\) is not the one signed \(sha256:[0-9a-f]{12}…\)/,
    );
  });
});
