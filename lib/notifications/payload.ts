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

/** A field with its description (the JSON Schema receivers read carries it). */
const d = <T extends z.ZodType>(schema: T, description: string): T => schema.meta({ description });

export const VerdictRowSchema = z
  .object({
    metric: z.string(),
    verdict: z.enum(["pass", "marginal", "fail", "inconclusive", "error"]),
    critical: d(z.boolean(), "A failure of a critical metric fails the deployment at once"),
    value: d(z.number().nullable(), "Green's value; null when there was no data"),
    baseline: d(z.number().nullable(), "Blue's value, when the judge compares with it"),
    threshold: d(z.string(), 'What the value was judged against, e.g. "max 1%"'),
    reason: d(z.string(), "One line with the metric and the numbers"),
  })
  .meta({ description: "One metric of an analysis verdict" });

const StepSchema = z.object({ index: z.number().int(), total: z.number().int(), weight: z.number() });
const TrippingMetricSchema = z.object({
  metric: z.string(),
  value: z.number().nullable(),
  threshold: z.string(),
  line: z.string(),
});

export const NotificationDetailsSchema = z
  .object({
    fromPhase: d(z.enum(PHASES), "phase-changed: the phase left"),
    toPhase: d(z.enum(PHASES), "phase-changed: the phase entered"),
    step: d(
      StepSchema,
      "step-reached, analysis-verdict: the traffic step (the post-promotion watch is total + 1)",
    ),
    decision: d(z.enum(["continue", "fail", "pause"]), "analysis-verdict: what the verdict decided"),
    verdictLine: d(z.string(), "analysis-verdict: the verdict in one line"),
    verdicts: d(z.array(VerdictRowSchema), "analysis-verdict, rolled-back: one row per metric"),
    gate: d(z.string(), "approval-requested, approved, rejected: the gate"),
    approvers: d(z.array(z.string()), "approval-requested: who may decide (empty: anyone)"),
    by: d(z.string(), "started, approved, rejected, paused, resumed: who"),
    reason: d(z.string(), "Why: the stated reason, or for rolled-back and finished the outcome's reason"),
    trippingMetric: d(
      TrippingMetricSchema.nullable(),
      "rolled-back: the analysis metric that tripped the rollback; null when analysis did not",
    ),
    compensation: d(z.string(), "needs-attention: the compensation that keeps failing"),
    failingSince: d(z.string(), "needs-attention: since when (ISO 8601)"),
    lastError: d(z.string(), "needs-attention: its last error"),
    outcome: d(z.enum(["promoted", "rolled-back", "needs-attention"]), "finished: how the deployment ended"),
    differences: d(
      z.array(z.object({ what: z.string(), expected: z.string(), actual: z.string() })),
      "drift-detected: how blue differs from what its promotion recorded (onDrift: warn)",
    ),
  })
  .partial()
  .meta({ description: "Event-specific fields; which are set depends on `event`" });

export const NotificationCommandsSchema = z
  .object({
    status: d(z.string(), "Show the deployment"),
    approve: d(z.string(), "Approve the waiting gate"),
    reject: d(z.string(), "Reject the waiting gate (rolls back)"),
    abort: d(z.string(), "Abort and roll back (while it can be aborted)"),
    resume: d(z.string(), "Resume a paused deployment"),
  })
  .partial()
  .meta({ description: "The exact `shipshape` commands that act on this deployment now" });

export const NotificationSchema = z
  .object({
    schemaVersion: d(z.literal(NOTIFICATION_SCHEMA_VERSION), "Bumped only by an incompatible change"),
    id: d(
      z.string(),
      "`<deploymentId>:<sequence>`: the idempotency key, the same on every retry of this event",
    ),
    sequence: d(
      z.number().int().positive(),
      "1, 2, 3… over every event of the deployment (across continue-as-new): the order",
    ),
    event: z.enum(NOTIFICATION_EVENTS),
    at: d(z.string(), "When it happened (workflow time), ISO 8601"),
    deployment: DeploymentContextSchema,
    summary: d(z.string(), "One readable line"),
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
