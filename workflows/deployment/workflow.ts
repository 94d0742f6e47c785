/**
 * DeploymentWorkflow (issue 4): one version of one service through the release
 * plan, ending as exactly one of promoted / rolled-back / needs-attention.
 *
 *   validate → preflight → provision green → expand schema → verify green
 *     → plan items (approval gates; traffic steps: weight, bake, analyse)
 *     → post-promotion watch → keep blue warm → finalize (routes, decommission blue, contract schema)
 *
 * Cancellation vs terminate:
 *  - Workflow CANCELLATION (`temporal workflow cancel`, the CLI's abort) and the
 *    `abort` update both mean abort-and-roll-back: the forward scope is cancelled
 *    (the running activity gets the cancellation through its heartbeat), then
 *    the compensations run inside CancellationScope.nonCancellable and the
 *    workflow completes normally with outcome "rolled-back".
 *  - TERMINATE kills the run at once: no workflow code runs, so NO compensation
 *    runs. Only use it on a deployment whose side effects you clean up by hand.
 *  - Past the point of no return (phase "finalizing", after the keep window)
 *    an abort is refused and a cancel is ignored until finalizing is done.
 *
 * Determinism: no I/O and no Node APIs here; time comes from `now()` (the
 * sandbox's Date, which the SDK pins to workflow-task time); judging runs on
 * lib/analysis inside the workflow so verdicts are in history. Use patched()
 * for any change to released behaviour (none yet).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from "@temporalio/workflow";
import type { Activities } from "../../activities";
import {
  concludeStep,
  initialAnalysisState,
  recordInterval,
  resumeAnalysis,
} from "../../lib/analysis/aggregate";
import {
  analysisLimitsFromConfig,
  effectiveAnalysis,
  metricSpecsFromConfig,
} from "../../lib/analysis/from-config";
import { judgeAll } from "../../lib/analysis/judges";
import type { AnalysisState, AnalysisVerdict } from "../../lib/analysis/types";
import type { Approvals } from "../../lib/config/schema";
import {
  type ActivityKey,
  type BlueInfo,
  type CompensationRecord,
  type DecisionRecord,
  DeploymentInput,
  type DeploymentResult,
  FAILURE_TYPES,
  type GreenEnvironment,
  type Outcome,
  type Phase,
} from "../../lib/deployment/types";
import { SA } from "../../lib/search-attributes";
import { renderDetails } from "./details";
import {
  abortUpdate,
  approveUpdate,
  type ControlAnswer,
  pauseUpdate,
  promoteUpdate,
  rejectUpdate,
  resumeUpdate,
  retryCompensationUpdate,
  skipCompensationUpdate,
  statusQuery,
  validateAbort,
  validateCompensationControl,
  validateGateDecision,
  validatePause,
  validatePromote,
  validateResume,
} from "./messages";
import { buildPlan, type TrafficItem } from "./plan";
import { errorText, type ReliableControls, type ReliableHooks, runReliably, Saga } from "./saga";
import {
  clip,
  closePhases,
  type DeploymentStatus,
  enterPhase,
  recordDecision,
  recordVerdict,
  stepText,
} from "./state";

/** Workflow time (deterministic inside the workflow sandbox). */
const now = (): number => Date.now();

const NON_RETRYABLE = Object.values(FAILURE_TYPES);

type Opts = Parameters<typeof proxyActivities>[0];
const FORWARD_RETRY = {
  initialInterval: "1 second",
  backoffCoefficient: 2,
  maximumInterval: "30 seconds",
  maximumAttempts: 5,
  nonRetryableErrorTypes: NON_RETRYABLE,
} as const;
/**
 * Long activities heartbeat every 2 s (activities/heartbeat.ts); 10 s without
 * one means the worker is gone, and the attempt is retried on another worker.
 * (Was 30 s: the chaos suite measured a worker kill costing ~30 s of recovery.)
 */
