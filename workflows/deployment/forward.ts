/**
 * The forward path, run inside the run's forward scope (an abort or a workflow
 * cancel cancels it): preflight, provision green, expand the schema, verify
 * green, then the plan items — approval gates and traffic steps — then the
 * post-promotion watch and the keep window. Each side effect registers its
 * compensation on the saga as it happens.
 */
import { sleep } from "@temporalio/workflow";
import type { GreenEnvironment } from "../../lib/deployment/types";
import { formatDifferences } from "../../lib/drift/differences";
import { call, OPTS } from "./activities";
import { bakeAndAnalyse } from "./bake";
import { compensationFor } from "./compensations";
import type { BakeProgress, ResumePoint } from "./continuation";
import { awaitApproval } from "./gates";
import { beforeFirstTraffic, beforePromotion } from "./hooks";
import { type DeploymentRun, now, StopDeployment } from "./run";

export async function forward(run: DeploymentRun): Promise<void> {
  await preflight(run);
  const green = await provisionGreen(run);
  if (run.plan.hasDatabase) await expandSchema(run);
  await verifyGreen(run, green);
  await runPlanItems(run, green);
  await afterPromotion(run);
}

/**
 * A run that continued an earlier one (continuation.ts): everything before
 * the bake it was in is done and its compensations are on the saga; it bakes
 * on from where the previous run stopped, then goes on as `forward` does.
 */
export async function resumeForward(run: DeploymentRun, at: ResumePoint): Promise<void> {
  const progress = { bakedMs: at.bakedMs, measured: at.measured };
  if (at.stage === "post-promotion-watch") {
    await afterPromotion(run, { promotedAtMs: at.promotedAtMs, progress });
    return;
  }
  if (!run.green) throw new StopDeployment("continued run: green is not known", "failure");
  await runPlanItems(run, run.green, { step: at.step, progress });
  await afterPromotion(run);
}

async function preflight(run: DeploymentRun): Promise<void> {
  const { input, status } = run;
  run.phase("preflight");
  const checked = await call(
    "preflightDeployment",
    OPTS.preflight,
    `preflight ${input.service} ${input.version}`,
    {
      key: run.key,
      artifact: input.artifact,
      ...(input.artifactDigest ? { artifactDigest: input.artifactDigest } : {}),
      config: input.config,
      ...(input.configPath ? { configPath: input.configPath } : {}),
    },
  );
  // Older workers answer without these: the status keeps its nulls.
  status.artifactDigest = checked.artifactDigest ?? null;
  status.endpoint = checked.endpoint ?? null;
  status.serving = checked.serving ?? null;
  run.servingBefore = status.serving;
  if (checked.drift?.differences.length) {
    // onDrift: warn — the deployment goes on, and says over what.
    const { version, differences } = checked.drift;
    status.drift = { version, differences };
    run.decide({
      kind: "drift",
      by: "shipshape",
      reason: `blue ${version} has drifted from its promotion (onDrift: warn): ${formatDifferences(differences)}`,
    });
    run.emit(
      "drift-detected",
      `${run.label}: blue ${version} has drifted from its promotion (onDrift: warn)`,
      {
        differences,
      },
    );
  }
  run.refresh();
  if (run.signedDecisions) await confirmSigningPolicy(run);
}

/** The worker is the trust root: the start's signers and approvals policy must be the ones it pins. */
async function confirmSigningPolicy(run: DeploymentRun): Promise<void> {
  const { status } = run.signing;
  const confirmed = await call(
    "confirmSigningPolicy",
    OPTS.quick,
    "confirm signers with the worker's policy",
    {
      service: run.input.service,
      environment: run.input.environment,
      signersDigest: status.signersDigest,
      approvalsDigest: status.approvalsDigest,
    },
  );
  status.pinned = confirmed.pinned;
  if (!confirmed.pinned && status.mode === "unsigned") status.note += "; the worker pins no policy for it";
  run.refresh();
}

async function provisionGreen(run: DeploymentRun): Promise<GreenEnvironment> {
  const { key, input } = run;
  run.phase("provisioning-green");
  // Registered before the call: a half-done provision is torn down too (destroy is a no-op when nothing exists).
  run.saga.register(compensationFor(run, "destroyGreen"));
  const green = await call("provisionGreen", OPTS.long, `provision green ${input.version}`, {
    key,
    run: input.config.run,
    artifact: input.artifact,
    artifactDigest: run.status.artifactDigest,
  });
  run.green = { stackName: green.stackName, instances: green.instances };
  return run.green;
}

async function expandSchema(run: DeploymentRun): Promise<void> {
  const { key, input } = run;
  run.phase("expanding-schema");
  // Registered before the call, like destroyGreen: a half-done expansion is rolled back too.
  run.saga.register(compensationFor(run, "rollbackSchema"));
  const expanded = await call("expandSchema", OPTS.long, `expand schema for ${input.version}`, {
    key,
    ...run.database,
    ...(input.migrations ? { migrations: input.migrations } : {}),
  });
  run.migration = expanded.migration;
  run.status.activeMigration = expanded.migration
    ? { name: expanded.migration, versionSchema: expanded.versionSchema }
    : null;
  run.refresh();
}

