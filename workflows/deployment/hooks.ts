/**
 * The environment's hooks and gates (lib/config/hooks-schema.ts), at their
 * points of the deployment, with Flagger's meanings:
 *
 *   beforeFirstTraffic  confirm-rollout gates, then pre-rollout hooks: after green
 *                       is verified, before it is attached; a "no" from pre-rollout
 *                       rolls back with users never on green
 *   beforePromotion     confirm-promotion gates before the last traffic step (the
 *                       one giving green all traffic), also when a promote skips bakes
 *   rollbackRequested   rollback hooks, asked at the start of every analysis interval
 *                       of every traffic step and before every poll of a gate: a yes
 *                       (2xx / exit 0) rolls back (Flagger's manual-rollback switch)
 *   rolloutHooks        every analysis interval of every traffic step, alongside the
 *                       interval; a "no" is recorded in the status, it stops nothing
 *                       (without an analysis section: both once as each traffic step starts)
 *   postRolloutHooks    once the deployment has ended (promoted or rolled back)
 *
 * A gate is asked every `interval` until it says yes (2xx / exit 0), up to
 * `timeout` of waiting between calls (counted by timers, the same on replay). On timeout,
 * `onTimeout: abort` rolls back, `pause` pauses the deployment until an
 * operator resumes it (the resume is the yes, recorded with who and why).
 *
 * Every call is one activity execution (activities/hooks.ts) whose request
 * is built here, so it is in history; its answer is in the status
 * (`hooks`). Runs recorded before hooks existed replay unchanged: each point
 * asks patched("deployment-hooks") only when the environment has hooks of
 * its type.
 */
import { CancellationScope, isCancellation, log, patched, sleep } from "@temporalio/workflow";
import { HOOK_DEFAULTS, type Hook, type HookType, hooksOfType } from "../../lib/config/hooks-schema";
import { answerLine, type HookAnswer, type HookRequest } from "../../lib/deployment/hook-request";
import { deploymentContext } from "../../lib/notifications/context";
import { call } from "./activities";
import { type DeploymentRun, now, StopDeployment } from "./run";
import { errorText } from "./saga";
import { clip, type HookStatus } from "./state";

export const HOOKS_PATCH = "deployment-hooks";

/** The hooks of `type` this run calls: none when there are none, or when the run predates hooks. */
function hooksToCall(run: DeploymentRun, type: HookType): Array<{ name: string; hook: Hook }> {
  const hooks = hooksOfType(run.envConfig.hooks, type);
  if (hooks.length === 0 || !patched(HOOKS_PATCH)) return [];
  return hooks;
}

function entryFor(run: DeploymentRun, name: string, hook: Hook): HookStatus {
  run.status.hooks ??= [];
  let entry = run.status.hooks.find((h) => h.name === name);
  if (!entry) {
    entry = {
      name,
      type: hook.type,
      state: "calling",
      calls: 0,
      sinceMs: now(),
      timeoutAtMs: null,
      onTimeout: null,
      lastAnswer: null,
      lastAtMs: null,
    };
    run.status.hooks.push(entry);
  }
  return entry;
}

