/**
 * The hook calls of a deployment (workflows/deployment/hooks.ts), from its
 * history: every callHook activity's request (which hook, the traffic at the
 * time) and answer. Each poll of a gate is a call, so a gate's wait reads as
 * its calls: "503, 503, 200".
 */
import { HookAnswerSchema, HookRequestSchema } from "../deployment/hook-request";
import type { HookCall } from "./model";
import { parse, type Timeline } from "./timeline";

const MAX_CALLS = 500;

export function hookCallsOf(t: Timeline): HookCall[] {
  const out: HookCall[] = [];
  for (const a of t.named("callHook")) {
    const input = a.scheduled.input as { request?: unknown; hook?: { url?: unknown } } | undefined;
    const request = parse(HookRequestSchema, input?.request);
    if (!request) continue;
    const answer = a.completed ? parse(HookAnswerSchema, a.completed.result) : null;
    const kind = typeof input?.hook?.url === "string" ? "HTTP" : "exit";
    out.push({
      atMs: t.before(a.scheduled),
      name: request.hook.name,
      type: request.hook.type,
      greenPercent: request.deployment.weights.green,
      ok: answer?.ok ?? null,
      answer: answer
        ? `${answer.status === null ? "no answer" : `${kind} ${answer.status}`}${answer.text ? `: ${answer.text.slice(0, 200)}` : ""}`
        : a.failed
          ? "the call failed"
          : "(in flight)",
    });
  }
  // A gate polled for days is thousands of calls: the report keeps the first and the latest.
  return out.length > MAX_CALLS ? [...out.slice(0, MAX_CALLS / 2), ...out.slice(-MAX_CALLS / 2)] : out;
}
