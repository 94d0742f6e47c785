/**
 * Delivers one notification to one sink (workflows/deployment/notifications.ts
 * calls it once per event and sink, in order, and Temporal retries it):
 *  - log:     the worker's Notifier (one line in the worker log);
 *  - webhook: the payload JSON, POSTed and signed (X-Shipshape-Signature) when
 *             the sink has a secret;
 *  - slack:   a readable `{ text, blocks }` message (lib/notifications/slack.ts);
 *  - command: runs the command with the payload JSON in the file named by
 *             $SHIPSHAPE_EVENT_FILE (also $SHIPSHAPE_EVENT, $SHIPSHAPE_EVENT_ID,
 *             $SHIPSHAPE_DEPLOYMENT_ID), as the instance user on a root worker.
 * 2xx / exit 0 = delivered. A timeout, a 5xx, a 408/429 or a failing command
 * throws, so Temporal retries with backoff; any other 4xx and a secret that is
 * not set are refused (NotificationRefused, not retried: they will not heal).
 * Secrets (`${env:NAME}` in the sink, and in a URL) are resolved here, on the
 * worker, and never appear in an error.
 */
import { ApplicationFailure, Context } from "@temporalio/activity";
import { listEnvRefs, resolveEnvRefs } from "../lib/config/env-refs";
import { redactSecrets, secretValues } from "../lib/config/redact";
import {
  type DeliveryInput,
  DeliveryInputSchema,
  type DeliverySink,
  NOTIFICATION_REFUSED,
} from "../lib/notifications/delivery";
import type { Notification } from "../lib/notifications/payload";
import { postSigned } from "../lib/notifications/post-signed";
import { slackMessage } from "../lib/notifications/slack";
import { type ConfinedResult, runConfinedWithFile } from "../lib/runtime/confined-command";
import { instanceUserFor } from "../lib/runtime/instance-user";
import type { DeploymentDeps } from "./deployment-deps";

export interface DeliveryResult {
  delivered: boolean;
  /** "200", "exit 0", "logged", "already logged". */
  detail: string;
}

const refused = (message: string) =>
  ApplicationFailure.create({ message, type: NOTIFICATION_REFUSED, nonRetryable: true });

/** The sink with its `${env:NAME}` references resolved; a missing variable is refused (named, never a value). */
function resolveSink<S extends DeliverySink>(sink: S, env: DeploymentDeps["env"], where: string): S {
  const r = resolveEnvRefs(sink, env, { file: where });
  if (r.ok) return r.config;
  throw refused(r.problems.map((p) => `${where}: ${p.message}; ${p.fix ?? ""}`).join("\n"));
}

/** Whether an HTTP status means "try again later" rather than "never". */
const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

async function post(
  url: string,
  body: string,
  timeoutMs: number,
  secret: string | undefined,
  secrets: string[],
) {
  let answer: Awaited<ReturnType<typeof postSigned>>;
  try {
    answer = await postSigned({
      url,
      body,
      timeoutMs,
      ...(secret ? { secret } : {}),
      signal: Context.current().cancellationSignal,
    });
  } catch (err) {
    // The URL may hold a secret (Slack's does): never in an error, which lands in history.
    throw new Error(redactSecrets((err as Error).message, secrets));
  }
  if (answer.ok) return { delivered: true, detail: String(answer.status) };
  const message = redactSecrets(`answered ${answer.status}: ${answer.text.slice(0, 300)}`, secrets);
  if (retryable(answer.status)) throw new Error(message);
  throw refused(message);
}

async function runCommand(
  command: string,
  payload: Notification,
  timeoutMs: number,
  env: DeploymentDeps["env"],
): Promise<DeliveryResult> {
  const runAs = instanceUserFor(env);
  const r: ConfinedResult = await runConfinedWithFile(
    {
      command,
      // A chosen environment, never the worker's (which holds its secrets).
      env: {
        PATH: env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        SHIPSHAPE_EVENT: payload.event,
        SHIPSHAPE_EVENT_ID: payload.id,
        SHIPSHAPE_DEPLOYMENT_ID: payload.deployment.deploymentId,
      },
      timeoutMs,
      maxOutputChars: 2_000,
      ...(runAs ? { runAs } : {}),
    },
    { envVar: "SHIPSHAPE_EVENT_FILE", fileName: "event.json", content: JSON.stringify(payload) },
  );
  if (r.code === 0) return { delivered: true, detail: "exit 0" };
  const output = r.output.trim().slice(-300);
  throw new Error(
    r.timedOut
      ? `command killed after ${timeoutMs} ms; output: ${output}`
      : `command exited ${r.code}; output: ${output}`,
  );
}

export function createDeliverNotificationActivities(deps: DeploymentDeps) {
  return {
    async deliverNotification(raw: DeliveryInput): Promise<DeliveryResult> {
      const input = DeliveryInputSchema.parse(raw);
      const { payload } = input;
      const where = `notifications[${input.sinkIndex}]`;
      if (input.sink.type === "log") {
        const r = await deps.notifier.send({
          key: payload.id,
          deploymentId: payload.deployment.deploymentId,
          event: payload.event,
          text: payload.summary,
        });
        return { delivered: true, detail: r.sent ? "logged" : "already logged" };
      }
      const sink = resolveSink(input.sink, deps.env, where);
      // Every value a reference resolved to is kept out of errors (a Slack URL is a secret too).
      const secrets = secretValues(listEnvRefs(input.sink).map((r) => deps.env[r.name]));
      switch (sink.type) {
        case "webhook":
          return post(sink.url, JSON.stringify(payload), sink.timeout, sink.secret, secrets);
        case "slack":
          return post(sink.url, JSON.stringify(slackMessage(payload)), sink.timeout, undefined, secrets);
        case "command":
          return runCommand(sink.command, payload, sink.timeout, deps.env);
      }
    },
  };
}
