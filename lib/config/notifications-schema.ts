// `environments.<env>.notifications`: where a deployment's events are sent.
// A list of sinks, each a webhook (signed JSON), a Slack-compatible incoming
// webhook, or a command, with an event filter. Secrets are `${env:NAME}`
// references only: they stay unresolved in the config and in workflow history
// and are resolved by the worker when it delivers (activities/deliver-notification.ts).
// PURE: the workflow imports the types.

import { z } from "zod";
import { NOTIFICATION_EVENTS } from "../notifications/events";
import { DURATION_PATTERN, parseDuration } from "./durations";
import { WHOLE_ENV_REF } from "./env-refs";

/** The longest a sink may take per attempt: the delivery activity's own timeout is above it. */
export const MAX_SINK_TIMEOUT_MS = 60_000;

const secret = z
  .string()
  .meta({
    description:
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      "HMAC-SHA256 key the body is signed with (X-Shipshape-Signature); a reference ${env:NAME} only, resolved on the worker",
    pattern: WHOLE_ENV_REF.source,
  })
  .superRefine((value, ctx) => {
    if (WHOLE_ENV_REF.test(value)) return;
    ctx.addIssue({
      code: "custom",
      message: "a notification secret must be an environment reference, not the secret itself",
      params: {
        code: "literal-secret",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
        expected: "${env:NAME}",
        found: "a literal value (not shown)",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
        fix: "put the secret in an environment variable of the worker and write e.g. secret: ${env:DEPLOY_HOOK_SECRET}",
      },
    });
  });

const url = (what: string) =>
  z
    .string()
    .meta({ description: `${what}: an http:// or https:// URL; may use \${env:NAME}` })
    .superRefine((value, ctx) => {
      // A URL that is all reference (a Slack URL is itself a secret) is checked once resolved.
      if (WHOLE_ENV_REF.test(value)) return;
      // A pattern, not new URL(): this module also runs inside the workflow sandbox.
      if (/^https?:\/\/[^\s/?#]+([/?#]\S*)?$/i.test(value)) return;
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not an http(s) URL`,
        params: {
          code: "invalid-url",
          expected: "an http:// or https:// URL",
          found: value,
          fix: "write the full address, e.g. https://hooks.example.com/shipshape",
        },
      });
    });

const events = z
  .array(z.enum(NOTIFICATION_EVENTS))
  .min(1)
  .meta({ description: `Which events this sink gets (default: all): ${NOTIFICATION_EVENTS.join(", ")}` })
  .optional()
  .transform((list) => (list ? [...new Set(list)] : [...NOTIFICATION_EVENTS]));

const timeout = z
  .string()
  .meta({
    description: "How long one delivery attempt may take (default 10s, at most 1m). A duration such as 5s.",
    pattern: DURATION_PATTERN,
  })
  .optional()
  .transform((text, ctx) => {
    if (text === undefined) return 10_000;
    const r = parseDuration(text);
    if (r.ok && r.ms <= MAX_SINK_TIMEOUT_MS) return r.ms;
    ctx.addIssue({
      code: "custom",
      message: r.ok ? `timeout ${text} is over the 1m limit` : r.reason,
      params: { code: "invalid-duration", expected: "a duration up to 1m, e.g. 10s", fix: "write e.g. 10s" },
    });
    return z.NEVER;
  });

export const WebhookSinkSchema = z
  .strictObject({
    type: z.literal("webhook"),
    url: url("Where the JSON payload is POSTed"),
    secret: secret.optional(),
    events,
    timeout,
  })
  .meta({
    description: "POST the JSON payload (schema/notification.schema.json), signed when a secret is set",
  });

export const SlackSinkSchema = z
  .strictObject({
    type: z.literal("slack"),
    url: url("The Slack (or compatible) incoming-webhook URL"),
    events,
    timeout,
  })
  .meta({ description: "A readable message for a Slack-compatible incoming webhook" });

export const CommandSinkSchema = z
  .strictObject({
    type: z.literal("command"),
    command: z
      .string()
      .min(1)
      .meta({ description: "Shell command run per event; $SHIPSHAPE_EVENT_FILE names the JSON payload" }),
    events,
    timeout,
  })
  .meta({ description: "Run a command per event (exit 0 = delivered)" });

export const NotificationSinkSchema = z
  .discriminatedUnion("type", [WebhookSinkSchema, SlackSinkSchema, CommandSinkSchema])
  .meta({ description: "Where events go: type webhook, slack or command" });

export const NotificationsSchema = z
  .array(NotificationSinkSchema)
  .max(10)
  .meta({ description: "Where this environment's deployment events are sent (besides the worker log)" });

export type NotificationSink = z.output<typeof NotificationSinkSchema>;
