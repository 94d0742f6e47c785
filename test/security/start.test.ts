import { describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
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
    const status = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx) => {
        const s = await ctx.until((x) => x.phase === "awaiting-approval", "gate");
        await (ctx.handle as DeploymentHandle).terminate("test over");
        return s;
      },
      signedStarter(configPath, alice),
    );
    expect(status.signing).toMatchObject({ mode: "signed", pinned: true, requester: { identity: "alice" } });
    expect(status.decisions[0]?.signed?.statement).toContain('"type":"shipshape/start@1"');
  });
});
