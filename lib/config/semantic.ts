// Checks that span more than one field: step order, judges per metric, approval
// rules, cross-section references, `${env:…}` syntax. Each works on *raw* data
// (whatever the YAML contained) and is defensive about types, so the loader can
// run all of them even when the schema found other problems — every problem is
// reported at once. schema.ts calls the same functions from superRefine, so the
// zod schema alone enforces them too. Pure module.

import { envRefSyntaxIssues } from "./env-refs";
import { parsePercent } from "./percent";
import type { PathSegment, Severity } from "./problems";
import { checkPromotionPaths } from "./promotion-paths";

export interface SemanticIssue {
  /** Absolute path for checkSemantics; relative to the checked value for the per-object checks. */
  segments: PathSegment[];
  message: string;
  code: string;
  expected?: string;
  found?: string;
  fix?: string;
  severity?: Severity;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const nameOf = (v: Obj, i: number) => (typeof v.name === "string" ? `"${v.name}"` : `#${i + 1}`);

// ---------------------------------------------------------------------------- steps

/** Weights strictly increase within (0, 100] and the last traffic step is 100. */
export function checkSteps(steps: unknown): SemanticIssue[] {
  if (!Array.isArray(steps)) return [];
  const out: SemanticIssue[] = [];
  let previous: { weight: number; index: number } | undefined;
  let lastTraffic: { weight: unknown; index: number } | undefined;
  const gates = new Map<string, number>();
  steps.forEach((step, index) => {
    if (!isObj(step)) return;
    if ("weight" in step && "approval" in step) return; // the schema reports the mix
    if (typeof step.approval === "string") {
      const first = gates.get(step.approval);
      if (first !== undefined) {
        out.push({
          segments: [index, "approval"],
          code: "duplicate-gate",
          message: `approval gate "${step.approval}" is already used by release.steps[${first}]`,
          expected: "a unique gate name (operators approve gates by name)",
          fix: `rename it, e.g. "${step.approval}-2"`,
        });
      } else gates.set(step.approval, index);
      return;
    }
    if (!("weight" in step)) return;
    lastTraffic = { weight: step.weight, index };
    const w = step.weight;
    if (!isNum(w) || w <= 0 || w > 100) return; // the schema reports type and range
    if (previous && w <= previous.weight) {
      out.push({
        segments: [index, "weight"],
        code: "weights-not-increasing",
        message: `step weights must be strictly increasing, but ${w} comes after ${previous.weight} (release.steps[${previous.index}])`,
        expected: `a weight greater than ${previous.weight} and at most 100`,
        found: String(w),
        fix: "order the traffic steps by weight (e.g. 1 → 10 → 100) and drop duplicates",
      });
    }
    if (!previous || w > previous.weight) previous = { weight: w, index };
  });
  // With a malformed step (a typo in `weight`, a bare number) "which step is last" is a
  // guess; the schema reports the malformed step and the rest waits for the fix.
  if (steps.some((s) => !isObj(s) || (!("weight" in s) && !("approval" in s)))) return out;
  if (lastTraffic === undefined) {
    if (steps.some(isObj)) {
      out.push({
        segments: [],
        code: "no-traffic-step",
        message: "release.steps has no traffic step, so traffic would never move to the new version",
        expected: "at least one step with a weight, the last one `weight: 100`",
        fix: "add `- { weight: 100, bake: 10m }` as the last step",
      });
    }
    return out;
  }
  const last: { weight: unknown; index: number } = lastTraffic;
  if (isNum(last.weight) && last.weight > 0 && last.weight < 100) {
    out.push({
      segments: [last.index, "weight"],
      code: "last-weight-not-100",
      message: `the last traffic step must send all traffic (100) to the new version, but it sends ${last.weight}`,
      expected: "100 on the last traffic step",
      found: String(last.weight),
      fix: "add `- { weight: 100, bake: 10m }` after it",
    });
  }
  steps.forEach((step, index) => {
    if (index > last.index && isObj(step) && typeof step.approval === "string") {
      out.push({
        segments: [index],
        code: "gate-after-full-traffic",
        severity: "warning",
        message: `approval gate "${step.approval}" comes after 100% of traffic has moved; it only delays the post-promotion phase`,
        fix: "move it before the `weight: 100` step",
      });
    }
  });
  return out;
}

// ---------------------------------------------------------------------------- metrics

const JUDGE_KINDS: ReadonlyArray<{ kind: string; keys: string[] }> = [
  { kind: "min/max", keys: ["min", "max"] },
  { kind: "maxIncrease", keys: ["maxIncrease"] },
  { kind: "minRatioToBaseline", keys: ["minRatioToBaseline"] },
  { kind: "mannWhitney", keys: ["mannWhitney"] },
];
export const JUDGE_HELP =
  "exactly one judge: `max`/`min` (absolute limits, both together form a range), `maxIncrease` (vs. blue, e.g. 20%), `minRatioToBaseline` (e.g. 0.95) or `mannWhitney` (statistical test)";

function thresholdValue(v: unknown): number | undefined {
  if (isNum(v)) return v;
  if (typeof v === "string" && v.trim().endsWith("%")) {
    const r = parsePercent(v);
    return r.ok ? r.fraction : undefined;
  }
  return undefined;
}

/** One metric: exactly one kind of judge, and min ≤ max for a range. */
export function checkJudges(metric: unknown, index = 0): SemanticIssue[] {
  if (!isObj(metric)) return [];
  const present = JUDGE_KINDS.map((j) => ({
    ...j,
    keys: j.keys.filter((k) => metric[k] !== undefined),
  })).filter((j) => j.keys.length > 0);
  const name = nameOf(metric, index);
  if (present.length === 0) {
    return [
      {
        segments: [],
        code: "judge-missing",
        message: `metric ${name} has no judge, so its measurements could never fail the analysis`,
        expected: JUDGE_HELP,
        fix: "add e.g. `max: 0.01` (absolute limit) or `maxIncrease: 20%` (relative to blue)",
      },
    ];
  }
  const out: SemanticIssue[] = [];
  if (present.length > 1) {
    const kinds = present.map((j) => j.kind);
    for (const extra of present.slice(1)) {
      out.push({
        segments: [extra.keys[0]!],
        code: "judge-multiple",
        message: `metric ${name} has ${present.length} kinds of judge (${kinds.join(", ")}); each metric takes exactly one`,
        expected: JUDGE_HELP,
        fix: `keep one judge; to judge the same query another way add a second metric, e.g. name: ${typeof metric.name === "string" ? metric.name : "metric"}-${extra.kind.replace("/", "-")}`,
      });
    }
  }
  const min = thresholdValue(metric.min);
  const max = thresholdValue(metric.max);
  if (min !== undefined && max !== undefined && min > max) {
    out.push({
      segments: ["min"],
      code: "judge-range",
      message: `metric ${name}: min (${min}) is greater than max (${max}), so every measurement fails`,
      expected: "min ≤ max",
      fix: "swap min and max",
    });
  }
  return out;
}

// ---------------------------------------------------------------------------- approvals

/** Approvers present, unique, and two or more when people may not approve their own deployment. */
export function checkApprovals(approvals: unknown): SemanticIssue[] {
  if (!isObj(approvals) || !Array.isArray(approvals.approvers)) return [];
  const list = approvals.approvers;
  const out: SemanticIssue[] = [];
  if (list.length === 0) {
    out.push({
      segments: ["approvers"],
      code: "approvers-empty",
      message: "approvers is empty, so nobody could ever approve a deployment to this environment",
      expected: "a list of user names, e.g. [alice, bob]",
      found: "an empty list",
      fix: "list the people allowed to approve, e.g. approvers: [alice, bob]",
    });
    return out;
  }
  const seen = new Set<unknown>();
  list.forEach((a, i) => {
    if (seen.has(a)) {
      out.push({
        segments: ["approvers", i],
        code: "approver-duplicate",
        message: `approver ${JSON.stringify(a)} is listed twice`,
        fix: "remove the duplicate",
      });
    }
    seen.add(a);
  });
  const selfApproval = approvals.allowSelfApproval === true;
  if (!selfApproval && seen.size < 2) {
    out.push({
      segments: ["approvers"],
      code: "approvers-too-few",
      message:
        "with allowSelfApproval: false (the default) at least two approvers are needed: whoever deploys cannot approve their own deployment",
      expected: "two or more distinct approvers",
      found: `${seen.size} approver`,
      fix: "add a second approver, or set allowSelfApproval: true",
    });
  }
  return out;
}

// ---------------------------------------------------------------------------- environments

export function checkEnvironment(env: unknown): SemanticIssue[] {
  if (!isObj(env)) return [];
  if (env.target === "aws" && env.aws === undefined) {
    return [
      {
        segments: ["target"],
        code: "aws-section-missing",
        message: "target: aws needs an `aws` section (region, cluster, listenerArn, image)",
        fix: "add `aws: { region: …, cluster: …, listenerArn: …, image: … }` to this environment, or use target: local",
      },
    ];
  }
  if (env.target === "aws" && env.local !== undefined) {
    return [
      {
        segments: ["local"],
        code: "local-section-unused",
        message: "this environment has a `local` section but target: aws, so it would be ignored",
        fix: "set target: local, or remove the local section",
      },
    ];
  }
  if (env.target === "local" && env.aws !== undefined) {
    return [
      {
        segments: ["aws"],
        code: "aws-section-unused",
        message: "this environment has an `aws` section but target: local, so it would be ignored",
        fix: "set target: aws, or remove the aws section",
      },
    ];
  }
  return [];
}

// ---------------------------------------------------------------------------- app config

export const APP_CONFIG_FORMATS = ["json", "yaml", "env"] as const;
export type AppConfigFormat = (typeof APP_CONFIG_FORMATS)[number];

/** json / yaml / env from a file name, or undefined when the extension says nothing. */
export function inferAppConfigFormat(file: string): AppConfigFormat | undefined {
  const base = file.split(/[\\/]/).pop() ?? file;
  if (/\.json$/i.test(base)) return "json";
  if (/\.ya?ml$/i.test(base)) return "yaml";
  if (/^\.env(\..*)?$/i.test(base) || /\.env$/i.test(base)) return "env";
  return undefined;
}

export function checkAppConfigEntry(entry: unknown): SemanticIssue[] {
  if (!isObj(entry)) return [];
  const out: SemanticIssue[] = [];
  if (entry.schema === undefined && entry.check === undefined) {
    out.push({
      segments: [],
      code: "app-config-unchecked",
      message:
        "an appConfig entry needs a `schema` (JSON Schema file) or a `check` command, otherwise nothing is checked",
      fix: "add `schema: ./config/app.schema.json` or `check: <command that exits 0 when the file is valid>`",
    });
  }
  if (typeof entry.file === "string" && entry.format === undefined && !inferAppConfigFormat(entry.file)) {
    out.push({
      segments: ["file"],
      code: "app-config-format",
      message: `cannot tell the format of ${entry.file} from its name`,
      expected: "a .json, .yaml/.yml or .env file, or an explicit `format: json | yaml | env`",
      fix: "add `format: json`, `format: yaml` or `format: env` to the entry",
    });
  }
  return out;
}

// ---------------------------------------------------------------------------- whole config

function prefix(at: PathSegment[], issues: SemanticIssue[]): SemanticIssue[] {
  return issues.map((i) => ({ ...i, segments: [...at, ...i.segments] }));
}

/** Cross-section rules: gates need approvers everywhere, overrides need analysis, unique names. */
export function checkCrossSections(config: unknown): SemanticIssue[] {
  if (!isObj(config)) return [];
  const out: SemanticIssue[] = [];
  out.push(...checkPromotionPaths(config.environments));
  const release = isObj(config.release) ? config.release : {};
  const steps = Array.isArray(release.steps) ? release.steps : [];
  const firstGate = steps.findIndex((s) => isObj(s) && typeof s.approval === "string" && !("weight" in s));
  if (firstGate >= 0 && isObj(config.environments)) {
    const gate = (steps[firstGate] as Obj).approval as string;
    for (const [name, env] of Object.entries(config.environments)) {
      if (isObj(env) && env.approvals === undefined) {
        out.push({
          segments: ["environments", name],
          code: "approvals-missing",
          message: `release.steps[${firstGate}] is an approval gate ("${gate}") but environment ${name} has no approvers`,
          expected:
            "an `approvals` section with approvers in every environment when the release has approval gates",
          fix: `add \`approvals: { approvers: [alice, bob] }\` to environments.${name}`,
        });
      }
    }
  }
  if (release.analysis === undefined) {
    steps.forEach((s, i) => {
      if (isObj(s) && s.analysis !== undefined) {
        out.push({
          segments: ["release", "steps", i, "analysis"],
          code: "analysis-override-without-analysis",
          message: "this step overrides analysis settings but release.analysis is not defined",
          fix: "add a release.analysis section with metrics, or remove the override",
        });
      }
    });
  }
  const analysis = isObj(release.analysis) ? release.analysis : {};
  if (Array.isArray(analysis.metrics)) {
    const names = new Map<string, number>();
    analysis.metrics.forEach((m, i) => {
      if (!isObj(m) || typeof m.name !== "string") return;
      const first = names.get(m.name);
      if (first !== undefined) {
        out.push({
          segments: ["release", "analysis", "metrics", i, "name"],
          code: "duplicate-metric",
          message: `metric name "${m.name}" is already used by release.analysis.metrics[${first}]`,
          expected: "unique metric names (verdicts are reported per metric)",
          fix: `rename it, e.g. "${m.name}-2"`,
        });
      } else names.set(m.name, i);
    });
  }
  if (isObj(config.environments) && Object.keys(config.environments).length === 0) {
    out.push({
      segments: ["environments"],
      code: "environments-empty",
      message: "no environments are defined, so there is nowhere to deploy",
      fix: "add e.g. `production: { target: local }` under environments",
    });
  }
  return out;
}

function envRefSyntax(value: unknown, at: PathSegment[], out: SemanticIssue[]): void {
  if (typeof value === "string") {
    if (value.includes("${")) {
      for (const issue of envRefSyntaxIssues(value, at)) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
        out.push({ ...issue, code: "env-ref-syntax", expected: "${env:NAME}" });
      }
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      envRefSyntax(v, [...at, i], out);
    });
  } else if (isObj(value)) for (const [k, v] of Object.entries(value)) envRefSyntax(v, [...at, k], out);
}

/** Every semantic rule over a raw (unvalidated) config; paths are absolute. */
export function checkSemantics(raw: unknown): SemanticIssue[] {
  if (!isObj(raw)) return [];
  const out: SemanticIssue[] = [];
  const release = isObj(raw.release) ? raw.release : {};
  out.push(...prefix(["release", "steps"], checkSteps(release.steps)));
  const analysis = isObj(release.analysis) ? release.analysis : {};
  if (Array.isArray(analysis.metrics)) {
    analysis.metrics.forEach((m, i) => {
      out.push(...prefix(["release", "analysis", "metrics", i], checkJudges(m, i)));
    });
  }
  if (isObj(raw.environments)) {
    for (const [name, env] of Object.entries(raw.environments)) {
      out.push(...prefix(["environments", name], checkEnvironment(env)));
      if (isObj(env)) out.push(...prefix(["environments", name, "approvals"], checkApprovals(env.approvals)));
    }
  }
  if (Array.isArray(raw.appConfig)) {
    raw.appConfig.forEach((e, i) => {
      out.push(...prefix(["appConfig", i], checkAppConfigEntry(e)));
    });
  }
  out.push(...checkCrossSections(raw));
  envRefSyntax(raw, [], out);
  return out;
}
