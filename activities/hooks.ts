/**
 * Calls one hook once: POSTs the signed request to its `url`, or runs its
 * `command` with the request in $SHIPSHAPE_HOOK_FILE. The workflow decides
 * what an answer means and when to ask again (a gate's polling), so this
 * activity never retries a receiver and never throws for a "no": a refused
 * connection, a 503, a timeout or a non-zero exit are answers ({ ok: false }).
 *
 * Secrets: the hook arrives as written (`secret: ${env:NAME}`, a url with
 * `${env:…}`); they are resolved here, on the worker, and every resolved
 * value is redacted from the answer text before it reaches history.
 *
 * Idempotent as far as the receiver lets it be: a retried delivery of one
 * call carries the same callId (body and X-Shipshape-Hook-Call header).
 */
import { z } from "zod";
import { checkCommandEnvironment } from "../lib/config/check-env";
import { listEnvRefs, resolveEnvRefs } from "../lib/config/env-refs";
import { HOOK_TYPES } from "../lib/config/hooks-schema";
import { redactSecrets, secretValues } from "../lib/config/redact";
import { type HookAnswer, HookRequestSchema } from "../lib/deployment/hook-request";
import { ActivityKey } from "../lib/deployment/types";
import { postSigned } from "../lib/notifications/post-signed";
import { runConfinedWithFile } from "../lib/runtime/confined-command";
import { instanceUserFor } from "../lib/runtime/instance-user";
import type { DeploymentDeps } from "./deployment-deps";

/** The hook as the config normalized it (hooks-schema.ts), as it travels in the workflow. */
const HookSpec = z.object({
  type: z.enum(HOOK_TYPES),
  url: z.string().optional(),
  command: z.string().optional(),
  secret: z.string().optional(),
  timeout: z.number().positive(),
  interval: z.number().positive().optional(),
  onTimeout: z.enum(["abort", "pause"]).optional(),
  metadata: z.record(z.string(), z.string()).default({}),
});

export const CallHookInput = z.object({
  key: ActivityKey,
  name: z.string().min(1),
  hook: HookSpec,
  /** How long this call may take (a gate's poll may be shorter than the hook's timeout). */
  timeoutMs: z.number().positive(),
  request: HookRequestSchema,
});
export type CallHookInput = z.input<typeof CallHookInput>;

export const HOOK_CALL_HEADER = "X-Shipshape-Hook-Call";
const MAX_TEXT = 500;

export function createHookActivities(deps: Pick<DeploymentDeps, "env">) {
  return {
    async callHook(raw: CallHookInput): Promise<HookAnswer> {
      const input = CallHookInput.parse(raw);
      const body = JSON.stringify(input.request);
      const started = Date.now();
      const { hook } = input;
      // Every resolved ${env:…} of the hook is a secret to keep out of the answer.
      const secrets = secretValues(listEnvRefs(hook).map((r) => deps.env[r.name]));
      const answer = hook.url
        ? await post(hook.url, hook.secret, body, input, deps.env)
        : await run(hook.command ?? "", body, input, deps.env);
      return {
        ...answer,
        text: redactSecrets(answer.text, secrets).slice(0, MAX_TEXT),
        durationMs: Date.now() - started,
      };
    },
  };
}

type Answer = Omit<HookAnswer, "durationMs">;

async function post(
  url: string,
  secret: string | undefined,
  body: string,
  input: z.output<typeof CallHookInput>,
  env: DeploymentDeps["env"],
): Promise<Answer> {
  // Missing variables are named (never a value) and the call is a "no": the deployment says why.
  const resolved = resolveEnvRefs({ url, ...(secret ? { secret } : {}) }, env, {
    file: `hooks.${input.name}`,
  });
  if (!resolved.ok)
    return { ok: false, status: null, text: resolved.problems.map((p) => p.message).join("; ") };
  try {
    const r = await postSigned({
      url: resolved.config.url,
      body,
      ...(resolved.config.secret ? { secret: resolved.config.secret } : {}),
      timeoutMs: input.timeoutMs,
      headers: { [HOOK_CALL_HEADER]: input.request.callId },
    });
    return { ok: r.ok, status: r.status, text: r.text };
  } catch (err) {
    return { ok: false, status: null, text: (err as Error).message };
  }
}

/**
 * A command hook runs like a smoke command: confined (own process group,
 * killed whole on timeout), with the bare environment smoke commands get
 * (never the worker's secrets), as the instance user on a root worker. The
 * request is a file (not stdin), so a script can read it more than once.
 */
async function run(
  command: string,
  body: string,
  input: z.output<typeof CallHookInput>,
  env: DeploymentDeps["env"],
): Promise<Answer> {
  const user = instanceUserFor({ ...env });
  const runAs = user ? { uid: user.uid, gid: user.gid } : undefined;
  const r = await runConfinedWithFile(
    {
      command,
      env: {
        ...checkCommandEnvironment({}, env).env,
        SHIPSHAPE_HOOK_NAME: input.name,
        SHIPSHAPE_HOOK_TYPE: input.hook.type,
        SHIPSHAPE_HOOK_CALL: input.request.callId,
      },
      timeoutMs: input.timeoutMs,
      ...(runAs ? { runAs } : {}),
      maxOutputChars: 4_000,
    },
    { envVar: "SHIPSHAPE_HOOK_FILE", fileName: "request.json", content: body },
  );
  const output = r.output.trim().slice(-MAX_TEXT);
  if (r.timedOut) return { ok: false, status: null, text: `killed after ${input.timeoutMs} ms; ${output}` };
  if (r.code === null) return { ok: false, status: null, text: output || "could not start" };
  return { ok: r.code === 0, status: r.code, text: output };
}