const HEARTBEAT = "10 seconds";
const OPTS = {
  preflight: { startToCloseTimeout: "5 minutes", heartbeatTimeout: HEARTBEAT, retry: FORWARD_RETRY },
  // Long side effects: on abort, wait until the activity has acknowledged the
  // cancellation, so the compensation never races the step it undoes.
  long: {
    startToCloseTimeout: "30 minutes",
    heartbeatTimeout: HEARTBEAT,
    retry: FORWARD_RETRY,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  },
  // Quick calls do not heartbeat; the timeout still ends an attempt whose worker died
  // after 10 s instead of waiting out startToClose.
  quick: { startToCloseTimeout: "2 minutes", heartbeatTimeout: HEARTBEAT, retry: FORWARD_RETRY },
  measure: {
    startToCloseTimeout: "1 minute",
    heartbeatTimeout: HEARTBEAT,
    retry: { ...FORWARD_RETRY, maximumAttempts: 3 },
  },
  notify: { startToCloseTimeout: "30 seconds", retry: { initialInterval: "1 second", maximumAttempts: 3 } },
  // One attempt per activity execution: saga.ts retries forever and shows every failure.
  reliable: {
    startToCloseTimeout: "30 minutes",
    heartbeatTimeout: HEARTBEAT,
    retry: { maximumAttempts: 1 },
  },
} satisfies Record<string, Opts>;

/** An activity call with an explicit summary (shown in the Web UI) and options. */
function call<K extends keyof Activities>(
  name: K,
  options: Opts,
  summary: string,
  ...args: Parameters<Activities[K]>
): Promise<Awaited<ReturnType<Activities[K]>>> {
  const acts = proxyActivities<Activities>({ ...options, summary }) as unknown as Record<
    string,
    (...a: unknown[]) => Promise<Awaited<ReturnType<Activities[K]>>>
  >;
  return acts[name as string]!(...args);
}

/** Thrown inside the forward scope to stop and roll back with a reason (not an error of the workflow). */
class StopDeployment extends Error {
  constructor(
    message: string,
    readonly kind: "failure" | "abort" | "reject" | "approval-timeout" | "analysis",
  ) {
    super(message);
    this.name = "StopDeployment";
  }
}

