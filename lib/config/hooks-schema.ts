// `environments.<env>.hooks`: webhooks and commands called at fixed points of a
// deployment, with Flagger's names and meanings, so a Flagger or CodeDeploy user
// finds what they expect:
//
//   confirm-rollout    gate before the first traffic step: polled until it says yes (2xx / exit 0)
//   pre-rollout        once, right before the first traffic: "no" stops the deployment, users never see green
//   rollout            every analysis interval of every step (drive a load generator); "no" is recorded only
//   confirm-promotion  gate before the last traffic step (the one that gives green all traffic)
//   post-rollout       once, after the deployment ends (promoted or rolled back); "no" is recorded only
//   rollback           asked every analysis interval and every gate poll: a yes rolls back (a manual switch)
//
// Keyed by the hook's name (as Flagger's `webhooks[].name`) with a `type`, so an
// environment can have several hooks of one type (two load generators, a chat
// confirmation and a ticket check), each named in status and decisions; they
// run in the order written.
//
// PURE (zod only): the workflow imports the types. Durations become
// milliseconds and defaults are filled per type, like the rest of the config.

import { z } from "zod";
import { durationSchema } from "./durations";
import { WHOLE_ENV_REF } from "./env-refs";

export const HOOK_TYPES = [
  "confirm-rollout",
  "pre-rollout",
  "rollout",
  "confirm-promotion",
  "post-rollout",
  "rollback",
] as const;
export type HookType = (typeof HOOK_TYPES)[number];

/** The types that are gates: polled until they say yes, up to `timeout`, then `onTimeout`. */
export const GATE_TYPES: readonly HookType[] = ["confirm-rollout", "confirm-promotion"];
export const isGate = (t: HookType): boolean => GATE_TYPES.includes(t);

/** Defaults: a gate waits an hour, asking every 10 s; any other hook's call may take 30 s. */
export const HOOK_DEFAULTS = {
  gateTimeoutMs: 3_600_000,
  gateIntervalMs: 10_000,
  callTimeoutMs: 30_000,
  /** One poll of a gate may take at most this (and at most its interval). */
  gateCallTimeoutMs: 30_000,
} as const;

/** Bounds the status (one entry per hook) and the calls per interval. */
export const MAX_HOOKS = 20;
/**
 * A gate's polls per wait: each is ~11 history events, and a gate does not
 * continue as new, so 1,000 (~11k events) stays far below Temporal's 51,200.
 */
export const MAX_GATE_CALLS = 1_000;

const HOOK_NAME = /^[a-z][a-z0-9-]*$/;
// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
const ENV_REF_TEXT = "${env:NAME}";

type Issue = { path: string[]; message: string; code: string; expected: string; fix: string; found?: string };

const HookInputSchema = z.strictObject({
  type: z.enum(HOOK_TYPES).meta({
    description:
      "When it is called: confirm-rollout, pre-rollout, rollout, confirm-promotion, post-rollout or rollback (Flagger's meanings)",
  }),
  url: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, "an http(s) URL such as https://hooks.example.com/shipshape")
    .meta({
      description:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
        "POST the signed JSON request here; 2xx means yes. May use ${env:NAME} (resolved on the worker)",
    })
    .optional(),
  command: z
    .string()
    .min(1)
    .meta({
      description:
        "Shell command run on the worker (as the instance user on a root worker); the request is in the file $SHIPSHAPE_HOOK_FILE. Exit 0 means yes",
    })
    .optional(),
  secret: z
    .string()
    .meta({
      description:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
        "HMAC secret signing the request (X-Shipshape-Signature), as ${env:NAME}: never the secret itself",
    })
    .optional(),
  timeout: durationSchema(
    "Gates (confirm-*): how long to keep asking before onTimeout (default 1h). Other hooks: how long one call may take (default 30s)",
  ).optional(),
  interval: durationSchema("Gates only: how often to ask again (default 10s)").optional(),
  onTimeout: z
    .enum(["abort", "pause"])
    .meta({
      description:
        "Gates only: abort = roll back; pause = pause the deployment until `shipshape resume` (default abort)",
    })
    .optional(),
  metadata: z
    .record(z.string(), z.string())
    .meta({ description: "Free-form strings passed to the receiver as `metadata`" })
    .default({}),
});

