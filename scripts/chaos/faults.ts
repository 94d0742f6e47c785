/**
 * The faults of a chaos run, injected against the real processes of the
 * embedded stack: SIGKILL the worker (and start a new one), SIGKILL the
 * `pulumi` CLI mid-operation, restart the Temporal dev server, stop
 * PostgreSQL, make a metrics provider fail, SIGKILL the router's HAProxy,
 * and the two operator messages that arrive at random moments (abort, approve). Each returns a record of
 * what was actually done and when; a fault whose moment comes after the
 * deployment ended is recorded as not reached (and carried to the next run).
 */
import { isDeepStrictEqual } from "node:util";
import { type WorkflowHandle, WorkflowUpdateFailedError } from "@temporalio/client";
import type { LocalStack } from "../../dev/stack/local-stack";
import { routerHaproxyPid } from "../../infra/local/router-process";
import type { AppliedRoutes, TrafficRouter } from "../../lib/drivers/traffic-router";
import { signalGroup } from "../../lib/runtime/process-group";
import type { deploymentWorkflow } from "../../workflows";
import { abortUpdate, approveUpdate } from "../../workflows/deployment/messages";
import type { MetricsEndpoint } from "./metrics-endpoint";
import type { FaultKind, FaultPlan } from "./plan";
import { pulumiCliProcesses } from "./system";

export interface FaultRecord {
  kind: FaultKind;
  plannedAfterMs: number;
  durationMs: number;
  /** When the fault hit (null: the deployment ended before its moment came). */
  injectedAt: number | null;
  /** When what the fault broke was back (worker polling, server or database up, metrics answering). */
  repairedAt: number | null;
  /** abort / approve: the workflow accepted the update (false: refused, with the reason in detail). */
  accepted: boolean | null;
  detail: string;
}

export interface FaultContext {
  stack: LocalStack;
  metrics: MetricsEndpoint;
  handle: WorkflowHandle<typeof deploymentWorkflow>;
  /** The deployment has closed (nothing left to hit). */
  closed(): boolean;
  /** Name of the run's approval gate, if it has one. */
  gate: string | null;
  /** Faults in progress: the operator does not resume a paused deployment while one is. */
  active: Set<FaultKind>;
  /** The scope's local router (proxy-kill): its name and its TrafficRouter. */
  router?: { name: string; scope: { service: string; environment: string }; traffic: TrafficRouter };
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilOrClosed(ctx: FaultContext, at: number): Promise<boolean> {
  while (Date.now() < at) {
    if (ctx.closed()) return false;
    await sleep(Math.min(100, at - Date.now()));
  }
  return !ctx.closed();
}

/**
 * An update as an operator sends it: retried while the server is unreachable
 * (a restart in progress), answered with the workflow's own refusal otherwise.
 */
async function sendUpdate(
  ctx: FaultContext,
  send: () => Promise<{ message: string }>,
): Promise<{ accepted: boolean; message: string }> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      return { accepted: true, message: (await send()).message };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        return { accepted: false, message: String((err.cause as Error | undefined)?.message ?? err.message) };
      }
      if (ctx.closed() || Date.now() > deadline) return { accepted: false, message: String(err) };
      await sleep(500);
    }
  }
}