export async function deploymentWorkflow(rawInput: DeploymentInput): Promise<DeploymentResult> {
  // ----------------------------------------------------------------- validate (before any side effect)
  const parsed = DeploymentInput.safeParse(rawInput);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "input"}: ${i.message}`)
      .join("; ");
    throw ApplicationFailure.nonRetryable(
      `invalid deployment input — ${problems}`,
      FAILURE_TYPES.invalidInput,
    );
  }
  const input = parsed.data;
  const config = input.config;
  const envConfig = config.environments[input.environment];
  if (config.service !== input.service || !envConfig) {
    throw ApplicationFailure.nonRetryable(
      config.service !== input.service
        ? `the config is for service "${config.service}", not "${input.service}"`
        : `environment "${input.environment}" is not in the config (known: ${Object.keys(config.environments).join(", ")})`,
      FAILURE_TYPES.invalidConfig,
    );
  }
  const info = workflowInfo();
  const deploymentId = input.deploymentId ?? info.runId;
  const key: ActivityKey = {
    deploymentId,
    service: input.service,
    environment: input.environment,
    version: input.version,
  };
  const plan = buildPlan(config);
  // Bake time is counted from the timers themselves, not from Date.now()
  // deltas: after a workflow task times out (its worker died) the live worker
  // and a later replay can see different workflow times, and a bake measured
  // by the clock then ends one interval earlier on replay — a nondeterminism
  // error on every query of the finished deployment (found by the chaos suite).
  const bakeByTimers = patched("bake-time-counted-by-timers");
  const approvals: Approvals = envConfig.approvals ?? {
    approvers: [],
    allowSelfApproval: false,
    timeout: 24 * 3600_000,
    onTimeout: "abort",
  };

  // ----------------------------------------------------------------- state
  const status: DeploymentStatus = {
    deploymentId,
    service: input.service,
    environment: input.environment,
    version: input.version,
    artifact: input.artifact,
    requestedBy: input.requestedBy,
    reason: input.reason,
    configDigest: input.configDigest,
    phase: "validating",
    outcome: null,
    outcomeReason: null,
    step: { index: 0, total: plan.trafficSteps, weight: 0 },
    weights: { blue: 100, green: 0 },
    blueVersion: null,
    phases: [],
    analysis: { status: plan.hasAnalysis ? "running" : "off", verdicts: [], decisions: [] },
    pendingApprovals: [],
    paused: null,
    promotedBy: null,
    compensations: [],
    needsAttention: null,
    decisions: [],
  };
  let publishedPhase: Phase | null = null;
  const refresh = () => {
    if (publishedPhase !== status.phase) {
      publishedPhase = status.phase;
      upsertSearchAttributes([{ key: SA.phase, value: status.phase }]);
    }
    setCurrentDetails(renderDetails(status));
  };
  const phase = (p: Phase) => {
    enterPhase(status, p, now());
    refresh();
  };
  const decide = (d: Omit<DecisionRecord, "atMs">) => {
    recordDecision(status, { ...d, atMs: now() });
    refresh();
  };
  const notify = async (event: string, text: string) => {
    try {
      await call("notify", OPTS.notify, `notify ${event}`, { key, event, text });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn("notification failed (ignored)", { event, error: errorText(err) });
    }
  };

  upsertSearchAttributes([
    { key: SA.service, value: input.service },
    { key: SA.environment, value: input.environment },
    { key: SA.version, value: input.version },
  ]);
  upsertMemo({ configDigest: input.configDigest, deploymentId, requestedBy: input.requestedBy });
  phase("validating");
  decide({ kind: "start", by: input.requestedBy, reason: input.reason || `deploy ${input.version}` });

  // ----------------------------------------------------------------- controls
  const forwardScope = new CancellationScope();
  let abortRequest: { by: string; reason: string } | null = null;
  let gateDecision: { kind: "approve" | "reject"; by: string; reason: string } | null = null;
  let promoteRequest: { by: string; reason: string } | null = null;
  let finalizing = false;
  const reliable: ReliableControls = { retryNow: false, skip: null, scope: null };
  const answer = (message: string): ControlAnswer => ({ accepted: true, message, phase: status.phase });
  const refuse = (why: string | null) => {
    if (why) throw new Error(why);
  };

  setHandler(statusQuery, () => status);
  setHandler(
    approveUpdate,
    (a) => {
      gateDecision = { kind: "approve", by: a.by, reason: a.reason ?? "" };
      decide({ kind: "approve", by: a.by, reason: `${a.gate}: ${a.reason ?? ""}` });
      return answer(`gate ${a.gate} approved by ${a.by}`);
    },
    { validator: (a) => refuse(validateGateDecision(status, a, "approve")) },
  );
  setHandler(
    rejectUpdate,
    (a) => {
      gateDecision = { kind: "reject", by: a.by, reason: a.reason ?? "" };
      decide({ kind: "reject", by: a.by, reason: `${a.gate}: ${a.reason ?? ""}` });
      return answer(`gate ${a.gate} rejected by ${a.by}; rolling back`);
    },
    { validator: (a) => refuse(validateGateDecision(status, a, "reject")) },
  );
  setHandler(
    abortUpdate,
    (a) => {
      abortRequest = { by: a.by, reason: a.reason ?? "" };
      decide({ kind: "abort", by: a.by, reason: a.reason ?? "" });
      forwardScope.cancel();
      return answer(`aborted by ${a.by} at ${stepText(status)}; rolling back`);
    },
    { validator: (a) => refuse(validateAbort(status, a, abortRequest !== null, finalizing)) },
  );
  setHandler(
    pauseUpdate,
    (a) => {
      status.paused = { by: a.by, reason: a.reason ?? "paused by operator", sinceMs: now() };
      decide({ kind: "pause", by: a.by, reason: a.reason ?? "" });
      return answer(`paused at ${stepText(status)}; the deployment holds at the next checkpoint`);
    },
    { validator: (a) => refuse(validatePause(status, a, abortRequest !== null)) },
  );
  setHandler(
    resumeUpdate,
    (a) => {
      status.paused = null;
      decide({ kind: "resume", by: a.by, reason: a.reason ?? "" });
      return answer(`resumed at ${stepText(status)}`);
    },
    { validator: (a) => refuse(validateResume(status, a)) },
  );
  setHandler(
    promoteUpdate,
    (a) => {
      promoteRequest = { by: a.by, reason: a.reason ?? "" };
      status.promotedBy = a.by;
      decide({ kind: "promote", by: a.by, reason: a.reason ?? "" });
      return answer(`promote requested by ${a.by}: remaining bake time is skipped; analysis still decides`);
    },
    { validator: (a) => refuse(validatePromote(status, a, abortRequest !== null)) },
  );
  setHandler(
    retryCompensationUpdate,
    (a) => {
      reliable.retryNow = true;
      decide({ kind: "retry-compensation", by: a.by, reason: a.reason ?? "" });
      return answer("retrying the compensation now");
    },
    { validator: (a) => refuse(validateCompensationControl(status, a, "retry")) },
  );
  setHandler(
    skipCompensationUpdate,
    (a) => {
      reliable.skip = { by: a.by, reason: a.reason ?? "" };
      const current = status.compensations.find((c) => c.status === "running" || c.status === "retrying");
      decide({ kind: "skip-compensation", by: a.by, reason: `${current?.name ?? "?"}: ${a.reason ?? ""}` });
      reliable.scope?.cancel();
      return answer(`compensation ${current?.name ?? ""} skipped by ${a.by}`);
    },
    { validator: (a) => refuse(validateCompensationControl(status, a, "skip")) },
  );

  const saga = new Saga(status.compensations);
  let phaseBeforeAttention: Phase = "rolling-back";
  const reliableHooks: ReliableHooks = {
    now,
    attentionAfterMs: envConfig.compensationAttentionAfter,
    controls: reliable,
    async onAttention(record: CompensationRecord, sinceMs: number) {
      status.needsAttention = { compensation: record.name, sinceMs, lastError: record.lastError ?? "" };
      phaseBeforeAttention = status.phase;
      phase("needs-attention");
      await notify(
        "needs-attention",
        `${input.service}/${input.environment} ${input.version}: ${record.name} failing since ${new Date(sinceMs).toISOString()}: ${record.lastError}`,
      );
    },
    onAttentionCleared() {
      status.needsAttention = null;
      phase(phaseBeforeAttention);
    },
    changed() {
      if (status.needsAttention) {
        const current = status.compensations.find((c) => c.name === status.needsAttention?.compensation);
        if (current?.lastError) status.needsAttention.lastError = current.lastError;
      }
      refresh();
    },
  };

  // ----------------------------------------------------------------- helpers inside the forward scope
  const holdIfPaused = async () => {
    if (!status.paused) return;
    const before = status.phase;
    phase("paused");
    await condition(() => status.paused === null);
    phase(before);
  };

  let analysis: AnalysisState = initialAnalysisState(
    config.release.analysis ? analysisLimitsFromConfig(config.release.analysis) : {},
  );
  let blue: BlueInfo | null = null;
  let migration: string | null = null;
  let green: GreenEnvironment | null = null;

  const syncAnalysis = (v?: AnalysisVerdict) => {
    status.analysis.status = plan.hasAnalysis ? analysis.status : "off";
    status.analysis.decisions = analysis.decisions;
    if (v) recordVerdict(status, v);
  };

  const analysisPause = async (line: string) => {
    status.paused = { by: "analysis", reason: line, sinceMs: now() };
    decide({ kind: "analysis", by: "analysis", reason: `paused: ${line}` });
    await notify("analysis-paused", `${input.service}/${input.environment} ${input.version}: ${line}`);
    await holdIfPaused();
    analysis = resumeAnalysis(analysis);
    syncAnalysis();
  };

  /** Holds `bakeMs` at the current weight while analysing every interval; returns when the step may move on. */
  const bakeAndAnalyse = async (
    stepIndex: number,
    weight: number,
    bakeMs: number,
    item: TrafficItem | null,
  ) => {
    const section = config.release.analysis;
    const promotable = item !== null;
    const promoting = () => promotable && promoteRequest !== null;
    if (!section) {
      let left = bakeMs;
      while (left > 0 && !promoting()) {
        await holdIfPaused();
        const t0 = now();
        const early = await condition(promoting, left);
        left -= bakeByTimers ? (early ? 0 : left) : now() - t0;
      }
      return;
    }
    const eff = effectiveAnalysis(section, item?.analysis);
    const specs = metricSpecsFromConfig(section, item?.analysis);
    analysis = {
      ...analysis,
      limits: { ...analysis.limits, ...analysisLimitsFromConfig(section, item?.analysis) },
    };
    for (;;) {
      let elapsed = 0;
      let measured = 0;
      while (measured === 0 || (elapsed < bakeMs && !promoting())) {
        await holdIfPaused();
        const wait = promoting() ? 0 : Math.min(eff.interval, bakeMs - elapsed);
        if (wait > 0) {
          const t0 = now();
          const early = await condition(promoting, wait);
          elapsed += bakeByTimers ? (early ? 0 : wait) : now() - t0;
        }
        const measurements = await call(
          "collectMeasurements",
          OPTS.measure,
          `measure ${specs.length} metrics at ${weight}% (step ${stepIndex})`,
          {
            key,
            step: stepIndex,
            interval: analysis.intervals,
            baselineVersion: blue?.version ?? null,
            windowMs: Math.max(wait, eff.interval),
            metrics: specs.map((s) => ({
              name: s.name,
              provider: s.provider,
              query: s.query,
              judge: s.judge,
              ...(s.unit ? { unit: s.unit } : {}),
            })),
          },
        );
        const r = recordInterval(analysis, judgeAll(specs, measurements), {
          stepIndex,
          weightPercent: weight,
          atMs: now(),
        });
        analysis = r.state;
        measured++;
        syncAnalysis(r.verdict);
        if (r.decision === "fail") throw new StopDeployment(`analysis failed: ${r.verdict.line}`, "analysis");
        if (r.decision === "pause") await analysisPause(r.verdict.line);
      }
      const c = concludeStep(analysis, now());
      analysis = c.state;
      syncAnalysis(c.verdict);
      if (c.decision === "continue") return;
      if (c.decision === "fail") throw new StopDeployment(`analysis failed: ${c.verdict.line}`, "analysis");
      await analysisPause(c.verdict.line); // then bake the step again
    }
  };

  const setWeight = async (stepIndex: number, weight: number) => {
    await call("setTrafficWeight", OPTS.quick, `traffic ${weight}% to ${input.version}`, {
      key,
      step: stepIndex,
      greenPercent: weight,
    });
    status.weights = { blue: 100 - weight, green: weight };
    refresh();
  };

  // ----------------------------------------------------------------- forward
  const forward = async () => {
    phase("preflight");
    await call("preflightDeployment", OPTS.preflight, `preflight ${input.service} ${input.version}`, {
      key,
      artifact: input.artifact,
      config,
      ...(input.configPath ? { configPath: input.configPath } : {}),
    });

    phase("provisioning-green");
    // Registered before the call: a half-done provision is torn down too (destroy is a no-op when nothing exists).
    saga.register({
      name: "destroyGreen",
      kind: "infra",
      run: () => call("destroyGreen", OPTS.reliable, `destroy green ${input.version}`, { key }),
    });
    green = await call("provisionGreen", OPTS.long, `provision green ${input.version}`, {
      key,
      run: config.run,
    });

    if (plan.hasDatabase) {
      phase("expanding-schema");
      saga.register({
        name: "rollbackSchema",
        kind: "schema",
        run: () =>
          call("rollbackSchema", OPTS.reliable, `roll back schema of ${input.version}`, { key, migration }),
      });
      migration = (await call("expandSchema", OPTS.long, `expand schema for ${input.version}`, { key }))
        .migration;
    }

    phase("verifying-green");
    const verifyArgs = { key, green: green.instances, checks: config.release.verify };
    await call(
      "verifyGreen",
      OPTS.long,
      `verify green (${config.release.verify.length} checks${config.release.loadTest ? " + load test" : ""})`,
      config.release.loadTest ? { ...verifyArgs, loadTest: config.release.loadTest } : verifyArgs,
    );

    let attached = false;
    for (const item of plan.items) {
      await holdIfPaused();
      if (item.kind === "approval") {
        phase("awaiting-approval");
        const sinceMs = now();
        gateDecision = null;
        status.pendingApprovals = [
          {
            gate: item.gate,
            sinceMs,
            timeoutAtMs: sinceMs + approvals.timeout,
            approvers: approvals.approvers,
            allowSelfApproval: approvals.allowSelfApproval,
          },
        ];
        refresh();
        await notify(
          "awaiting-approval",
          `${input.service}/${input.environment} ${input.version}: gate ${item.gate} waits for ${approvals.approvers.join(", ") || "an approver"}`,
        );
        const decided = await condition(() => gateDecision !== null, approvals.timeout);
        status.pendingApprovals = [];
        if (!decided) {
          const why = `approval gate ${item.gate} timed out after ${approvals.timeout / 60_000} min (onTimeout: ${approvals.onTimeout})`;
          decide({ kind: "approval-timeout", by: "shipshape", reason: why });
          throw new StopDeployment(why, "approval-timeout");
        }
        const d = gateDecision as unknown as { kind: "approve" | "reject"; by: string; reason: string };
        if (d.kind === "reject")
          throw new StopDeployment(`gate ${item.gate} rejected by ${d.by}: ${d.reason}`, "reject");
        continue;
      }
      phase("shifting-traffic");
      if (!attached) {
        saga.register({
          name: "restoreTraffic",
          kind: "traffic",
          run: async () => {
            await call(
              "restoreTrafficToBlue",
              OPTS.reliable,
              `all traffic back to ${blue?.version ?? "blue"}`,
              { key, blue },
            );
            status.weights = { blue: 100, green: 0 };
          },
        });
        blue = (
          await call("attachGreen", OPTS.quick, `attach green ${input.version} at 0%`, {
            key,
            green: green.instances,
          })
        ).blue;
        status.blueVersion = blue?.version ?? null;
        attached = true;
      }
      status.step = { index: item.index, total: item.total, weight: item.weight };
      await setWeight(item.index, item.weight);
      await bakeAndAnalyse(item.index, item.weight, promoteRequest ? 0 : item.bakeMs, item);
    }

    const promotedAt = now();
    if (plan.watchMs > 0) {
      phase("post-promotion-watch");
      await bakeAndAnalyse(plan.trafficSteps + 1, 100, plan.watchMs, null);
    }
    // keepPrevious counts from promotion; the watch above used part of it.
    const keepLeft = bakeByTimers
      ? plan.keepPreviousMs - plan.watchMs
      : promotedAt + plan.keepPreviousMs - now();
    if (keepLeft > 0 && blue) {
      phase("keeping-previous");
      // Blue stays warm for an instant rollback: an abort (or cancel) here still rolls back.
      await sleep(keepLeft);
    }
  };

  // ----------------------------------------------------------------- run
  let outcome: Outcome;
  /** Compensations (and finalize steps) in the order they ran. */
  const ran: CompensationRecord[] = [];
  let outcomeReason: string | null = null;
  try {
    await forwardScope.run(forward);
  } catch (err) {
    const reason =
      abortRequest !== null
        ? `aborted by ${(abortRequest as { by: string }).by}: ${(abortRequest as { reason: string }).reason}`
        : isCancellation(err)
          ? "workflow cancelled: abort and roll back"
          : err instanceof StopDeployment
            ? err.message
            : `${status.phase} failed: ${errorText(err)}`;
    if (isCancellation(err) && abortRequest === null) decide({ kind: "cancel", by: "temporal", reason });
    else if (!(err instanceof StopDeployment) && !isCancellation(err))
      decide({ kind: "failure", by: "shipshape", reason });
    else if (err instanceof StopDeployment && err.kind === "analysis")
      decide({ kind: "analysis", by: "analysis", reason });
    status.outcomeReason = clip(reason);
    status.paused = null;
    status.pendingApprovals = [];
    phase("rolling-back");
    log.warn("rolling back", { reason });
    ran.push(...(await saga.compensate(reliableHooks)));
    outcome = "rolled-back";
    const skippedComps = status.compensations
      .filter((c) => c.status === "skipped")
      .map((c) => `${c.name} (by ${c.skippedBy})`);
    outcomeReason =
      skippedComps.length > 0 ? `${reason}; skipped compensations: ${skippedComps.join(", ")}` : reason;
    await CancellationScope.nonCancellable(() =>
      notify("rolled-back", `${input.service}/${input.environment} ${input.version} rolled back: ${reason}`),
    );
    return finish(outcome, outcomeReason);
  }

  // ----------------------------------------------------------------- finalize (point of no return)
  finalizing = true;
  phase("finalizing");
  saga.clear();
  const steps: Array<{ name: string; kind: CompensationRecord["kind"]; run: () => Promise<unknown> }> = [];
  const g = green as GreenEnvironment | null;
  const b = blue as BlueInfo | null;
  if (g)
    steps.push({
      name: "finalize:routes",
      kind: "traffic",
      run: () =>
        call("finalizeRoutes", OPTS.reliable, `${input.version} becomes blue`, { key, green: g.instances }),
    });
  if (b)
    steps.push({
      name: "finalize:decommissionBlue",
      kind: "infra",
      run: () =>
        call("decommissionBlue", OPTS.reliable, `decommission ${b.version}`, { key, blueVersion: b.version }),
    });
  const m = migration as string | null;
  if (m)
    steps.push({
      name: "finalize:contractSchema",
      kind: "schema",
      run: () => call("contractSchema", OPTS.reliable, `contract schema (${m})`, { key, migration: m }),
    });
  const skipped: string[] = [];
  await CancellationScope.nonCancellable(async () => {
    for (const s of steps) {
      const record: CompensationRecord = {
        name: s.name,
        kind: s.kind,
        status: "registered",
        attempts: 0,
        lastError: null,
        startedAtMs: null,
        endedAtMs: null,
      };
      status.compensations.push(record);
      if ((await runReliably(record, s.run, reliableHooks)) === "skipped") skipped.push(s.name);
      ran.push(record);
    }
  });
  outcome = "promoted";
  if (skipped.length > 0) outcomeReason = `promoted; skipped by an operator: ${skipped.join(", ")}`;
  await CancellationScope.nonCancellable(() =>
    notify("promoted", `${input.service}/${input.environment} ${input.version} promoted`),
  );
  return finish(outcome, outcomeReason);

  function finish(o: Outcome, reason: string | null): DeploymentResult {
    status.outcome = o;
    status.outcomeReason = reason ? clip(reason) : null;
    enterPhase(status, o, now());
    closePhases(status, now());
    upsertSearchAttributes([{ key: SA.outcome, value: o }]);
    refresh();
    return {
      deploymentId,
      outcome: o,
      reason,
      compensations: ran.map((c) => ({ name: c.name, status: c.status, attempts: c.attempts })),
      decisions: status.decisions,
    };
  }
}