function hookIssues(h: z.output<typeof HookInputSchema>): Issue[] {
  const out: Issue[] = [];
  if ((h.url === undefined) === (h.command === undefined))
    out.push({
      path: [],
      message: h.url ? "a hook has a url or a command, not both" : "a hook needs a url or a command",
      code: "hook-target",
      expected: "exactly one of url, command",
      fix: h.url ? "remove url or command" : "add url: https://… or command: ./check.sh",
    });
  if (h.secret !== undefined && !WHOLE_ENV_REF.test(h.secret))
    out.push({
      path: ["secret"],
      // Never echo the value: it may be the secret itself.
      message: `secret must be an ${ENV_REF_TEXT} reference, not the secret itself`,
      code: "hook-secret-literal",
      expected: ENV_REF_TEXT,
      fix: `put the secret in an environment variable of the worker and write secret: ${ENV_REF_TEXT.replace("NAME", "HOOK_SECRET")}`,
    });
  if (h.secret !== undefined && h.command !== undefined)
    out.push({
      path: ["secret"],
      message: "secret signs HTTP requests; a command hook is not sent anywhere",
      code: "hook-secret-command",
      expected: "secret only with url",
      fix: "remove secret",
    });
  if (!isGate(h.type)) {
    for (const key of ["interval", "onTimeout"] as const)
      if (h[key] !== undefined)
        out.push({
          path: [key],
          message: `${key} applies to gates (confirm-rollout, confirm-promotion) only; a ${h.type} hook is called once, not polled`,
          code: "hook-gate-only",
          expected: `no ${key}`,
          fix: `remove ${key}, or make the hook a confirm-rollout / confirm-promotion gate`,
        });
  } else {
    const timeout = h.timeout ?? HOOK_DEFAULTS.gateTimeoutMs;
    const interval = h.interval ?? HOOK_DEFAULTS.gateIntervalMs;
    if (interval > timeout)
      out.push({
        path: ["interval"],
        message: "the gate's interval is longer than its timeout: it would be asked once",
        code: "hook-interval",
        expected: "interval ≤ timeout",
        fix: "shorten interval or lengthen timeout",
      });
    else if (timeout / interval > MAX_GATE_CALLS)
      out.push({
        path: [h.interval === undefined ? "timeout" : "interval"],
        message: `the gate would be asked up to ${Math.ceil(timeout / interval)} times (timeout / interval); at most ${MAX_GATE_CALLS} keep the deployment's history bounded`,
        code: "hook-too-many-calls",
        expected: `timeout / interval ≤ ${MAX_GATE_CALLS}`,
        fix: `set interval to at least ${Math.ceil(timeout / MAX_GATE_CALLS / 1000)}s`,
      });
  }
  return out;
}

export const HookSchema = HookInputSchema.superRefine((h, ctx) => {
  for (const i of hookIssues(h))
    ctx.addIssue({
      code: "custom",
      path: i.path,
      message: i.message,
      params: { code: i.code, expected: i.expected, fix: i.fix },
    });
})
  .transform((h) => {
    const gate = isGate(h.type);
    return {
      type: h.type,
      ...(h.url !== undefined ? { url: h.url } : {}),
      ...(h.command !== undefined ? { command: h.command } : {}),
      ...(h.secret !== undefined ? { secret: h.secret } : {}),
      timeout: h.timeout ?? (gate ? HOOK_DEFAULTS.gateTimeoutMs : HOOK_DEFAULTS.callTimeoutMs),
      ...(gate
        ? {
            interval: h.interval ?? HOOK_DEFAULTS.gateIntervalMs,
            onTimeout: h.onTimeout ?? ("abort" as const),
          }
        : {}),
      metadata: h.metadata,
    };
  })
  .meta({
    description: "A webhook (url) or command called at one point of every deployment to this environment",
  });

export const HooksSchema = z
  .record(
    z
      .string()
      .max(63)
      .regex(HOOK_NAME, "a hook name: lowercase letters, digits and dashes, starting with a letter"),
    HookSchema,
  )
  .refine((hooks) => Object.keys(hooks).length <= MAX_HOOKS, {
    message: `at most ${MAX_HOOKS} hooks per environment`,
  })
  .meta({
    description:
      "Webhooks and commands called during each deployment, by name: gates (confirm-rollout, confirm-promotion) and hooks (pre-rollout, rollout, post-rollout, rollback)",
  });

export type Hook = z.output<typeof HookSchema>;
export type Hooks = z.output<typeof HooksSchema>;
export type HookInput = z.input<typeof HookSchema>;

/** The hooks of `type`, in the order written. */
export function hooksOfType(hooks: Hooks | undefined, type: HookType): Array<{ name: string; hook: Hook }> {
  return Object.entries(hooks ?? {})
    .filter(([, h]) => h.type === type)
    .map(([name, hook]) => ({ name, hook }));
}
