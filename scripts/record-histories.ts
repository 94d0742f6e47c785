/**
 * Records DeploymentWorkflow histories for the replay test:
 *   npx tsx scripts/record-histories.ts [scenario…]
 * Runs each scenario on the time-skipping server with fake drivers and writes
 * test/fixtures/histories/<scenario>.json. Re-record only for an intended,
 * patched() change of behaviour; the committed fixtures are what released
 * workflow code produced, and test/workflow/replay.test.ts replays them
 * through the current code to catch non-determinism.
 *
 * A scenario marked `chain` continues as new (a long bake) and writes every
 * run of its chain, gzipped: <scenario>-run<n>.json.gz. The fixture
 * long-bake-before-continue-as-new.json.gz (4,741 events, one run) was
 * recorded by the code released before the "long-bakes-continue-as-new" patch
 * (commit 6e47f49, a 70 min bake at a 10 s interval): it checks that a run
 * past the threshold that never continued as new still replays.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { temporal } from "@temporalio/proto";
import { deploymentResult } from "../client/deployment-result";
import { openPolicyDirectory } from "../lib/signing/policy-dir";
import {
  APPROVALS_YAML,
  configFolder,
  makePeople,
  policyFolder,
  signedArgs,
  signedConfig,
  signedStarter,
  signersText,
} from "../test/security/support";
import {
  createHarness,
  input,
  type RunContext,
  releaseConfig,
  withDeployment,
} from "../test/support/deployment-harness";
import { createFakes, type FakeOptions, type Fakes } from "../test/support/fakes";
import { startReceiver } from "../test/support/hook-receiver";
import { createTimeSkippingEnv } from "../test/support/time-skipping";
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  promoteUpdate,
  rejectUpdate,
  resumeUpdate,
  skipCompensationUpdate,
} from "../workflows/deployment/messages";

export const HISTORIES_DIR = path.join(__dirname, "..", "test", "fixtures", "histories");

const GATED = releaseConfig({
  steps: [{ weight: 10 }, { approval: "go-live" }, { weight: 100, bake: "20s" }],
  postPromotion: { watch: "20s", keepPrevious: "1m" },
});
const LONG = releaseConfig({
  steps: [
    { weight: 10, bake: "1h" },
    { weight: 100, bake: "1h" },
  ],
  postPromotion: { watch: "10s", keepPrevious: "1m" },
});
/** 70 min at a 10 s interval: past CONTINUE_AS_NEW_AFTER_EVENTS, so the run continues as new once. */
const LONGER = releaseConfig({
  steps: [
    { weight: 50, bake: "70m" },
    { weight: 100, bake: "10s" },
  ],
  postPromotion: { watch: "10s", keepPrevious: "1m" },
});
/** Healthy for the first `n` measurements, failing after. */
const failingAfter = (n: number): FakeOptions => {
  let measured = 0;
  return { errorRate: () => (++measured > n ? 0.2 : 0.001) };
};

interface Scenario {
  name: string;
  options?: FakeOptions;
  config?: ReturnType<typeof releaseConfig>;
  setup?: (f: Fakes) => void;
  drive: (ctx: RunContext, f: Fakes) => Promise<unknown>;
  /** A signed start (and its worker policy); run on a server of its own, whose clock no other scenario moved. */
  signed?: boolean;
  /** It continues as new: every run of the chain is written (gzipped). */
  chain?: boolean;
  /** A config that needs something running while it records (a hook receiver), and how to stop it. */
  prepare?: () => Promise<{ config: ReturnType<typeof releaseConfig>; close: () => Promise<void> }>;
}

