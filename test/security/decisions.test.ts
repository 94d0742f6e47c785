/**
 * Signed decisions against the real workflow (time-skipping server, fake
 * drivers, real keys from ssh-keygen, the worker's policy folder): who
 * approves is proven by a signature, not by the name they type.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { keyFileSigner } from "../../client/signing/signer";
import { decisionStatement } from "../../lib/signing/statements";
import type { GateDecisionArgs } from "../../workflows/deployment/messages";
import { approveUpdate, pauseUpdate, resumeUpdate, statusQuery } from "../../workflows/deployment/messages";
import { perTestServer, team } from "./fixtures";
import {
  APPROVALS_YAML,
  approveWith,
  attempt,
  configFolder,
  forgedArgs,
  forgedStarter,
  policyFolder,
  signedArgs,
  signedStarter,
  signersText,
  withSignedDeployment,
} from "./support";

const server = perTestServer();
const { root, alice, bob, mallory, configPath, policyDir } = team();

describe("who approves is proven, not claimed", () => {
  it("approving as someone else is refused: unsigned, or signed with another key", async () => {
    const { answers, result } = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx, _fakes) => {
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        const answers = [
          // `shipshape approve --as bob` today: a name, nothing more.
          await approveWith(ctx.handle, { gate: "go-live", by: "bob", reason: "lgtm" }),
          // mallory signs with her own key and claims to be bob.
          await approveWith(
            ctx.handle,
            await forgedArgs(ctx.handle, "approve", mallory, "bob", { gate: "go-live" }),
          ),
          // bob, with bob's key.
          await approveWith(
            ctx.handle,
            await signedArgs(ctx.handle, "approve", bob, { reason: "dashboards fine" }),
          ),
        ];
        return { answers, result: await deploymentResult(ctx.handle) };
      },
      signedStarter(configPath, alice),
    );
    expect(answers[0]).toMatch(/this deployment requires signed decisions: sign the approve/);
    expect(answers[1]).toMatch(/is not bob's: its key is not in the signers file/);
    expect(answers[2]).toBe("accepted");
    expect(result.outcome).toBe("promoted");
    const approve = result.decisions.find((d) => d.kind === "approve");
    expect(approve).toMatchObject({ by: "bob", reason: "go-live: dashboards fine" });
    expect(approve?.signed?.statement).toContain('"actor":"bob"');
  });

  it("self-approval under a forged name is refused (the requester signs as bob, or approves as herself)", async () => {
    const { answers, status, result } = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx, _fakes) => {
        const status = await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        const answers = [
          // the requester signs with her own key and calls herself bob
          await approveWith(
            ctx.handle,
            await forgedArgs(ctx.handle, "approve", alice, "bob", { gate: "go-live" }),
          ),
          // unsigned, with bob's name
          await approveWith(ctx.handle, { gate: "go-live", by: "bob", reason: "" }),
          // under her own name, signed: four-eyes on the verified requester
          await approveWith(ctx.handle, await signedArgs(ctx.handle, "approve", alice)),
        ];
        await ctx.handle.executeUpdate(approveUpdate, {
          args: [await signedArgs(ctx.handle, "approve", bob)],
        });
        return { answers, status, result: await deploymentResult(ctx.handle) };
      },
      signedStarter(configPath, alice),
    );
    expect(status.requestedBy).toBe("alice");
    expect(status.signing?.requester?.identity).toBe("alice");
    expect(answers[0]).toMatch(/is not bob's: its key belongs to alice, not to bob/);
    expect(answers[1]).toMatch(/requires signed decisions/);
    expect(answers[2]).toMatch(/alice started this deployment and production does not allow self-approval/);
    expect(result.outcome).toBe("promoted");
    expect(result.decisions.filter((d) => d.kind === "approve").map((d) => d.by)).toEqual(["bob"]);
  });

  it("a start signed by alice that claims bob as requester never runs", async () => {
    const failure = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx, fakes) => {
        const ended = await deploymentResult(ctx.handle).then(
          (r) => `completed: ${r.outcome}`,
          (e: Error) => String((e.cause as Error | undefined)?.message ?? e.message),
        );
        return { ended, effects: fakes.effects() };
      },
      forgedStarter(configPath, alice, "bob"),
    );
    expect(failure.ended).toMatch(
      /the start is refused: the signature \(key SHA256:.*\) is not bob's: its key belongs to alice, not to bob/,
    );
    expect(failure.effects).toEqual([]);
  });

  it("a replayed signature is refused", async () => {
    const { answers, result } = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx, _fakes) => {
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        const pause = await signedArgs(ctx.handle, "pause", bob, { reason: "checking" });
        const answers = [
          await attempt(ctx.handle.executeUpdate(pauseUpdate, { args: [pause] })),
          await attempt(
            ctx.handle.executeUpdate(resumeUpdate, { args: [await signedArgs(ctx.handle, "resume", bob)] }),
          ),
          // the same signed pause, sent again by whoever captured it
          await attempt(ctx.handle.executeUpdate(pauseUpdate, { args: [pause] })),
        ];
        await ctx.handle.executeUpdate(approveUpdate, {
          args: [await signedArgs(ctx.handle, "approve", bob)],
        });
        return { answers, result: await deploymentResult(ctx.handle) };
      },
      signedStarter(configPath, alice),
    );
    expect(answers.slice(0, 2)).toEqual(["accepted", "accepted"]);
    expect(answers[2]).toMatch(
      /the signature was already used \(nonce [0-9a-f]+\): a replayed decision is refused/,
    );
    expect(result.decisions.filter((d) => d.kind === "pause")).toHaveLength(1);
  });

  it("a signature made for another deployment (foreign) is refused", async () => {
    let captured: Awaited<ReturnType<typeof signedArgs>> | undefined;
    await withSignedDeployment(
      server(),
      policyDir,
      async (ctx) => {
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        captured = await signedArgs(ctx.handle, "approve", bob, { reason: "first one" });
        await ctx.handle.executeUpdate(approveUpdate, { args: [captured] });
        // Ended without skipping time, so the captured signature is still fresh for the next one.
        await ctx.handle.terminate("test over");
      },
      signedStarter(configPath, alice, { deploymentId: "dep-first" }),
    );
    // The next deployment of the same service and environment (same workflow id in production).
    const answer = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx) => {
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        const a = await approveWith(ctx.handle, captured as GateDecisionArgs);
        await ctx.handle.terminate("test over");
        return a;
      },
      signedStarter(configPath, alice, { deploymentId: "dep-second" }),
    );
    expect(answer).toMatch(/the signature is for deployment dep-first, not this one \(dep-second\)/);
  });

  it("an approval after the worker's policy file changed: a revoked key no longer approves", async () => {
    const dir = policyFolder(
      path.join(root, "revocable"),
      signersText([
        ["alice", alice],
        ["bob", bob],
      ]),
      APPROVALS_YAML,
    );
    const { answers, result } = await withSignedDeployment(
      server(),
      dir,
      async (ctx) => {
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        // The platform team revokes bob's key on the worker while the deployment waits.
        fs.writeFileSync(
          path.join(dir, "shop", "production", "allowed_signers"),
          signersText([
            ["alice", alice],
            ["bob", mallory],
          ]),
        );
        const answers = [await approveWith(ctx.handle, await signedArgs(ctx.handle, "approve", bob))];
        return { answers, result: await deploymentResult(ctx.handle) };
      },
      signedStarter(configPath, alice),
    );
    expect(answers[0]).toMatch(
      /bob's approve is refused by the worker's current policy for shop\/production .*changed since the start\): its key is not in the signers file/,
    );
    expect(result.outcome).toBe("rolled-back");
    expect(result.reason).toMatch(/approval gate go-live timed out/);
  });

  it("the starter's signers file edited after the start grants nothing", async () => {
    const folder = configFolder(
      root,
      "edited",
      signersText([
        ["alice", alice],
        ["bob", bob],
      ]),
    );
    const { answer } = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx) => {
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        fs.writeFileSync(
          path.join(path.dirname(folder), "allowed_signers"),
          signersText([
            ["alice", alice],
            ["bob", mallory],
          ]),
        );
        const answer = await approveWith(
          ctx.handle,
          await forgedArgs(ctx.handle, "approve", mallory, "bob", { gate: "go-live" }),
        );
        await ctx.handle.terminate("test over");
        return { answer };
      },
      signedStarter(folder, alice),
    );
    expect(answer).toMatch(/is not bob's: its key is not in the signers file/);
  });
});

describe("nonces carried by the input (what a continue-as-new passes on)", () => {
  it("a decision whose nonce the input lists as used is refused as replayed", async () => {
    const nonce = "00112233445566778899aabbccddeeff";
    const answer = await withSignedDeployment(
      server(),
      policyDir,
      async (ctx) => {
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        const status = await ctx.handle.query(statusQuery);
        const time = new Date().toISOString();
        const statement = decisionStatement({
          deploymentId: status.deploymentId,
          action: "approve",
          subject: "go-live",
          actor: "bob",
          reason: "",
          time,
          nonce,
        });
        const signature = await keyFileSigner(bob.key).sign(statement);
        const a = await approveWith(ctx.handle, {
          gate: "go-live",
          by: "bob",
          reason: "",
          signed: { deploymentId: status.deploymentId, time, nonce, signature },
        });
        await ctx.handle.terminate("test over");
        return a;
      },
      signedStarter(configPath, alice, { usedNonces: [nonce] }),
    );
    expect(answer).toMatch(/the signature was already used \(nonce 00112233445566778899aabbccddeeff\)/);
  });
});
