// The release config (`shipshape.yaml`) as a zod schema. PURE: no Node imports,
// so Temporal workflow code can import the types (and the schema) safely.
//
// Normalization (what `ReleaseConfig`, the parsed output, looks like):
//   * Every duration becomes a number of MILLISECONDS under the same key name
//     (`bake: 2m` → `bake: 120000`), so workflow code can pass it straight to
//     `sleep()`/timers and compare numbers; `formatDuration` turns it back into text.
//   * Every percentage becomes a FRACTION (`maxIncrease: 20%` → `0.2`).
//   * Steps get a `kind` discriminant: `{ kind: "traffic", weight, bake, analysis? }`
//     or `{ kind: "approval", approval }`.
//   * Metrics get a `judge` discriminated union instead of loose judge keys.
//   * Defaults are filled in, so the workflow never needs `?? default`.
//   * `${env:NAME}` references are kept verbatim (resolved at deploy time, see env-refs.ts).
// The input type (`ReleaseConfigInput`) is what the YAML contains; the committed
// JSON Schema describes the input side.

import { z } from "zod";
import { METRIC_PROVIDER_NAMES } from "../drivers/metric-provider";
import { driftEnvironmentFields } from "./drift-schema";
import { durationSchema } from "./durations";
import { HooksSchema } from "./hooks-schema";
import { NotificationsSchema } from "./notifications-schema";
import { parsePercent } from "./percent";
import {
  APP_CONFIG_FORMATS,
  checkAppConfigEntry,
  checkApprovals,
  checkCrossSections,
  checkEnvironment,
  checkJudges,
  checkSteps,
  JUDGE_HELP,
  type SemanticIssue,
} from "./semantic";

export const PERCENT_PATTERN = "^[0-9]+(\\.[0-9]+)?%$";
export const NAME_PATTERN = "^[a-z][a-z0-9-]*$";

/** Reports SemanticIssues from a superRefine (paths are relative to the refined value). */
function report(ctx: z.RefinementCtx, issues: SemanticIssue[]): void {
  for (const issue of issues) {
    if (issue.severity === "warning") continue; // warnings are the loader's business
    ctx.addIssue({
      code: "custom",
      path: issue.segments,
      message: issue.message,
      params: { code: issue.code, expected: issue.expected, found: issue.found, fix: issue.fix },
    });
  }
}

// ---------------------------------------------------------------------------- scalars

/** `"20%"` or `0.2` → 0.2. */
function percent(description: string, maxFraction?: number) {
  return z
    .union([z.number(), z.string().meta({ pattern: PERCENT_PATTERN })])
    .meta({ description: `${description}. A percentage like "20%" or a fraction like 0.2.` })
    .transform((value, ctx) => {
      const r = parsePercent(value, maxFraction === undefined ? {} : { maxFraction });
      if (r.ok) return r.fraction;
      ctx.addIssue({
        code: "custom",
        message: r.reason,
        params: {
          code: "invalid-percent",
          expected: 'a percentage like "20%" or a fraction like 0.2',
          fix: r.fix,
        },
      });
      return z.NEVER;
    });
}