/** Keys, signers file and worker policy for the signed scenarios (ssh-keygen, as users make them). */
function signedSetup() {
  const { dir, people } = makePeople(["alice", "bob"]);
  const signers = signersText([
    ["alice", people.alice!],
    ["bob", people.bob!],
  ]);
  return {
    people,
    configPath: configFolder(dir, "release", signers),
    policyDir: policyFolder(dir, signers, APPROVALS_YAML),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
let signing: ReturnType<typeof signedSetup> | undefined;

const result = (ctx: RunContext) => deploymentResult(ctx.handle);

/** Every hook type against one loopback receiver: confirm-promotion says 503 once, then yes; the rollback hook says no. */
async function hooksConfig() {
  let gatePolls = 0;
  const receiver = await startReceiver((_n, req) => {
    if (req.hook.type === "confirm-promotion") return { status: ++gatePolls === 1 ? 503 : 200 };
    return { status: req.hook.type === "rollback" ? 404 : 200 };
  });
  const hook = (type: string, extra: Record<string, string> = {}) => ({ type, url: receiver.url, ...extra });
  const config = releaseConfig(
    {
      steps: [
        { weight: 10, bake: "20s" },
        { weight: 100, bake: "20s" },
      ],
      postPromotion: { watch: "10s", keepPrevious: "1m" },
    },
    {
      hooks: {
        ticket: hook("confirm-rollout"),
        smoke: hook("pre-rollout"),
        load: hook("rollout"),
        "kill-switch": hook("rollback"),
        "go-live": hook("confirm-promotion", { interval: "15s" }),
        tell: hook("post-rollout"),
      },
    },
  );
  return { config, close: () => receiver.close() };
}

const SCENARIOS: Scenario[] = [
  // Recorded after the 'deployment-hooks' patch: every hook type, a gate polled twice.
  { name: "hooks-gates", prepare: hooksConfig, drive: result },
  { name: "happy-path", drive: result },
  // Recorded after the 'bake-time-counted-by-timers' patch: the history carries its marker.
  { name: "happy-path-bake-by-timers", drive: result },
  { name: "analysis-failure", options: { errorRate: (w) => (w === 50 ? 0.2 : 0.001) }, drive: result },
  {
    name: "approval-granted",
    config: GATED,
    drive: async (ctx) => {
      await ctx.until((s) => s.phase === "awaiting-approval", "gate");
      await ctx.handle.executeUpdate(approveUpdate, { args: [{ gate: "go-live", by: "bob", reason: "ok" }] });
      return deploymentResult(ctx.handle);
    },
  },
  {
    name: "approval-rejected",
    config: GATED,
    drive: async (ctx) => {
      await ctx.until((s) => s.phase === "awaiting-approval", "gate");
      await ctx.handle.executeUpdate(rejectUpdate, { args: [{ gate: "go-live", by: "bob", reason: "no" }] });
      return deploymentResult(ctx.handle);
    },
  },
  { name: "approval-timeout", config: GATED, drive: result },
  {
    name: "abort-during-traffic",
    config: LONG,
    drive: async (ctx) => {
      await ctx.until((s) => s.step.index === 1, "step 1");
      await ctx.handle.executeUpdate(abortUpdate, { args: [{ by: "bob", reason: "complaints" }] });
      return deploymentResult(ctx.handle);
    },
  },
  {
    name: "cancel-mid-activity",
    setup: (f) => f.block.add("verify"),
    drive: async (ctx, f) => {
      await ctx.waitUntil(() => f.calls.some((c) => c.startsWith("verify")), "verify");
      await ctx.handle.cancel();
      return deploymentResult(ctx.handle);
    },
  },
  {
    name: "pause-resume-promote",
    config: LONG,
    drive: async (ctx) => {
      await ctx.until((s) => s.step.index === 1, "step 1");
      await ctx.handle.executeUpdate(pauseUpdate, { args: [{ by: "carol", reason: "look" }] });
      await ctx.handle.executeUpdate(resumeUpdate, { args: [{ by: "carol", reason: "fine" }] });
      await ctx.handle.executeUpdate(promoteUpdate, { args: [{ by: "bob", reason: "hotfix" }] });
      return deploymentResult(ctx.handle);
    },
  },
  {
    name: "compensation-retried",
    options: { verifyOk: false },
    setup: (f) => f.faults.set("destroy", 2),
    drive: result,
  },
  // Recorded after the 'signed-decisions' patch: a signed start, the worker's
  // policy confirmed at preflight, a signed approve confirmed again by the worker.
  {
    name: "signed-approval",
    signed: true,
    drive: async (ctx) => {
      await ctx.until((s) => s.phase === "awaiting-approval", "gate");
      const bob = signing!.people.bob!;
      await ctx.handle.executeUpdate(approveUpdate, { args: [await signedArgs(ctx.handle, "approve", bob)] });
      return deploymentResult(ctx.handle);
    },
  },
  // Recorded after the 'long-bakes-continue-as-new' patch: a bake that continues
  // as new once, then promotes; and one that fails late, in its second run.
  { name: "long-bake-continued", config: LONGER, chain: true, drive: result },
  {
    name: "long-bake-continued-fails-late",
    config: LONGER,
    options: failingAfter(400),
    chain: true,
    drive: result,
  },
  // Recorded after the 'watch-critical-metrics-within-interval' patch (real time: a
  // watch holds the time-skipping clock): the watch trips in the first interval; and
  // a healthy bake whose watches end with their intervals.
  {
    name: "watch-trips",
    options: { watchable: true, errorRate: (w) => (w === 10 ? 0.2 : 0.001) },
    drive: result,
  },
  {
    name: "watch-quiet",
    options: { watchable: true },
    config: releaseConfig({
      steps: [{ weight: 100, bake: "3s" }],
      analysis: {
        interval: "1s",
        metrics: [{ name: "error-rate", provider: "router", query: "error_rate", max: "1%", critical: true }],
      },
      postPromotion: { watch: "1s", keepPrevious: "1s" },
    }),
    drive: result,
  },
  {
    name: "needs-attention-skip",
    options: { verifyOk: false },
    config: releaseConfig({}, { compensationAttentionAfter: "2s" }),
    setup: (f) => f.faults.set("destroy", Number.POSITIVE_INFINITY),
    drive: async (ctx) => {
      await ctx.until((s) => s.phase === "needs-attention", "needs-attention");
      await ctx.handle.executeUpdate(skipCompensationUpdate, {
        args: [{ by: "ops", reason: "done by hand" }],
      });
      return deploymentResult(ctx.handle);
    },
  },
  // Recorded after the 'notifications-outbox' patch: events queued and delivered by
  // background lanes (the worker log and a command sink), a gate approved, the
  // run waiting for its lanes after the outcome.
  {
    name: "notifications-outbox",
    config: releaseConfig(
      {
        steps: [{ weight: 10 }, { approval: "go-live" }, { weight: 100, bake: "20s" }],
        postPromotion: { watch: "20s", keepPrevious: "1m" },
      },
      {
        notifications: [
          { type: "command", command: "true", events: ["step-reached", "approved", "finished"] },
        ],
      },
    ),
    drive: async (ctx) => {
      await ctx.until((s) => s.phase === "awaiting-approval", "gate");
      await ctx.handle.executeUpdate(approveUpdate, { args: [{ gate: "go-live", by: "bob", reason: "ok" }] });
      return deploymentResult(ctx.handle);
    },
  },
];

type History = Awaited<ReturnType<RunContext["handle"]["fetchHistory"]>>;

/** Every run of the deployment, first to last (each run's start names the run it continued from). */
async function chainHistories(ctx: RunContext): Promise<History[]> {
  const client = ctx.handle.client;
  const runs: History[] = [];
  let runId: string | undefined = (await ctx.handle.describe()).runId;
  while (runId) {
    const history: History = await client.getHandle(ctx.handle.workflowId, runId).fetchHistory();
    runs.unshift(history);
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

async function main(): Promise<void> {
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  // Recorded without payload encryption: the fixtures must replay on every
  // machine, and replay checks that unencrypted histories keep working.
  const h = await createHarness({ dataConverter: {} });
  try {
    // Names on the command line record only those scenarios (the others stay as released code made them).
    const only = process.argv.slice(2);
    const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(", ")}`);
    for (const s of SCENARIOS.filter((x) => only.length === 0 || only.includes(x.name))) {
      const prepared = await s.prepare?.();
      const fakes = createFakes(s.options);
      s.setup?.(fakes);
      signing = s.signed ? signedSetup() : undefined;
      if (signing) fakes.deps.signingPolicy = openPolicyDirectory(signing.policyDir);
      const server = signing
        ? {
            env: await createTimeSkippingEnv(h.dataConverter),
            bundle: h.bundle,
            dataConverter: h.dataConverter,
          }
        : h;
      const histories = await withDeployment(
        server,
        fakes,
        input(prepared?.config ?? s.config ?? (signing ? signedConfig() : releaseConfig())),
        async (ctx) => {
          const r = (await s.drive(ctx, fakes)) as { outcome: string };
          console.log(`${s.name}: ${r.outcome}`);
          return s.chain ? chainHistories(ctx) : [await ctx.handle.fetchHistory()];
        },
        // The replay test runs each history under its file name as workflow id, and a start signature covers it.
        signing
          ? signedStarter(signing.configPath, signing.people.alice!, { workflowId: s.name })
          : undefined,
      ).finally(async () => {
        if (server !== h) await server.env.teardown();
        signing?.cleanup();
        await prepared?.close();
      });
      histories.forEach((history, i) => {
        // protobufjs' canonical object form (enums as names, int64 as strings,
        // bytes as base64); the replay test reads it back with History.fromObject.
        const json = temporal.api.history.v1.History.toObject(
          temporal.api.history.v1.History.fromObject(history),
          {
            longs: String,
            enums: String,
            bytes: String,
          },
        );
        const text = `${JSON.stringify(json)}\n`;
        if (s.chain) {
          const file = path.join(HISTORIES_DIR, `${s.name}-run${i + 1}.json.gz`);
          fs.writeFileSync(file, zlib.gzipSync(text, { level: 9 }));
          console.log(`  run ${i + 1}: ${json.events?.length} events`);
        } else fs.writeFileSync(path.join(HISTORIES_DIR, `${s.name}.json`), text);
      });
    }
  } finally {
    await h.env.teardown();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
