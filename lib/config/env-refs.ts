// `${env:NAME}` references. They stay unresolved in the loaded config (and in its
// digest), so a config can be validated anywhere and secrets never land in
// workflow history; the deployment resolves them at deploy time, in the process
// that needs them, with resolveEnvRefs. Errors name the variable and the key
// path, never a value. Pure module: the environment is passed in.

import { formatPath, type PathSegment, type Problem } from "./problems";
import { suggest } from "./suggest";

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A value that is exactly one `${env:NAME}` and nothing else (a secret given by reference). */
export const WHOLE_ENV_REF = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;
const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
const ANY_BRACED = /\$\{([^}]*)\}?/g;

export interface EnvRef {
  /** Key path of the string holding the reference, e.g. `database.url`. */
  path: string;
  segments: PathSegment[];
  /** Variable name. */
  name: string;
}

export interface EnvRefSyntaxIssue {
  segments: PathSegment[];
  message: string;
  fix: string;
  found: string;
}

/** Every well-formed reference in a string. */
export function envRefNames(text: string): string[] {
  return [...text.matchAll(ENV_REF)].map((m) => m[1]!);
}

/** Malformed references in one string: `${env:}`, `${ENV:X}`, `${X}`, an unclosed `${env:X`. */
export function envRefSyntaxIssues(text: string, segments: PathSegment[]): EnvRefSyntaxIssue[] {
  const out: EnvRefSyntaxIssue[] = [];
  for (const match of text.matchAll(ANY_BRACED)) {
    const whole = match[0];
    const inner = match[1] ?? "";
    const closed = whole.endsWith("}");
    const prefixed = /^\s*env\s*:\s*(.*?)\s*$/i.exec(inner);
    const name = prefixed ? prefixed[1]! : inner.trim();
    const valid = closed && /^env:[A-Za-z_][A-Za-z0-9_]*$/.test(inner);
    if (valid) continue;
    const cleanName = name.replace(/[^A-Za-z0-9_]/g, "_");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
    const proper = cleanName && ENV_NAME_PATTERN.test(cleanName) ? `\${env:${cleanName}}` : "${env:NAME}";
    let message: string;
    if (!closed) message = `the reference ${whole} is not closed with }`;
    else if (!prefixed)
      message = `${whole} is not a Shipshape reference; environment variables are written \${env:NAME}`;
    else if (name === "") message = `${whole} names no variable`;
    else if (!ENV_NAME_PATTERN.test(name))
      message = `"${name}" is not a valid environment variable name (letters, digits, _; not starting with a digit)`;
    else message = `write the reference in lowercase and without spaces: ${proper}`;
    out.push({ segments, message, fix: `write ${proper}`, found: whole });
  }
  return out;
}

/** Walks any value and lists the references in its strings, with their key paths. */
export function listEnvRefs(value: unknown, segments: PathSegment[] = []): EnvRef[] {
  const out: EnvRef[] = [];
  const visit = (v: unknown, at: PathSegment[]) => {
    if (typeof v === "string") {
      for (const name of envRefNames(v)) out.push({ path: formatPath(at), segments: at, name });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => {
        visit(item, [...at, i]);
      });
    } else if (v !== null && typeof v === "object") {
      for (const [k, item] of Object.entries(v)) visit(item, [...at, k]);
    }
  };
  visit(value, segments);
  return out;
}

export interface ResolveOptions {
  /** Config file name for the problems. */
  file?: string;
  /** Where each reference is in the file (from loadReleaseConfig's `envRefs`). */
  positions?: ReadonlyArray<{ path: string; name: string; line: number; column: number }>;
}

export type ResolveResult<T> = { ok: true; config: T } | { ok: false; problems: Problem[] };

/**
 * Returns a copy of `config` with every `${env:NAME}` replaced by `env[NAME]`.
 * Unset or empty variables are problems naming the variable and the key path;
 * no value (set or not) ever appears in a problem.
 */
export function resolveEnvRefs<T>(
  config: T,
  env: Readonly<Record<string, string | undefined>>,
  options: ResolveOptions = {},
): ResolveResult<T> {
  const problems: Problem[] = [];
  const file = options.file ?? "shipshape.yaml";
  const known = Object.keys(env);
  const replace = (text: string, at: PathSegment[]): string =>
    text.replace(ENV_REF, (_whole, name: string) => {
      const value = env[name];
      if (value !== undefined && value !== "") return value;
      const path = formatPath(at);
      const pos = options.positions?.find((p) => p.path === path && p.name === name);
      const close = suggest(name, known);
      problems.push({
        file,
        line: pos?.line ?? 1,
        column: pos?.column ?? 1,
        path,
        severity: "error",
        code: "env-missing",
        message:
          value === undefined
            ? `environment variable ${name} is not set (referenced by ${path})`
            : `environment variable ${name} is set but empty (referenced by ${path})`,
        expected: `${name} set to a non-empty value in the environment of the process that deploys`,
        fix: close
          ? `did you mean \`${close}\`? otherwise set ${name} (e.g. export ${name}=…) where the Shipshape worker runs`
          : `set ${name} (e.g. export ${name}=…) where the Shipshape worker runs`,
      });
      return "";
    });
  const visit = (v: unknown, at: PathSegment[]): unknown => {
    if (typeof v === "string") return replace(v, at);
    if (Array.isArray(v)) return v.map((item, i) => visit(item, [...at, i]));
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, visit(item, [...at, k])]));
    }
    return v;
  };
  const resolved = visit(config, []) as T;
  return problems.length === 0 ? { ok: true, config: resolved } : { ok: false, problems };
}

/** Throwing variant for activities: the error message lists the variables, never values. */
export function resolveEnvRefsOrThrow<T>(
  config: T,
  env: Readonly<Record<string, string | undefined>>,
  options: ResolveOptions = {},
): T {
  const r = resolveEnvRefs(config, env, options);
  if (r.ok) return r.config;
  throw new Error(r.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message}`).join("\n"));
}