/** Absolute judge limit: a number in the metric's own unit, or a percentage ("1%" → 0.01). */
function threshold(description: string) {
  return z
    .union([z.number(), z.string().meta({ pattern: PERCENT_PATTERN })])
    .meta({
      description: `${description}. A number in the metric's unit, or a percentage like "1%" (= 0.01).`,
    })
    .transform((value, ctx) => {
      if (typeof value === "number") return value;
      const r = parsePercent(value);
      if (r.ok) return r.fraction;
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not a number or a percentage`,
        params: {
          code: "invalid-threshold",
          expected: 'a number such as 0.01 or a percentage such as "1%"',
          fix: r.fix,
        },
      });
      return z.NEVER;
    });
}

/** Ratio to the baseline: any positive number (0.95, 1.1) or a percentage ("95%"). */
function ratio(description: string) {
  return z
    .union([z.number(), z.string().meta({ pattern: PERCENT_PATTERN })])
    .meta({ description: `${description}. A ratio such as 0.95 or a percentage such as "95%".` })
    .transform((value, ctx) => {
      let n: number | undefined;
      if (typeof value === "number") n = value;
      else {
        const r = parsePercent(value);
        if (r.ok) n = r.fraction;
      }
      if (n !== undefined && n > 0) return n;
      ctx.addIssue({
        code: "custom",
        message: n === undefined ? `"${value}" is not a ratio` : "the ratio must be greater than 0",
        params: {
          code: "invalid-ratio",
          expected: 'a positive ratio such as 0.95 or "95%"',
          fix: "write e.g. 0.95",
        },
      });
      return z.NEVER;
    });
}

const name = (what: string) =>
  z
    .string()
    .max(63)
    .regex(new RegExp(NAME_PATTERN))
    .meta({ description: `${what}: lowercase letters, digits and dashes, starting with a letter` });

const int = (description: string) => z.number().int().meta({ description });

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);

// ---------------------------------------------------------------------------- run

export const RunSchema = z
  .strictObject({
    command: z.string().min(1).meta({ description: "Shell command that starts one instance of the service" }),
    instances: int("Instances per version").min(1).max(64).default(1),
    healthPath: z
      .string()
      .regex(/^\//)
      .meta({ description: "HTTP path that answers 2xx when an instance is healthy" })
      .default("/health"),
    env: z
      .record(envName, z.union([z.string(), z.number(), z.boolean()]).transform(String))
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      .meta({ description: "Environment variables for each instance; values may use ${env:NAME}" })
      .default({}),
    startTimeout: durationSchema("How long an instance may take to become healthy").prefault("30s"),
  })
  .meta({ description: "How one instance of a version starts (local target)" });

// ---------------------------------------------------------------------------- environments

export const ApprovalsSchema = z
  .strictObject({
    approvers: z.array(z.string().min(1)).meta({ description: "User names allowed to approve gates" }),
    signers: z
      .string()
      .min(1)
      .meta({
        description:
          "Allowed-signers file (as Git's: `alice ssh-ed25519 AAAA…`), relative to this file: every start and decision must be signed by a key it lists for the actor",
      })
      .optional(),
    allowSelfApproval: z
      .boolean()
      .meta({ description: "May the person who started the deployment approve it? Default false" })
      .default(false),
    timeout: durationSchema("How long a gate waits for a decision").prefault("24h"),
    onTimeout: z
      .enum(["abort", "reject"])
      .meta({ description: "abort: roll back as an abort; reject: roll back as a rejected approval" })
      .default("abort"),
  })
  .superRefine((value, ctx) => report(ctx, checkApprovals(value)));

const arn = (description: string) => z.string().regex(/^arn:/).meta({ description });

export const AwsTargetSchema = z
  .strictObject({
    region: z.string().min(1).meta({ description: "AWS region, e.g. eu-west-1" }),
    cluster: z.string().min(1).meta({ description: "ECS cluster name (Fargate capacity)" }),
    listenerArn: arn("ALB listener whose weighted rule shifts traffic"),
    image: z.string().min(1).meta({
      description:
        "Container image when `deploy --artifact` names none; $version is replaced by the version deployed",
    }),
    url: z
      .string()
      .regex(/^https?:\/\/[^/\s]+\/?$/, "a base URL such as https://shop.example.com")
      .meta({
        description:
          "The URL users hit (a host the listener rule matches); default: the load balancer's DNS name and the listener's port",
      })
      .optional(),
    containerPort: int("Port the container listens on").min(1).max(65535).default(8080),
    cpu: z
      .union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)])
      .meta({ description: "Fargate task CPU units (256 = 0.25 vCPU)" })
      .default(256),
    memory: int("Fargate task memory in MiB (must fit the CPU size)").min(512).max(30720).default(512),
    desiredCount: int("Tasks per version; default run.instances").min(1).max(1000).optional(),
    subnets: z
      .array(z.string().regex(/^subnet-/))
      .min(1)
      .meta({ description: "Subnets of the tasks; default the load balancer's subnets" })
      .optional(),
    securityGroups: z
      .array(z.string().regex(/^sg-/))
      .meta({ description: "Extra security groups for the tasks (e.g. database access)" })
      .default([]),
    assignPublicIp: z
      .boolean()
      .meta({ description: "Give tasks a public IP (only for public subnets without NAT)" })
      .default(false),
    executionRoleArn: arn(
      "Task execution role (pull image, read secrets); default: one is created",
    ).optional(),
    taskRoleArn: arn("Role the application runs as").optional(),
    secrets: z
      .record(envName, arn("Secrets Manager secret or SSM parameter ARN (optionally :json-key::)"))
      .meta({
        description: "Environment variables filled from secrets by reference; values never enter the config",
      })
      .default({}),
    rule: z
      .strictObject({
        priority: int("Listener rule priority (unique per listener)").min(1).max(50000),
        hosts: z.array(z.string().min(1)).meta({ description: "Host header conditions" }).optional(),
        paths: z.array(z.string().min(1)).meta({ description: "Path pattern conditions" }).optional(),
      })
      .meta({ description: "The listener rule that splits traffic; at least one of hosts/paths" })
      .refine((r) => (r.hosts?.length ?? 0) + (r.paths?.length ?? 0) > 0, {
        message: "rule needs hosts or paths",
      })
      .optional(),
    deregistrationDelay: durationSchema("How long a target drains before it is removed").prefault("30s"),
    targetHealthTimeout: durationSchema("How long traffic shifting waits for healthy targets").prefault("5m"),
    logRetentionDays: int("CloudWatch Logs retention of the task logs").min(1).default(14),
    tags: z
      .record(z.string().min(1).max(128), z.string().max(256))
      .meta({ description: "Extra tags on every resource" })
      .default({}),
  })
  .meta({ description: "AWS target settings (ECS Fargate behind a weighted ALB listener rule)" });

export const LocalTargetSchema = z
  .strictObject({
    listen: z
      .string()
      .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([1-9][0-9]{0,4})$/, "host:port, e.g. 127.0.0.1:8080")
      .meta({
        description:
          "The service's public address on this machine (host:port), the same for every version; default: a free port",
      })
      .optional(),
  })
  .meta({ description: "Local target settings (versions run as processes behind a local router)" });

export const EnvironmentSchema = z
  .strictObject({
    target: z.enum(["local", "aws"]).meta({ description: "Where versions run: local processes or AWS" }),
    local: LocalTargetSchema.optional(),
    approvals: ApprovalsSchema.optional(),
    compensationAttentionAfter: durationSchema(
      "How long a failing compensation retries before the deployment is marked needs-attention",
    ).prefault("10m"),
    aws: AwsTargetSchema.optional(),
    ...driftEnvironmentFields,
    hooks: HooksSchema.optional(),
    notifications: NotificationsSchema.optional(),
  })
  .superRefine((value, ctx) => report(ctx, checkEnvironment(value)));

// ---------------------------------------------------------------------------- database

export const DatabaseSchema = z.strictObject({
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
  url: z.string().min(1).meta({ description: 'PostgreSQL connection URL, usually "${env:NAME}"' }),
  migrations: z.string().min(1).meta({ description: "Folder of migration files, relative to this file" }),
});

// ---------------------------------------------------------------------------- release

const HttpCheckSchema = z.strictObject({
  http: z.strictObject({
    path: z
      .string()
      .regex(/^\//)
      .meta({ description: "Request path on the green environment, e.g. /health" }),
    method: z.enum(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]).default("GET"),
    expect: int("Expected HTTP status").min(100).max(599).default(200),
    bodyContains: z.string().optional().meta({ description: "Text the response body must contain" }),
    timeout: durationSchema("Request timeout").prefault("5s"),
  }),
});

const CommandCheckSchema = z.strictObject({
  command: z.string().min(1).meta({
    description:
      "Smoke-test command; $GREEN_URL points at green ($GREEN_HEADERS: the headers that select it, one per line). Exit 0 = pass",
  }),
  timeout: durationSchema("How long the command may run").prefault("2m"),
});

export const VerifyCheckSchema = z
  .union([HttpCheckSchema, CommandCheckSchema])
  .meta({ description: "An HTTP check { http: { path, expect } } or a smoke-test { command }" });

export const LoadTestSchema = z.strictObject({
  rps: z.number().positive().meta({ description: "Requests per second sent to green" }),
  duration: durationSchema("How long the load test runs"),
  path: z.string().regex(/^\//).default("/"),
  maxErrorRate: percent("Largest acceptable share of failed requests", 1).prefault("1%"),
  maxP95: durationSchema("Largest acceptable p95 latency").optional(),
});

// Bare field schemas; the analysis section adds defaults, a step override does not
// (an override contains only what it changes).
const analysisFields = {
  interval: () => durationSchema("Time between two measurements"),
  minRequests: () => int("Measurements with fewer requests are inconclusive").min(0),
  failureLimit: () => int("Failed measurements tolerated before the analysis fails").min(0),
  consecutiveErrorLimit: () => int("Consecutive provider errors tolerated").min(0),
  inconclusiveLimit: () => int("Inconclusive measurements tolerated before the analysis fails").min(0),
};

export const AnalysisOverrideSchema = z
  .strictObject({
    interval: analysisFields.interval().optional(),
    minRequests: analysisFields.minRequests().optional(),
    failureLimit: analysisFields.failureLimit().optional(),
    consecutiveErrorLimit: analysisFields.consecutiveErrorLimit().optional(),
    inconclusiveLimit: analysisFields.inconclusiveLimit().optional(),
  })
  .meta({ description: "Analysis settings for this step only" });

export const MetricSchema = z
  .strictObject({
    name: name("Metric name"),
    provider: z.enum(METRIC_PROVIDER_NAMES).meta({ description: "Where the measurement comes from" }),
    query: z
      .string()
      .min(1)
      .meta({ description: "Provider-specific query; $version is replaced by blue's or green's version" }),
    critical: z
      .boolean()
      .meta({ description: "A single failure fails the analysis immediately" })
      .default(false),
    noData: z
      .enum(["inconclusive", "fail"])
      .meta({ description: "What a measurement without data counts as" })
      .default("inconclusive"),
    min: threshold("Absolute lower limit").optional(),
    max: threshold("Absolute upper limit").optional(),
    maxIncrease: percent("Largest increase of green over blue").optional(),
    minRatioToBaseline: ratio("Smallest green / blue ratio").optional(),
    mannWhitney: z
      .strictObject({
        tolerance: percent("Relative shift of green vs. blue that is tolerated").prefault(0.1),
        confidence: percent("Confidence required before calling a difference", 0.999).prefault(0.95),
        worse: z.enum(["higher", "lower"]).meta({ description: "Which direction is bad" }).default("higher"),
      })
      .optional()
      .meta({ description: "Mann-Whitney U test of green against blue" }),
  })
  .meta({ description: `A measurement judged on every interval; ${JUDGE_HELP}` })
  .superRefine((value, ctx) => report(ctx, checkJudges(value)))
  .transform(({ min, max, maxIncrease, minRatioToBaseline, mannWhitney, ...rest }) => {
    let judge:
      | { kind: "threshold"; min?: number; max?: number }
      | { kind: "maxIncrease"; fraction: number }
      | { kind: "minRatioToBaseline"; ratio: number }
      | { kind: "mannWhitney"; tolerance: number; confidence: number; worse: "higher" | "lower" };
    if (maxIncrease !== undefined) judge = { kind: "maxIncrease", fraction: maxIncrease };
    else if (minRatioToBaseline !== undefined)
      judge = { kind: "minRatioToBaseline", ratio: minRatioToBaseline };
    else if (mannWhitney !== undefined) judge = { kind: "mannWhitney", ...mannWhitney };
    else {
      judge = { kind: "threshold" };
      if (min !== undefined) judge.min = min;
      if (max !== undefined) judge.max = max;
    }
    return { ...rest, judge };
  });

export const AnalysisSchema = z.strictObject({
  interval: analysisFields.interval().prefault("30s"),
  minRequests: analysisFields.minRequests().default(0),
  failureLimit: analysisFields.failureLimit().default(0),
  consecutiveErrorLimit: analysisFields.consecutiveErrorLimit().default(4),
  inconclusiveLimit: analysisFields.inconclusiveLimit().default(0),
  metrics: z.array(MetricSchema).min(1).meta({ description: "What to measure and how to judge it" }),
});

export const TrafficStepSchema = z
  .strictObject({
    weight: z
      .number()
      .gt(0)
      .lte(100)
      .meta({ description: "Percent of traffic sent to green (0 < weight ≤ 100, increasing, last = 100)" }),
    bake: durationSchema("How long to hold this weight while analysis runs").optional(),
    analysis: AnalysisOverrideSchema.optional(),
  })
  .transform(({ bake, ...rest }) => ({ kind: "traffic" as const, ...rest, bake: bake ?? 0 }));

export const ApprovalStepSchema = z
  .strictObject({
    approval: name("Approval gate name; approve with `shipshape approve <deployment> <gate>`"),
  })
  .transform(({ approval }) => ({ kind: "approval" as const, approval }));

export const StepSchema = z.union([TrafficStepSchema, ApprovalStepSchema]).meta({
  description: "A traffic step { weight, bake?, analysis? } or an approval gate { approval: name }",
});

export const PostPromotionSchema = z.strictObject({
  watch: durationSchema("How long analysis keeps watching after 100%").prefault("10m"),
  keepPrevious: durationSchema("How long blue stays warm for an instant rollback").prefault("30m"),
});

export const ReleaseSchema = z.strictObject({
  verify: z
    .array(VerifyCheckSchema)
    .meta({ description: "Checks against green before it gets traffic" })
    .default([]),
  loadTest: LoadTestSchema.optional(),
  steps: z
    .array(StepSchema)
    .min(1)
    .meta({ description: "Traffic steps (weights increasing to 100) and approval gates" })
    .superRefine((value, ctx) => report(ctx, checkSteps(value))),
  analysis: AnalysisSchema.optional(),
  postPromotion: PostPromotionSchema.prefault({}),
});

// ---------------------------------------------------------------------------- app config

export const AppConfigEntrySchema = z
  .strictObject({
    file: z
      .string()
      .min(1)
      .meta({ description: "The service's config file (JSON, YAML or .env), relative to this file" }),
    format: z.enum(APP_CONFIG_FORMATS).optional().meta({ description: "Defaults to the file extension" }),
    schema: z.string().min(1).optional().meta({ description: "JSON Schema file the config must satisfy" }),
    check: z.string().min(1).optional().meta({
      description: "Command that exits 0 when the file is valid; $SHIPSHAPE_CONFIG_FILE names the file",
    }),
    timeout: durationSchema("How long the check command may run").prefault("30s"),
  })
  .superRefine((value, ctx) => report(ctx, checkAppConfigEntry(value)));

// ---------------------------------------------------------------------------- root

export const ReleaseConfigSchema = z
  .strictObject({
    service: name("Service name"),
    run: RunSchema,
    environments: z
      .record(z.string().max(63).regex(new RegExp(NAME_PATTERN)), EnvironmentSchema)
      .meta({ description: "Where the service can be deployed, by name" }),
    database: DatabaseSchema.optional(),
    release: ReleaseSchema,
    appConfig: z
      .array(AppConfigEntrySchema)
      .meta({ description: "The service's own config files, checked before any deployment side effect" })
      .default([]),
  })
  .meta({ title: "Shipshape release config", description: "shipshape.yaml: how a service is released" })
  .superRefine((value, ctx) => report(ctx, checkCrossSections(value)));

/** The YAML as written (what editors and the JSON Schema describe). */
export type ReleaseConfigInput = z.input<typeof ReleaseConfigSchema>;
/** The normalized config (durations in ms, percentages as fractions, defaults filled). */
export type ReleaseConfig = z.output<typeof ReleaseConfigSchema>;
export type Environment = ReleaseConfig["environments"][string];
export type Approvals = NonNullable<Environment["approvals"]>;
export type AwsTarget = z.output<typeof AwsTargetSchema>;
export type Step = ReleaseConfig["release"]["steps"][number];
export type TrafficStep = Extract<Step, { kind: "traffic" }>;
export type ApprovalStep = Extract<Step, { kind: "approval" }>;
export type Analysis = NonNullable<ReleaseConfig["release"]["analysis"]>;
export type AnalysisOverride = NonNullable<TrafficStep["analysis"]>;
export type Metric = Analysis["metrics"][number];
export type Judge = Metric["judge"];
export type VerifyCheck = ReleaseConfig["release"]["verify"][number];
export type LoadTest = NonNullable<ReleaseConfig["release"]["loadTest"]>;
export type AppConfigEntry = ReleaseConfig["appConfig"][number];
