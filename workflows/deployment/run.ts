/**
 * DeploymentRun: the state of one run and the operations every part of the
 * workflow shares. Update handlers only leave requests in its fields (abort,
 * gate decision, promote; pause lives in the status); the forward path, the
 * bake loop, the gates, rollback and finalize act on them at their own
 * checkpoints. Green, blue and the migration are fields too, because
 * compensations read them when they run, not when they are registered.
 */
import {
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  upsertMemo,
  upsertSearchAttributes,
} from "@temporalio/workflow";
import type { ServingVersion } from "../../activities/preflight";
import { initialAnalysisState } from "../../lib/analysis/aggregate";
import { analysisLimitsFromConfig } from "../../lib/analysis/from-config";
import type { AnalysisState } from "../../lib/analysis/types";
import type { Environment } from "../../lib/config/schema";
import { targetSpecOf } from "../../lib/deployment/target-spec";
import type {
  ActivityKey,
  BlueInfo,
  CompensationRecord,
  DecisionRecord,
  DeploymentInputParsed,
  DeploymentResult,
  GreenEnvironment,
  Outcome,
  Phase,
} from "../../lib/deployment/types";
import { shipshapeCommands } from "../../lib/notifications/commands";
import { deploymentContext } from "../../lib/notifications/context";
import type { NotificationEvent } from "../../lib/notifications/events";
import { NOTIFICATION_SCHEMA_VERSION, type NotificationDetails } from "../../lib/notifications/payload";
import { SA } from "../../lib/search-attributes";
import { call, OPTS } from "./activities";
import { compensationFor } from "./compensations";
import type { Continuation } from "./continuation";
import { renderDetails } from "./details";
import { Notifications } from "./notifications";
import { buildPlan, type Plan } from "./plan";
import { errorText, type ReliableControls, type ReliableHooks, Saga } from "./saga";
import { RunSigning, signingFromInput } from "./signing";
import { clip, closePhases, type DeploymentStatus, enterPhase, recordDecision } from "./state";

/** Workflow time (deterministic inside the workflow sandbox). */
export const now = (): number => Date.now();

/** Who asked for something, and why. */
export interface Request {
  by: string;
  reason: string;
}

export interface GateDecision extends Request {
  kind: "approve" | "reject";
}

/** Thrown inside the forward scope to stop and roll back with a reason (not an error of the workflow). */
export class StopDeployment extends Error {
  constructor(
    message: string,
    readonly kind: "failure" | "abort" | "reject" | "approval-timeout" | "analysis",
  ) {
    super(message);
    this.name = "StopDeployment";
  }
}

export class DeploymentRun {
  readonly key: ActivityKey;
  readonly plan: Plan;
  /** patched("bake-time-counted-by-timers"): see bake.ts. */
  readonly bakeByTimers: boolean;
  /** patched("signed-decisions"): signatures verified, the worker's policy confirmed (signing.ts). */
  readonly signedDecisions: boolean;
  readonly signing: RunSigning;
  readonly status: DeploymentStatus;
  /** Everything before finalize runs in it; an abort cancels it. */
  readonly forwardScope = new CancellationScope();
  readonly saga: Saga;
  /** Set by the retryCompensation / skipCompensation updates for the compensation in flight. */
  readonly compensationControls: ReliableControls = { retryNow: false, skip: null, scope: null };
  readonly reliableHooks: ReliableHooks;
  /** Compensations (and finalize steps) in the order they ran. */
  readonly ran: CompensationRecord[] = [];
  /**
   * patched("notifications-outbox"): events go to an outbox that delivery lanes
   * drain in the background (notifications.ts); runs recorded before it awaited
   * one `notify` activity per event, inline (legacyNotify).
   */
  readonly outbox: boolean;
  readonly notifications: Notifications;

  abortRequest: Request | null = null;
  /** Reset when a gate opens; set by the approve / reject updates. */
  gateDecision: GateDecision | null = null;
  promoteRequest: Request | null = null;
  /** Past the point of no return: an abort is refused. */
  finalizing = false;

  green: GreenEnvironment | null = null;
  blue: BlueInfo | null = null;
  /** The critical metrics the worker can poll within an interval (watch.ts), once asked. */
  watchable: string[] | null = null;
  /** Whether the first deployment's note on skipped baseline judges is in the decision log. */
  baselineSkipNoted = false;
  migration: string | null = null;
  /** What users were on when the deployment started (preflight); a rollback puts them back on it. */
  servingBefore: ServingVersion | null = null;
  analysis: AnalysisState;

  /** Set when this run continued an earlier one (continuation.ts): the runs of the deployment so far. */
  readonly chain: Continuation["chain"] | null;

  private publishedPhase: Phase | null = null;
  private phaseBeforeAttention: Phase = "rolling-back";