export async function injectFault(
  plan: FaultPlan,
  ctx: FaultContext,
  startedAt: number,
): Promise<FaultRecord> {
  const rec: FaultRecord = {
    kind: plan.kind,
    plannedAfterMs: plan.afterMs,
    durationMs: plan.durationMs,
    injectedAt: null,
    repairedAt: null,
    accepted: null,
    detail: "not reached: the deployment ended first",
  };
  if (!(await untilOrClosed(ctx, startedAt + plan.afterMs))) return rec;
  const mark = () => {
    rec.injectedAt = Date.now();
    ctx.active.add(plan.kind);
  };
  const repaired = (detail: string) => {
    rec.repairedAt = Date.now();
    rec.detail = detail;
    ctx.active.delete(plan.kind);
    ctx.log(`  ⚡ ${plan.kind}: ${detail}`);
  };
  switch (plan.kind) {
    case "worker-kill": {
      const w = ctx.stack.worker;
      if (!w) throw new Error("chaos: no worker to kill");
      mark();
      signalGroup(w.pid, "SIGKILL");
      await w.exited;
      await sleep(plan.durationMs);
      const nw = await ctx.stack.startWorker();
      repaired(
        `worker ${w.pid} SIGKILLed; worker ${nw.pid} polling ${((Date.now() - (rec.injectedAt ?? 0)) / 1000).toFixed(1)} s later`,
      );
      return rec;
    }
    case "pulumi-kill": {
      // The first pulumi CLI seen from this moment on, killed once it has run durationMs.
      while (!ctx.closed()) {
        const [p] = pulumiCliProcesses();
        if (p) {
          await sleep(plan.durationMs);
          if (!pulumiCliProcesses().some((q) => q.pid === p.pid)) continue; // finished first: take the next
          mark();
          // The CLI only (it runs in the worker's process group): its plugins must be cleaned up by Shipshape.
          try {
            process.kill(p.pid, "SIGKILL");
          } catch {
            // already gone
          }
          repaired(`SIGKILLed \`${p.cmdline.replace(/^\S*\//, "").slice(0, 80)}\` (pid ${p.pid})`);
          return rec;
        }
        await sleep(50);
      }
      rec.detail = "not reached: no pulumi process ran before the deployment ended";
      return rec;
    }
    case "temporal-restart": {
      mark();
      await ctx.stack.temporal.restart(plan.durationMs);
      repaired(
        `Temporal dev server restarted (same SQLite file), answering after ${((Date.now() - (rec.injectedAt ?? 0)) / 1000).toFixed(1)} s`,
      );
      return rec;
    }
    case "postgres-stop": {
      mark();
      ctx.stack.postgres.stop();
      await sleep(plan.durationMs);
      await ctx.stack.postgres.start();
      repaired(`PostgreSQL stopped for ${((Date.now() - (rec.injectedAt ?? 0)) / 1000).toFixed(1)} s`);
      return rec;
    }
    case "metrics-outage": {
      mark();
      ctx.metrics.failing = true;
      await sleep(plan.durationMs);
      ctx.metrics.failing = false;
      repaired(`http-json metrics answered 503 for ${(plan.durationMs / 1000).toFixed(1)} s`);
      return rec;
    }
    case "proxy-kill": {
      mark();
      try {
        repaired(await killProxy(ctx));
      } finally {
        ctx.active.delete(plan.kind);
      }
      return rec;
    }
    case "abort": {
      mark();
      const r = await sendUpdate(ctx, () =>
        ctx.handle.executeUpdate(abortUpdate, {
          args: [{ by: "bob", reason: "chaos: abort at a random moment" }],
        }),
      );
      rec.accepted = r.accepted;
      repaired(`${r.accepted ? "accepted" : "refused"}: ${r.message}`);
      return rec;
    }
    case "approve": {
      const gate = ctx.gate;
      if (!gate) throw new Error("chaos: an approve fault needs a run with an approval gate");
      mark();
      // Sent now, whatever the deployment is doing; refused while the gate is not
      // pending yet, so the approver tries again, like a person would.
      let refusals = 0;
      let last = "";
      while (!ctx.closed()) {
        const r = await sendUpdate(ctx, () =>
          ctx.handle.executeUpdate(approveUpdate, {
            args: [{ gate, by: "alice", reason: "chaos: approve" }],
          }),
        );
        if (r.accepted) {
          rec.accepted = true;
          repaired(`accepted after ${refusals} refusal(s)${last ? ` (first: ${last})` : ""}`);
          return rec;
        }
        if (!last) last = r.message;
        refusals++;
        await sleep(500);
      }
      rec.accepted = false;
      repaired(`never accepted (${refusals} refusals, first: ${last})`);
      return rec;
    }
  }
}

const describe = (r: AppliedRoutes) =>
  `table v${r.tableVersion} ${r.split.blue}/${r.split.green}, ` +
  ["blue", "green"]
    .map((n) => {
      const b = r.backends[n as "blue" | "green"];
      return b ? `${n} ${b.version}×${b.instances.length}` : `no ${n}`;
    })
    .join(", ");

/**
 * SIGKILLs the HAProxy of the scope's router (its control process lives on and
 * starts a new one from the persisted table), then checks the data plane came
 * back with the same backends and split: read back from HAProxy itself
 * (waitApplied), compared with what it served before the kill unless the
 * deployment changed the table meanwhile. A difference is a harness error.
 */
async function killProxy(ctx: FaultContext): Promise<string> {
  const router = ctx.router;
  if (!router) throw new Error("chaos: a proxy-kill fault needs the router");
  const pid = routerHaproxyPid(router.name);
  if (!pid) throw new Error(`chaos: router ${router.name} has no HAProxy running`);
  const before = await router.traffic.getRoutes(router.scope);
  const killedAt = Date.now();
  process.kill(pid, "SIGKILL");
  const deadline = killedAt + 60_000;
  let next = routerHaproxyPid(router.name);
  while (next === undefined || next === pid) {
    if (Date.now() > deadline) throw new Error(`no new HAProxy within 60 s after killing ${pid}`);
    await sleep(20);
    next = routerHaproxyPid(router.name);
  }
  const after = await router.traffic.waitApplied(router.scope, before.tableVersion, 30_000);
  const backAfterMs = Date.now() - killedAt;
  if (after.tableVersion === before.tableVersion && !isDeepStrictEqual(after, before)) {
    throw new Error(`after the restart HAProxy serves ${describe(after)}, before: ${describe(before)}`);
  }
  const same =
    after.tableVersion === before.tableVersion
      ? "as before"
      : `(the deployment moved on from v${before.tableVersion} meanwhile)`;
  return `HAProxy ${pid} SIGKILLed; HAProxy ${next} applies ${describe(after)} ${same}, ${backAfterMs} ms later`;
}
