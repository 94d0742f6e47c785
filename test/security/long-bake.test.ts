/**
 * Signed decisions across a continue-as-new (a long bake: the run's history
 * grew past the threshold and the deployment went on in a new run of the same
 * workflow, workflows/deployment/continuation.ts). The next run verifies the
 * same start again and carries every nonce already spent, so a signed decision
 * replayed after the continue-as-new is still refused; four-eyes still knows
 * who started the deployment; the decision log keeps its signatures.
 *
 * Signatures are dated by the real clock and go stale after 10 min of
 * workflow time, so the bake is short in time but dense: 8 min at a 1 s
 * interval (~5,300 history events) continues as new once, about 6 min in.
 */
import { describe, expect, it } from "vitest";
import { deploymentResult } from "../../client/deployment-result";
import { openPolicyDirectory } from "../../lib/signing/policy-dir";
import { pauseUpdate, resumeUpdate } from "../../workflows/deployment/messages";
import { input, releaseConfig, withDeployment } from "../support/deployment-harness";
import { createFakes } from "../support/fakes";
import { perTestServer, team } from "./fixtures";
import { approveWith, attempt, signedArgs, signedStarter } from "./support";

const server = perTestServer();
const { alice, bob, configPath, policyDir } = team();

/** signedConfig()'s environment, with a long first step measured every second. */
const LONG_SIGNED = releaseConfig(
  {
    steps: [{ weight: 10, bake: "8m" }, { approval: "go-live" }, { weight: 100 }],
    analysis: {
      interval: "1s",
      metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
    },
    postPromotion: { watch: "10s", keepPrevious: "1m" },
  },
  {
    approvals: {
      approvers: ["alice", "bob"],
      allowSelfApproval: false,
      timeout: "10m",
      signers: "./allowed_signers",
    },
  },
);

describe("signed decisions survive a continue-as-new", () => {
  it("a decision signed before it is refused as replayed after it; four-eyes and the log carry over", async () => {
    const fakes = createFakes();
    fakes.deps.signingPolicy = openPolicyDirectory(policyDir);
    const h = server();
    const seen = await withDeployment(
      h,
      fakes,
      input(LONG_SIGNED),
      async (ctx) => {
        await ctx.until((s) => s.phase === "shifting-traffic" && s.step.index === 1, "step 1");
        const pause = await signedArgs(ctx.handle, "pause", alice, { reason: "look at the graphs" });
        const paused = await attempt(ctx.handle.executeUpdate(pauseUpdate, { args: [pause] }));
        await ctx.until((s) => s.phase === "paused", "held at the checkpoint");
        const resume = await signedArgs(ctx.handle, "resume", bob, { reason: "graphs fine" });
        const resumed = await attempt(ctx.handle.executeUpdate(resumeUpdate, { args: [resume] }));
        // Skips 7 min of workflow time: ~420 intervals, one continue-as-new.
        await h.env.sleep("7m");
        const continued = await ctx.status();
        const replayed = await attempt(ctx.handle.executeUpdate(pauseUpdate, { args: [pause] }));
        await h.env.sleep("90s");
        await ctx.until((s) => s.phase === "awaiting-approval", "gate");
        const selfApproval = await approveWith(ctx.handle, await signedArgs(ctx.handle, "approve", alice));
        const approval = await approveWith(
          ctx.handle,
          await signedArgs(ctx.handle, "approve", bob, { reason: "a long bake, all green" }),
        );
        return {
          answers: { paused, resumed, replayed, selfApproval, approval },
          continued,
          result: await deploymentResult(ctx.handle),
        };
      },
      signedStarter(configPath, alice, { carry: { config: LONG_SIGNED } }),
    );
    expect(seen.continued.chain?.runs).toBe(2);
    expect(seen.continued.phase).toBe("shifting-traffic");
    expect(seen.continued.signing).toMatchObject({ mode: "signed", pinned: true });
    expect(seen.continued.signing?.requester?.identity).toBe("alice");
    expect(seen.answers).toEqual({
      paused: "accepted",
      resumed: "accepted",
      replayed: expect.stringMatching(/the signature was already used \(nonce [0-9a-f]+\)/),
      selfApproval: expect.stringMatching(/alice started this deployment/),
      approval: "accepted",
    });
    expect(seen.result.outcome).toBe("promoted");
    // One decision log across both runs, every entry with its signature.
    expect(seen.result.decisions.map((d) => [d.kind, d.by])).toEqual([
      ["start", "alice"],
      ["pause", "alice"],
      ["resume", "bob"],
      ["approve", "bob"],
    ]);
    for (const d of seen.result.decisions) expect(d.signed?.signature, d.kind).toMatch(/BEGIN SSH SIGNATURE/);
  }, 300_000);
});