  constructor(
    readonly input: DeploymentInputParsed,
    readonly envConfig: Environment,
    readonly deploymentId: string,
    /** What the previous run of the chain carried over; null for the first run. */
    readonly continued: Continuation | null = null,
  ) {
    this.key = {
      deploymentId,
      service: input.service,
      environment: input.environment,
      version: input.version,
      // The environment's target travels with every activity: the worker picks its drivers by it.
      target: targetSpecOf(input.config, input.environment),
    };
    this.plan = buildPlan(input.config);
    // A continued run keeps the behaviour its chain started with.
    this.bakeByTimers = continued ? continued.behaviour.bakeByTimers : patched("bake-time-counted-by-timers");
    this.signedDecisions = continued ? continued.behaviour.signedDecisions : patched("signed-decisions");
    // Runs recorded before signing existed take every name as given, as they did.
    this.signing = this.signedDecisions
      ? signingFromInput(input, envConfig, deploymentId, now())
      : RunSigning.legacy();
    this.status = continued ? continued.status : initialStatus(input, deploymentId, this.plan);
    // What the earlier runs learnt (the worker's pinned policy) stays; the signers are re-read from the input.
    if (continued?.status.signing) Object.assign(this.signing.status, continued.status.signing);
    if (this.signedDecisions) this.status.signing = this.signing.status;
    this.saga = new Saga(this.status.compensations);
    this.reliableHooks = this.compensationHooks();
    const section = input.config.release.analysis;
    this.analysis = initialAnalysisState(section ? analysisLimitsFromConfig(section) : {});
    this.chain = continued?.chain ?? null;
    this.outbox = patched("notifications-outbox");
    this.notifications = new Notifications(
      this.key,
      envConfig.notifications ?? [],
      continued?.notifications ?? null,
    );
    if (continued) this.carryOver(continued);
  }

  /** Takes over the state of the previous run of the chain (continuation.ts). */
  private carryOver(c: Continuation): void {
    for (const [nonce, atMs] of c.usedNonces) this.signing.usedNonces.set(nonce, atMs);
    for (const name of c.saga) {
      const record = this.status.compensations.find((r) => r.name === name);
      if (record) this.saga.restore(compensationFor(this, name), record);
    }
    this.green = c.green;
    this.blue = c.blue;
    this.migration = c.migration;
    this.servingBefore = c.servingBefore;
    this.baselineSkipNoted = c.baselineSkipNoted;
    this.analysis = c.analysis;
    this.promoteRequest = c.promoteRequest;
    this.status.chain = c.chain;
    // The continue-as-new carried the search attributes: the phase is published already.
    this.publishedPhase = this.status.phase;
  }

  get config(): DeploymentInputParsed["config"] {
    return this.input.config;
  }

  /** The release's database for the schema activities (its URL resolved on the worker), if it has one. */
  get database(): { database?: { url: string } } {
    const db = this.input.config.database;
    return db ? { database: { url: db.url } } : {};
  }

  /** "shop/production v2", as notifications name the deployment. */
  get label(): string {
    return `${this.input.service}/${this.input.environment} ${this.input.version}`;
  }

  /** The search attributes and memo of the run, and the first phase and decision. */
  start(): void {
    if (this.outbox) this.notifications.start();
    if (this.continued) {
      this.refresh();
      return;
    }
    const { input } = this;
    upsertSearchAttributes([
      { key: SA.service, value: input.service },
      { key: SA.environment, value: input.environment },
      { key: SA.version, value: input.version },
    ]);
    upsertMemo({
      configDigest: input.configDigest,
      deploymentId: this.deploymentId,
      requestedBy: input.requestedBy,
    });
    this.phase("validating");
    const signed = this.signing.startRecord;
    this.decide({
      kind: "start",
      by: input.requestedBy,
      reason: input.reason || `deploy ${input.version}`,
      ...(signed ? { signed } : {}),
    });
    this.emit("started", `${this.label}: deployment started by ${input.requestedBy}`, {
      by: input.requestedBy,
      reason: input.reason || `deploy ${input.version}`,
    });
  }

  /** Publishes the status: the phase search attribute when it changed, and the Web UI details. */
  refresh(): void {
    if (this.publishedPhase !== this.status.phase) {
      this.publishedPhase = this.status.phase;
      upsertSearchAttributes([{ key: SA.phase, value: this.status.phase }]);
    }
    setCurrentDetails(renderDetails(this.status));
  }

  phase(p: Phase): void {
    const from = this.status.phase;
    enterPhase(this.status, p, now());
    this.refresh();
    if (from !== p)
      this.emit("phase-changed", `${this.label}: ${from} → ${p}`, { fromPhase: from, toPhase: p });
  }

  decide(d: Omit<DecisionRecord, "atMs">): void {
    recordDecision(this.status, { ...d, atMs: now() });
    this.refresh();
  }

