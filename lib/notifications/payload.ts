/**
 * The notification payload, version 1: what a webhook receives as its JSON
 * body, what a command sink finds in $SHIPSHAPE_EVENT_FILE, and what the
 * Slack message is rendered from. schema/notification.schema.json is
 * generated from this schema (`npm run schema`); README "Notifications"
 * documents it. Pure zod: the workflow builds payloads.
 *
 * Versioning: fields are only added within a version (receivers must ignore
 * fields they do not know); a change that removes or retypes a field bumps
 * `schemaVersion`.
 */
import { z } from "zod";
import { PHASES } from "../deployment/types";
import { DeploymentContextSchema } from "./context";
import { NOTIFICATION_EVENTS } from "./events";

export const NOTIFICATION_SCHEMA_VERSION = 1;
export const NOTIFICATION_SCHEMA_ID = "https://shipshape.dev/schema/notification.schema.json";

export const VerdictRowSchema = z
  .object({
    metric: z.string(),
    verdict: z.enum(["pass", "marginal", "fail", "inconclusive", "error"]),
    critical: z.boolean(),
    /** Green's value (null when there was no data). */
    value: z.number().nullable(),
    /** Blue's value, when the judge compares with it. */
    baseline: z.number().nullable(),
    /** What the value was judged against, e.g. "max 1%". */
    threshold: z.string(),
    /** One line with the metric and the numbers. */
    reason: z.string(),
  })
  .meta({ description: "One metric of an analysis verdict" });

export const NotificationDetailsSchema = z
  .object({
    /** phase-changed: the phase left and the phase entered. */
    fromPhase: z.enum(PHASES),
    toPhase: z.enum(PHASES),
    /** step-reached, analysis-verdict: the traffic step (the post-promotion watch is total + 1). */
    step: z.object({ index: z.number().int(), total: z.number().int(), weight: z.number() }),
    /** analysis-verdict: continue / fail / pause, its line, and one row per metric. */
    decision: z.enum(["continue", "fail", "pause"]),
    verdictLine: z.string(),
    verdicts: z.array(VerdictRowSchema),
    /** approval-requested / approved / rejected: the gate and who may decide. */
    gate: z.string(),
    approvers: z.array(z.string()),
    /** Who decided (approved, rejected, paused, resumed) and why; the approver for approved. */
    by: z.string(),
    reason: z.string(),
    /** rolled-back: the analysis metric that tripped the rollback, when analysis did. */
    trippingMetric: z
      .object({ metric: z.string(), value: z.number().nullable(), threshold: z.string(), line: z.string() })
      .nullable(),
    /** needs-attention: the compensation that keeps failing, since when, and its last error. */
    compensation: z.string(),
    failingSince: z.string(),
    lastError: z.string(),
    /** finished: how the deployment ended. */
    outcome: z.enum(["promoted", "rolled-back", "needs-attention"]),
  })
  .partial()
  .meta({ description: "Event-specific fields; which are set depends on `event`" });

export const NotificationCommandsSchema = z
  .object({
    status: z.string(),
    approve: z.string(),
    reject: z.string(),
    abort: z.string(),
    resume: z.string(),
  })
  .partial()
  .meta({ description: "The exact `shipshape` commands that act on this deployment now" });

export const NotificationSchema = z
  .object({
    schemaVersion: z.literal(NOTIFICATION_SCHEMA_VERSION),
    /** `<deploymentId>:<sequence>`: the idempotency key (the same on every retry of this event). */
    id: z.string(),
    /** 1, 2, 3… per deployment (across continue-as-new): receivers order and de-duplicate by it. */
    sequence: z.number().int().positive(),
    event: z.enum(NOTIFICATION_EVENTS),
    /** When it happened (workflow time), ISO 8601. */
    at: z.string(),
    deployment: DeploymentContextSchema,
    /** One readable line. */
    summary: z.string(),
    details: NotificationDetailsSchema,
    commands: NotificationCommandsSchema,
  })
  .meta({
    title: "Shipshape notification",
    description: "One deployment event, as sent to webhooks and command sinks (schemaVersion 1)",
  });

export type Notification = z.infer<typeof NotificationSchema>;
export type NotificationDetails = z.infer<typeof NotificationDetailsSchema>;
export type NotificationCommands = z.infer<typeof NotificationCommandsSchema>;
export type VerdictRow = z.infer<typeof VerdictRowSchema>;

/** The JSON Schema committed as schema/notification.schema.json. */
export function notificationJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(NotificationSchema, { target: "draft-2020-12" }) as Record<
    string,
    unknown
  >;
  return { $schema, $id: NOTIFICATION_SCHEMA_ID, ...rest };
}
