/**
 * What a hook receives (the JSON body of the POST, or the file
 * $SHIPSHAPE_HOOK_FILE of a command) and what the hook activity answers.
 * Pure zod: the workflow builds the request from its status, so every
 * request is in history, and no secret is ever in it.
 */
import { z } from "zod";
import { HOOK_TYPES } from "../config/hooks-schema";
import { DeploymentContextSchema } from "../notifications/context";

export const HookRequestSchema = z
  .object({
    schemaVersion: z.literal(1),
    hook: z.object({ name: z.string(), type: z.enum(HOOK_TYPES) }),
    /**
     * The same for a retried delivery of one call, different for each call
     * (each poll of a gate is a call): `<deploymentId>:<hook>:<n>`. Also in the
     * X-Shipshape-Hook-Call header, for receivers that deduplicate.
     */
    callId: z.string(),
    deployment: DeploymentContextSchema,
    /** The hook's `metadata` from the config, as written. */
    metadata: z.record(z.string(), z.string()),
    /** post-rollout: how the deployment ended. */
    outcome: z.enum(["promoted", "rolled-back"]).optional(),
    /** rollback and post-rollout after a rollback: why it rolled back. */
    reason: z.string().optional(),
  })
  .meta({ description: "The request a hook receives" });
export type HookRequest = z.infer<typeof HookRequestSchema>;

export const HookAnswerSchema = z.object({
  /** 2xx, or exit 0. */
  ok: z.boolean(),
  /** The HTTP status or exit code; null when there was no answer (refused, timed out, killed). */
  status: z.number().int().nullable(),
  /** What it said (bounded, secrets redacted), or why there was no answer. */
  text: z.string(),
  durationMs: z.number(),
});
export type HookAnswer = z.infer<typeof HookAnswerSchema>;

/** "HTTP 503: not yet" / "exit 1: …" / "no answer: …", for decisions and status lines. */
export function answerLine(a: HookAnswer, kind: "url" | "command"): string {
  const text = a.text.trim().replace(/\s+/g, " ").slice(0, 200);
  if (a.status === null) return `no answer: ${text}`;
  const head = kind === "url" ? `HTTP ${a.status}` : `exit ${a.status}`;
  return text ? `${head}: ${text}` : head;
}