  /**
   * Queues a notification (outbox runs) and returns at once: nothing on the
   * forward path or the rollback waits for a receiver. Runs recorded before
   * the outbox notify through legacyNotify only.
   */
  emit(event: NotificationEvent, summary: string, details: NotificationDetails = {}): void {
    if (!this.outbox) return;
    const { status } = this;
    const sequence = this.notifications.next();
    const ended = status.outcome !== null;
    this.notifications.emit({
      schemaVersion: NOTIFICATION_SCHEMA_VERSION,
      id: `${this.deploymentId}:${sequence}`,
      sequence,
      event,
      at: new Date(now()).toISOString(),
      deployment: deploymentContext(status),
      summary: clip(summary),
      details,
      commands: shipshapeCommands({
        service: status.service,
        environment: status.environment,
        gate: ended ? null : (status.pendingApprovals[0]?.gate ?? null),
        paused: !ended && status.paused !== null,
        abortable: !ended && !this.finalizing && status.phase !== "rolling-back",
        signed: Boolean(this.envConfig.approvals?.signers),
      }),
    });
  }

  /**
   * Runs recorded before the outbox: one `notify` activity, awaited, best
   * effort (a failed notification is logged, never a reason to roll back).
   * Outbox runs: nothing (emit queued the event).
   */
  async legacyNotify(event: string, text: string): Promise<void> {
    if (this.outbox) return;
    try {
      await call("notify", OPTS.notify, `notify ${event}`, { key: this.key, event, text });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn("notification failed (ignored)", { event, error: errorText(err) });
    }
  }

  /** The pause checkpoint: holds in phase "paused" until resumed, then returns to the phase it left. */
  async holdIfPaused(): Promise<void> {
    const paused = this.status.paused;
    if (!paused) return;
    const before = this.status.phase;
    this.phase("paused");
    this.emit("paused", `${this.label}: paused by ${paused.by}: ${paused.reason}`, {
      by: paused.by,
      reason: paused.reason,
    });
    await condition(() => this.status.paused === null);
    const resume = [...this.status.decisions].reverse().find((d) => d.kind === "resume");
    this.phase(before);
    this.emit(
      "resumed",
      `${this.label}: resumed${resume ? ` by ${resume.by}` : ""}`,
      resume ? { by: resume.by, reason: resume.reason } : {},
    );
  }

  /** Ends the run: terminal phase, outcome search attribute, and the result. */
  finish(outcome: Outcome, reason: string | null): DeploymentResult {
    const { status } = this;
    status.outcome = outcome;
    status.outcomeReason = reason ? clip(reason) : null;
    enterPhase(status, outcome, now());
    closePhases(status, now());
    upsertSearchAttributes([{ key: SA.outcome, value: outcome }]);
    this.refresh();
    this.emit("finished", `${this.label}: ${outcome}${reason ? ` (${reason})` : ""}`, {
      outcome,
      ...(reason ? { reason: clip(reason) } : {}),
    });
    return {
      deploymentId: this.deploymentId,
      outcome,
      reason,
      compensations: this.ran.map((c) => ({ name: c.name, status: c.status, attempts: c.attempts })),
      decisions: status.decisions,
    };
  }

  /** How a failing compensation or finalize step surfaces: phase needs-attention while it keeps retrying. */
  private compensationHooks(): ReliableHooks {
    const { status } = this;
    return {
      now,
      attentionAfterMs: this.envConfig.compensationAttentionAfter,
      controls: this.compensationControls,
      onAttention: async (record, sinceMs) => {
        status.needsAttention = { compensation: record.name, sinceMs, lastError: record.lastError ?? "" };
        this.phaseBeforeAttention = status.phase;
        this.phase("needs-attention");
        const text = `${this.label}: ${record.name} failing since ${new Date(sinceMs).toISOString()}: ${record.lastError}`;
        this.emit("needs-attention", text, {
          compensation: record.name,
          failingSince: new Date(sinceMs).toISOString(),
          lastError: clip(record.lastError ?? ""),
        });
        await this.legacyNotify("needs-attention", text);
      },
      onAttentionCleared: () => {
        status.needsAttention = null;
        this.phase(this.phaseBeforeAttention);
      },
      changed: () => {
        if (status.needsAttention) {
          const current = status.compensations.find((c) => c.name === status.needsAttention?.compensation);
          if (current?.lastError) status.needsAttention.lastError = current.lastError;
        }
        this.refresh();
      },
    };
  }
}

function initialStatus(input: DeploymentInputParsed, deploymentId: string, plan: Plan): DeploymentStatus {
  return {
    deploymentId,
    service: input.service,
    environment: input.environment,
    version: input.version,
    artifact: input.artifact,
    requestedBy: input.requestedBy,
    reason: input.reason,
    configDigest: input.configDigest,
    endpoint: null,
    serving: null,
    artifactDigest: input.artifactDigest ?? null,
    activeMigration: null,
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
}