/** Calls the hook once; a failed activity (worker gone three times) is a "no", like a refused connection. */
async function ask(
  run: DeploymentRun,
  name: string,
  hook: Hook,
  timeoutMs: number,
  extra: Pick<HookRequest, "outcome" | "reason"> = {},
): Promise<HookAnswer> {
  const entry = entryFor(run, name, hook);
  entry.calls += 1;
  const request: HookRequest = {
    schemaVersion: 1,
    hook: { name, type: hook.type },
    callId: `${run.deploymentId}:${name}:${entry.calls}`,
    deployment: deploymentContext(run.status),
    metadata: hook.metadata,
    ...extra,
  };
  let answer: HookAnswer;
  try {
    answer = await call(
      "callHook",
      {
        // The activity ends the call at timeoutMs itself; this only covers a worker that died.
        startToCloseTimeout: timeoutMs + 30_000,
        retry: { initialInterval: "1 second", maximumAttempts: 3 },
      },
      `${hook.type} hook ${name}`,
      { key: run.key, name, hook, timeoutMs, request },
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    answer = { ok: false, status: null, text: errorText(err), durationMs: 0 };
  }
  entry.lastAnswer = clip(answerLine(answer, hook.url ? "url" : "command"), 300);
  entry.lastAtMs = now();
  run.refresh();
  return answer;
}

function decideHook(run: DeploymentRun, name: string, reason: string): void {
  run.decide({ kind: "hook", by: `hook:${name}`, reason });
}

/** Gates (confirm-*) of `type` in order; returns when every one said yes (or an operator resumed). */
async function gates(run: DeploymentRun, type: "confirm-rollout" | "confirm-promotion"): Promise<void> {
  const hooks = hooksToCall(run, type);
  if (hooks.length === 0) return;
  const before = run.status.phase;
  // A confirm gate is an approval by another system: `shipshape list --phase awaiting-approval` finds it.
  run.phase("awaiting-approval");
  try {
    for (const { name, hook } of hooks) await gate(run, name, hook);
  } catch (err) {
    // Stopped while waiting (an abort, a rollback hook): the gate is not waiting anymore.
    for (const h of run.status.hooks ?? []) if (h.state === "waiting") h.state = "failed";
    throw err;
  }
  run.phase(before);
  // A pause asked for while the gate waited holds here, before anything moves on.
  await run.holdIfPaused();
}

async function gate(run: DeploymentRun, name: string, hook: Hook): Promise<void> {
  const entry = entryFor(run, name, hook);
  const interval = hook.interval ?? HOOK_DEFAULTS.gateIntervalMs;
  const onTimeout = hook.onTimeout ?? "abort";
  entry.state = "waiting";
  entry.sinceMs = now();
  entry.timeoutAtMs = entry.sinceMs + hook.timeout;
  entry.onTimeout = onTimeout;
  run.refresh();
  // The wait is counted by the timers that ran, not by clock differences, so a replay (after a
  // worker died mid-task) gives up at the same call: the calls themselves add to the wall time.
  for (let waited = 0; ; ) {
    await rollbackRequested(run);
    const answer = await ask(run, name, hook, Math.min(interval, HOOK_DEFAULTS.gateCallTimeoutMs));
    if (answer.ok) {
      entry.state = "passed";
      run.refresh();
      decideHook(run, name, `${hook.type} gate ${name} said yes (${entry.lastAnswer})`);
      return;
    }
    if (waited >= hook.timeout) break;
    const pause = Math.min(interval, hook.timeout - waited);
    await sleep(pause);
    waited += pause;
  }
  entry.state = "timed-out";
  const why = `${hook.type} gate ${name} did not say yes within ${fmt(hook.timeout)} (${entry.calls} calls, last: ${entry.lastAnswer}); onTimeout: ${onTimeout}`;
  decideHook(run, name, why);
  if (onTimeout === "abort") throw new StopDeployment(why, "failure");
  // pause: the existing pause — an operator resumes (the yes) or aborts.
  run.status.paused = { by: `hook:${name}`, reason: clip(why), sinceMs: now() };
  run.refresh();
  // holdIfPaused is the one pause checkpoint (phase paused, and whatever a pause tells people).
  await run.holdIfPaused();
  entry.state = "passed";
  entry.lastAnswer = clip(`resumed by an operator after the timeout (last: ${entry.lastAnswer})`, 300);
  run.refresh();
}

const fmt = (ms: number): string =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;

/** Hooks called once whose "no" only shows (rollout, post-rollout). */
async function callAll(
  run: DeploymentRun,
  type: "rollout" | "post-rollout",
  extra: Pick<HookRequest, "outcome" | "reason"> = {},
): Promise<void> {
  for (const { name, hook } of hooksToCall(run, type)) {
    const entry = entryFor(run, name, hook);
    entry.state = "calling";
    run.refresh();
    const answer = await ask(run, name, hook, hook.timeout, extra);
    entry.state = answer.ok ? "passed" : "failed";
    run.refresh();
    if (!answer.ok)
      log.warn("hook said no (recorded, the deployment goes on)", {
        hook: name,
        type,
        answer: entry.lastAnswer,
      });
  }
}

/** confirm-rollout gates, then pre-rollout hooks: nothing has reached green yet. */
export async function beforeFirstTraffic(run: DeploymentRun): Promise<void> {
  await gates(run, "confirm-rollout");
  for (const { name, hook } of hooksToCall(run, "pre-rollout")) {
    const entry = entryFor(run, name, hook);
    entry.state = "calling";
    run.refresh();
    const answer = await ask(run, name, hook, hook.timeout);
    entry.state = answer.ok ? "passed" : "failed";
    run.refresh();
    const line = `pre-rollout hook ${name} said ${answer.ok ? "yes" : "no"} (${entry.lastAnswer})`;
    decideHook(run, name, line);
    if (!answer.ok) throw new StopDeployment(`${line}: stopped before any traffic reached green`, "failure");
  }
}

/** confirm-promotion gates, before the step that gives green all traffic. */
export async function beforePromotion(run: DeploymentRun): Promise<void> {
  await gates(run, "confirm-promotion");
}

/** Rollout hooks of one analysis interval (started with the interval, awaited before it is measured). */
export async function rolloutHooks(run: DeploymentRun): Promise<void> {
  await callAll(run, "rollout");
}

/** Post-rollout hooks, once the outcome is known (before the run finishes). */
export async function postRolloutHooks(
  run: DeploymentRun,
  outcome: "promoted" | "rolled-back",
  reason: string | null,
): Promise<void> {
  await CancellationScope.nonCancellable(() =>
    callAll(run, "post-rollout", { outcome, ...(reason ? { reason: clip(reason) } : {}) }),
  );
}

/**
 * Rollback hooks (Flagger's meaning): asked whether to roll back; a yes
 * (2xx / exit 0) stops the deployment and rolls it back, recorded with the
 * hook's name and answer. A "no" or no answer lets it go on.
 */
export async function rollbackRequested(run: DeploymentRun): Promise<void> {
  for (const { name, hook } of hooksToCall(run, "rollback")) {
    const entry = entryFor(run, name, hook);
    entry.state = "calling";
    run.refresh();
    const answer = await ask(run, name, hook, hook.timeout);
    entry.state = answer.ok ? "triggered" : "passed";
    run.refresh();
    if (answer.ok) {
      const why = `rollback hook ${name} asked to roll back (${entry.lastAnswer})`;
      decideHook(run, name, why);
      throw new StopDeployment(why, "failure");
    }
  }
}