async function verifyGreen(run: DeploymentRun, green: GreenEnvironment): Promise<void> {
  const { verify, loadTest } = run.config.release;
  run.phase("verifying-green");
  // run.env as written: the activity resolves it on the worker, like provisionGreen.
  const verifyArgs = {
    key: run.key,
    green: green.instances,
    checks: verify,
    runEnv: run.input.config.run.env,
  };
  await call(
    "verifyGreen",
    OPTS.long,
    `verify green (${verify.length} checks${loadTest ? " + load test" : ""})`,
    loadTest ? { ...verifyArgs, loadTest } : verifyArgs,
  );
}

/**
 * Approval gates and traffic steps in plan order; green is attached (at 0%)
 * before the first step. `resume`: a continued run starts inside the bake of
 * traffic step `step` (its weight is set).
 */
async function runPlanItems(
  run: DeploymentRun,
  green: GreenEnvironment,
  resume?: { step: number; progress: BakeProgress },
): Promise<void> {
  const { items } = run.plan;
  const from = resume ? items.findIndex((i) => i.kind === "traffic" && i.index === resume.step) : 0;
  if (from < 0) throw new StopDeployment(`continued run: no traffic step ${resume?.step}`, "failure");
  let attached = resume !== undefined;
  for (const [i, item] of items.entries()) {
    if (i < from) continue;
    if (resume && i === from && item.kind === "traffic") {
      await bakeAndAnalyse(run, item.index, item.weight, run.promoteRequest ? 0 : item.bakeMs, item, {
        resumeAt: (p) => ({ stage: "traffic-step", step: item.index, ...p }),
        progress: resume.progress,
      });
      continue;
    }
    await run.holdIfPaused();
    if (item.kind === "approval") {
      await awaitApproval(run, item.gate);
      continue;
    }
    // Hooks and gates (hooks.ts): before the first traffic, and before the step giving green all traffic.
    if (!attached) await beforeFirstTraffic(run);
    if (item.index === item.total) await beforePromotion(run);
    run.phase("shifting-traffic");
    if (!attached) {
      await attachGreen(run, green);
      attached = true;
    }
    run.status.step = { index: item.index, total: item.total, weight: item.weight };
    await setWeight(run, item.index, item.weight);
    run.emit(
      "step-reached",
      `${run.label}: step ${item.index}/${item.total}, ${item.weight}% of traffic on green`,
      {
        step: { index: item.index, total: item.total, weight: item.weight },
      },
    );
    await bakeAndAnalyse(run, item.index, item.weight, run.promoteRequest ? 0 : item.bakeMs, item, {
      resumeAt: (p) => ({ stage: "traffic-step", step: item.index, ...p }),
    });
  }
}

async function attachGreen(run: DeploymentRun, green: GreenEnvironment): Promise<void> {
  const { key, input, status } = run;
  // Registered before the call: a half-done attach is undone too; while blue
  // is still unknown (null) the activity reads it back from the router.
  run.saga.register(compensationFor(run, "restoreTraffic"));
  run.blue = (
    await call("attachGreen", OPTS.quick, `attach green ${input.version} at 0%`, {
      key,
      green: green.instances,
    })
  ).blue;
  status.blueVersion = run.blue?.version ?? null;
}

async function setWeight(run: DeploymentRun, stepIndex: number, weight: number): Promise<void> {
  const { status } = run;
  const applied = await call("setTrafficWeight", OPTS.quick, `traffic ${weight}% to ${run.input.version}`, {
    key: run.key,
    step: stepIndex,
    greenPercent: weight,
  });
  status.weights = { blue: 100 - weight, green: weight };
  // Users are on green once it has all traffic (at once on a first deployment: there is no blue).
  if ((applied?.split?.green ?? weight) >= 100) {
    status.serving = { version: run.input.version, artifactDigest: status.artifactDigest };
  }
  run.refresh();
}

/**
 * At 100%: the post-promotion watch, then blue stays warm until keepPrevious
 * (counted from promotion) has passed. `resume`: a continued run starts
 * inside the watch.
 */
async function afterPromotion(
  run: DeploymentRun,
  resume?: { promotedAtMs: number; progress: BakeProgress },
): Promise<void> {
  const { plan } = run;
  const promotedAt = resume ? resume.promotedAtMs : now();
  if (plan.watchMs > 0) {
    run.phase("post-promotion-watch");
    await bakeAndAnalyse(run, plan.trafficSteps + 1, 100, plan.watchMs, null, {
      resumeAt: (p) => ({ stage: "post-promotion-watch", promotedAtMs: promotedAt, ...p }),
      ...(resume ? { progress: resume.progress } : {}),
    });
  }
  // Counted like bake time (bake.ts): by the timers that ran, unless the run predates that patch.
  const keepLeft = run.bakeByTimers
    ? plan.keepPreviousMs - plan.watchMs
    : promotedAt + plan.keepPreviousMs - now();
  if (keepLeft > 0 && run.blue) {
    run.phase("keeping-previous");
    // Blue stays warm for an instant rollback: an abort (or cancel) here still rolls back.
    await sleep(keepLeft);
  }
}
