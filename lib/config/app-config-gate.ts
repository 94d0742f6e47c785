// The application config gate: the service's own config files (JSON, YAML or
// .env), each checked against a JSON Schema (ajv) and/or by a check command,
// with problems at file:line:column inside those files. The deployment's
// preflight runs it before any side effect; `shipshape validate` runs it too.
//
// .env files hold secrets, so their values are never printed ("found" is left
// out) and no code frame is shown for them. Check commands run only when asked
// (runChecks), in their own process group with an allow-listed environment
// (check-env.ts), killed as a group on timeout; what they print is bounded and
// every resolved secret in it is redacted before it becomes a problem.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ErrorObject, ValidateFunction } from "ajv";
import { type ConfinedResult, readableBy, runConfinedCommand } from "../runtime/confined-command";
import type { CheckEnvironment } from "./check-env";
import { type ContainedPath, containedPath, outsideMessage, repositoryRoot } from "./contained-path";
import { formatDuration } from "./durations";
import type { Locator } from "./issues";
import { formatBytes, MAX_APP_CONFIG_BYTES } from "./limits";
import { describeValue, formatPath, type PathSegment, type Problem } from "./problems";
import { boundOutput, redactSecrets } from "./redact";
import type { AppConfigEntry } from "./schema";
import { inferAppConfigFormat } from "./semantic";
import { suggest } from "./suggest";
import { offsetToPosition, type Position, parseYamlSource } from "./yaml-source";

export interface AppConfigGateOptions {
  /** The release config file (for problems about the entry itself and for display paths). */
  releaseFile?: string;
  /** Positions inside the release config (from the loader); defaults to 1:1. */
  locate?: Pick<Locator, "valueAt">;
  /**
   * Run `check` commands (default false: a check is code from the repository,
   * so `shipshape validate` runs none unless asked with --run-checks).
   */
  runChecks?: boolean;
  /** The environment checks run in and the secrets redacted from their output (check-env.ts). */
  checkEnv?: CheckEnvironment;
}

interface ParsedFile {
  data: unknown;
  problems: Problem[];
  positionOf(segments: readonly PathSegment[], kind: "value" | "key" | "missing"): Position;
  secret: boolean;
}

// ---------------------------------------------------------------------------- parsing

/** App config files are data, larger than a release config; still bounded. */
const MAX_APP_CONFIG_KEYS = 50_000;

function parseJsonFile(text: string, file: string): ParsedFile {
  const source = parseYamlSource(text, file, { maxKeys: MAX_APP_CONFIG_KEYS });
  const problems: Problem[] = [];
  try {
    JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /at position (\d+)/.exec(message);
    const pos = at ? offsetToPosition(text, Number(at[1])) : { line: 1, column: 1 };
    problems.push({
      file,
      ...pos,
      path: "",
      severity: "error",
      code: "json-syntax",
      message: `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, "").replace(/^JSON\.parse: /, "")}`,
      fix: "fix the JSON syntax here (JSON has no comments, no trailing commas, and only double quotes)",
    });
  }
  return {
    data: source.data,
    problems: problems.length > 0 ? problems : source.syntax,
    secret: false,
    positionOf: (s, kind) =>
      kind === "key" ? source.keyAt(s) : kind === "missing" ? source.missingAt(s) : source.valueAt(s),
  };
}

function parseYamlFile(text: string, file: string): ParsedFile {
  const source = parseYamlSource(text, file, { maxKeys: MAX_APP_CONFIG_KEYS });
  return {
    data: source.data,
    problems: source.syntax,
    secret: false,
    positionOf: (s, kind) =>
      kind === "key" ? source.keyAt(s) : kind === "missing" ? source.missingAt(s) : source.valueAt(s),
  };
}

/** KEY=VALUE lines, `export ` prefix, `#` comments, single/double quotes. Values stay strings. */
export function parseEnvFile(text: string, file: string): ParsedFile {
  const data: Record<string, string> = {};
  const keys = new Map<string, Position>();
  const values = new Map<string, Position>();
  const problems: Problem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*(#.*)?$/.test(raw)) return;
    const m = /^(\s*)(export\s+)?([^=\s]*)(\s*)=(\s*)(.*)$/.exec(raw);
    if (!m) {
      problems.push({
        file,
        line,
        column: 1,
        path: "",
        severity: "error",
        code: "env-syntax",
        message: "this line is not KEY=VALUE",
        fix: "write KEY=value, or start the line with # to make it a comment",
      });
      return;
    }
    const key = m[3]!;
    const keyCol = m[1]!.length + (m[2]?.length ?? 0) + 1;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      problems.push({
        file,
        line,
        column: keyCol,
        path: key,
        severity: "error",
        code: "env-syntax",
        message:
          key === ""
            ? "the line has no variable name before ="
            : `${JSON.stringify(key)} is not a valid variable name`,
        expected: "letters, digits and _, not starting with a digit",
        fix: "rename the variable",
      });
      return;
    }
    const valueCol = keyCol + key.length + m[4]!.length + 1 + m[5]!.length;
    let value = m[6]!;
    const quote = value[0];
    if (quote === '"' || quote === "'") {
      const end = value.indexOf(quote, 1);
      if (end < 0) {
        problems.push({
          file,
          line,
          column: valueCol,
          path: key,
          severity: "error",
          code: "env-syntax",
          message: `the value of ${key} opens a ${quote === '"' ? "double" : "single"} quote that is not closed on this line`,
          fix: `close the quote with ${quote}`,
        });
        return;
      }
      value = value.slice(1, end);
      if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\"/g, '"');
    } else value = value.replace(/\s+#.*$/, "").trim();
    const first = keys.get(key);
    if (first) {
      problems.push({
        file,
        line,
        column: keyCol,
        path: key,
        severity: "error",
        code: "duplicate-key",
        message: `${key} is set twice (first at line ${first.line})`,
        fix: "keep one of them: tools disagree on which one wins",
      });
      return;
    }
    keys.set(key, { line, column: keyCol });
    values.set(key, { line, column: valueCol });
    data[key] = value;
  });
  return {
    data,
    problems,
    secret: true,
    positionOf: (s, kind) => {
      const key = s[0] === undefined ? undefined : String(s[0]);
      if (key === undefined) return { line: 1, column: 1 };
      const at = kind === "key" ? keys.get(key) : values.get(key);
      return at ?? { line: 1, column: 1 };
    },
  };
}

// ---------------------------------------------------------------------------- JSON Schema

type AjvOptions = ConstructorParameters<typeof import("ajv").default>[0];

/**
 * The Ajv of the schema's draft. Loaded when a schema is checked, and only
 * that draft's: `shipshape validate` runs in every pipeline step.
 */
function ajvFor(draft: string, options: AjvOptions) {
  if (draft.includes("2020-12")) {
    const { default: Ajv2020 } = require("ajv/dist/2020") as typeof import("ajv/dist/2020");
    return new Ajv2020(options);
  }
  if (draft.includes("2019-09")) {
    const { default: Ajv2019 } = require("ajv/dist/2019") as typeof import("ajv/dist/2019");
    return new Ajv2019(options);
  }
  const { default: Ajv } = require("ajv") as typeof import("ajv");
  return new Ajv(options);
}

function compileSchema(schema: Record<string, unknown>, coerce: boolean): ValidateFunction {
  const draft = typeof schema.$schema === "string" ? schema.$schema : "";
  const options = {
    allErrors: true,
    strict: false,
    verbose: true,
    allowUnionTypes: true,
    coerceTypes: coerce,
  };
  const ajv = ajvFor(draft, options);
  const { default: addFormats } = require("ajv-formats") as typeof import("ajv-formats");
  addFormats(ajv);
  return ajv.compile(schema);
}

function pointerSegments(pointer: string, data: unknown): PathSegment[] {
  if (pointer === "") return [];
  const out: PathSegment[] = [];
  let v = data;
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(v)) {
      out.push(Number(part));
      v = v[Number(part)];
    } else {
      out.push(part);
      v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[part] : undefined;
    }
  }
  return out;
}

function valueAt(data: unknown, segments: readonly PathSegment[]): unknown {
  let v = data;
  for (const s of segments)
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[String(s)] : undefined;
  return v;
}

function schemaErrorToProblem(
  err: ErrorObject,
  parsed: ParsedFile,
  file: string,
  schemaFile: string,
): Problem {
  const segments = pointerSegments(err.instancePath, parsed.data);
  const where = segments.length === 0 ? "the top level" : formatPath(segments);
  const description =
    typeof (err.parentSchema as { description?: unknown } | undefined)?.description === "string"
      ? ` (${(err.parentSchema as { description: string }).description})`
      : "";
  const found = parsed.secret ? undefined : describeValue(valueAt(parsed.data, segments));
  const base = { file, severity: "error" as const, code: "app-config-schema" };
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case "required": {
      const key = String(p.missingProperty);
      const at = [...segments, key];
      return {
        ...base,
        ...parsed.positionOf(at, "missing"),
        path: formatPath(at),
        message: `missing required key \`${key}\` in ${where} (required by ${schemaFile})`,
        fix: `add \`${key}\` to ${where}`,
      };
    }
    case "additionalProperties": {
      const key = String(p.additionalProperty);
      const at = [...segments, key];
      const allowed = Object.keys(
        (err.parentSchema as { properties?: object } | undefined)?.properties ?? {},
      );
      const close = suggest(key, allowed);
      return {
        ...base,
        ...parsed.positionOf(at, "key"),
        path: formatPath(at),
        message: `unknown key \`${key}\` in ${where} (not allowed by ${schemaFile})`,
        expected: allowed.length ? `one of: ${allowed.join(", ")}` : "no additional keys",
        fix: close ? `did you mean \`${close}\`?` : "remove it, or add it to the schema",
      };
    }
    case "enum": {
      const allowed = ((p.allowedValues as unknown[]) ?? []).map(String);
      const value = valueAt(parsed.data, segments);
      const close = typeof value === "string" ? suggest(value, allowed) : undefined;
      return {
        ...base,
        ...parsed.positionOf(segments, "value"),
        path: formatPath(segments),
        message: `${where} must be one of ${allowed.join(", ")}`,
        expected: `one of: ${allowed.join(" | ")}${description}`,
        ...(found !== undefined ? { found } : {}),
        fix: close ? `did you mean \`${close}\`?` : `use one of ${allowed.join(", ")}`,
      };
    }
    case "type": {
      const type = Array.isArray(p.type) ? p.type.join(" or ") : String(p.type);
      const value = valueAt(parsed.data, segments);
      const numeric = typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value));
      return {
        ...base,
        ...parsed.positionOf(segments, "value"),
        path: formatPath(segments),
        message: `${where} must be of type ${type} (${schemaFile})`,
        expected: `${type}${description}`,
        ...(found !== undefined ? { found } : {}),
        fix:
          numeric && (type === "integer" || type === "number")
            ? `remove the quotes: ${String(value).trim()}`
            : `write a value of type ${type}`,
      };
    }
    default:
      return {
        ...base,
        ...parsed.positionOf(segments, "value"),
        path: formatPath(segments),
        message: `${where} ${err.message ?? "is invalid"} (${schemaFile})`,
        expected: `${err.keyword}: ${JSON.stringify(err.schema)}${description}`,
        ...(found !== undefined ? { found } : {}),
        fix: `change the value so that it satisfies \`${err.keyword}\`, or update ${schemaFile}`,
      };
  }
}

// ---------------------------------------------------------------------------- check command

/** Most of a check's output that is kept while it runs (the report shows a tail of it). */
const MAX_OUTPUT_CHARS = 16_000;

function checkFix(
  result: ConfinedResult,
  c: { display: string; baseDir: string; absolute: string; check: string },
): string {
  if (result.timedOut) return "make the check faster or raise `timeout` on this appConfig entry";
  return `fix ${c.display} (run it yourself: cd ${c.baseDir} && SHIPSHAPE_CONFIG_FILE=${c.absolute} ${c.check})`;
}

// ---------------------------------------------------------------------------- gate

type EntryProblem = (
  key: string,
  p: Omit<Problem, "file" | "line" | "column" | "path" | "severity">,
) => Problem;

function tooLargeProblem(file: string, key: "file" | "schema", entryProblem: EntryProblem): Problem | null {
  const size = statSync(file).size;
  if (size <= MAX_APP_CONFIG_BYTES) return null;
  return entryProblem(key, {
    code: "input-too-large",
    message: `${file} is ${formatBytes(size)}; app config files and schemas may be at most ${formatBytes(MAX_APP_CONFIG_BYTES)} (not read)`,
    fix: "point appConfig at the service's config file itself, not at data",
  });
}

/** Checks one appConfig entry (index = its position in the release config's appConfig list). */
export async function checkAppConfigFile(
  entry: AppConfigEntry,
  index: number,
  baseDir: string,
  options: AppConfigGateOptions = {},
): Promise<Problem[]> {
  const releaseFile = options.releaseFile ?? join(baseDir, "shipshape.yaml");
  const displayDir = dirname(releaseFile);
  const locate = options.locate?.valueAt ?? (() => ({ line: 1, column: 1 }));
  const entryProblem = (
    key: string,
    p: Omit<Problem, "file" | "line" | "column" | "path" | "severity">,
  ): Problem => ({
    file: releaseFile,
    ...locate(["appConfig", index, key]),
    path: formatPath(["appConfig", index, key]),
    severity: "error",
    ...p,
  });
  const absolute = resolve(baseDir, entry.file);
  const display = join(displayDir, entry.file);
  const root = repositoryRoot(baseDir);
  const outside = (["file", "schema"] as const).find(
    (key) => entry[key] !== undefined && !containedPath(entry[key]!, baseDir, root).ok,
  );
  if (outside) {
    // Never read: its contents would end up in the report.
    const c = containedPath(entry[outside]!, baseDir, root) as Extract<ContainedPath, { ok: false }>;
    return [
      entryProblem(outside, {
        code: "path-outside-repository",
        message: outsideMessage(
          outside === "file" ? "app config file" : "JSON Schema file",
          entry[outside]!,
          c,
        ),
        fix: "keep the files a config names inside its repository (symlinks are followed)",
      }),
    ];
  }
  if (!existsSync(absolute) || statSync(absolute).isDirectory()) {
    return [
      entryProblem("file", {
        code: "file-missing",
        message: `app config file ${JSON.stringify(entry.file)} does not exist (looked for ${absolute})`,
        expected: `an existing file, relative to ${baseDir}`,
        found: JSON.stringify(entry.file),
        fix: "create it or fix the path; it is relative to the folder of this file",
      }),
    ];
  }
  const format = entry.format ?? inferAppConfigFormat(entry.file) ?? "json";
  const tooLarge = tooLargeProblem(absolute, "file", entryProblem);
  if (tooLarge) return [tooLarge];
  const text = readFileSync(absolute, "utf8");
  const parsed =
    format === "env"
      ? parseEnvFile(text, display)
      : format === "yaml"
        ? parseYamlFile(text, display)
        : parseJsonFile(text, display);
  const problems: Problem[] = [...parsed.problems];
  if (problems.some((p) => p.severity === "error")) return problems; // schema errors on a broken file only confuse

  if (entry.schema !== undefined) {
    const schemaAbs = resolve(baseDir, entry.schema);
    const schemaDisplay = join(displayDir, entry.schema);
    if (!existsSync(schemaAbs)) {
      problems.push(
        entryProblem("schema", {
          code: "file-missing",
          message: `JSON Schema file ${JSON.stringify(entry.schema)} does not exist (looked for ${schemaAbs})`,
          found: JSON.stringify(entry.schema),
          fix: "create it or fix the path; it is relative to the folder of this file",
        }),
      );
    } else if (tooLargeProblem(schemaAbs, "schema", entryProblem)) {
      problems.push(tooLargeProblem(schemaAbs, "schema", entryProblem)!);
    } else {
      const schemaText = readFileSync(schemaAbs, "utf8");
      let validate: ValidateFunction | undefined;
      try {
        const schema = JSON.parse(schemaText) as Record<string, unknown>;
        validate = compileSchema(schema, format === "env");
      } catch (e) {
        const message = (e as Error).message;
        const at = /at position (\d+)/.exec(message);
        problems.push({
          file: schemaDisplay,
          ...(at ? offsetToPosition(schemaText, Number(at[1])) : { line: 1, column: 1 }),
          path: "",
          severity: "error",
          code: "invalid-json-schema",
          message: `${schemaDisplay} is not a usable JSON Schema: ${message.split("\n")[0]}`,
          fix: "fix the schema file (it must be valid JSON and a valid JSON Schema)",
        });
      }
      if (validate) {
        const data = structuredClone(parsed.data ?? {});
        if (!validate(data)) {
          for (const err of validate.errors ?? [])
            problems.push(schemaErrorToProblem(err, parsed, display, schemaDisplay));
        }
      }
    }
  }

  if (entry.check !== undefined && options.runChecks === true) {
    const timeoutMs = entry.timeout;
    const checkEnv = options.checkEnv ?? { env: {}, secrets: [] };
    // A root worker runs checks as its instance user: one that cannot read the
    // config would fail on a permission, not on the config; say so instead.
    if (checkEnv.runAs && !readableBy(absolute, checkEnv.runAs)) {
      problems.push(
        entryProblem("check", {
          code: "app-config-check",
          message: `check command for ${display} not run: uid ${checkEnv.runAs.uid} cannot read ${absolute}`,
          expected: "the config file readable by the user checks run as",
          fix: `checks run as SHIPSHAPE_INSTANCE_USER (uid ${checkEnv.runAs.uid}) because the worker runs as root: let that user read the repository (chmod o+rx on it, o+x on its parent folders, o+r on ${display})`,
        }),
      );
      return problems;
    }
    const result = await runConfinedCommand({
      command: entry.check,
      cwd: baseDir,
      env: { ...checkEnv.env, SHIPSHAPE_CONFIG_FILE: absolute, SHIPSHAPE_CONFIG_FORMAT: format },
      timeoutMs,
      maxOutputChars: MAX_OUTPUT_CHARS,
      ...(checkEnv.runAs ? { runAs: checkEnv.runAs } : {}),
    });
    if (result.timedOut || result.code !== 0) {
      const output = boundOutput(redactSecrets(result.output, checkEnv.secrets));
      problems.push(
        entryProblem("check", {
          code: "app-config-check",
          message: result.timedOut
            ? `check command for ${display} did not finish within ${formatDuration(timeoutMs)}`
            : `check command for ${display} failed (${result.code === null ? "could not start" : `exit code ${result.code}`})`,
          expected: "the command exits 0",
          ...(output ? { found: output } : {}),
          fix: checkFix(result, { display, baseDir, absolute, check: entry.check }),
        }),
      );
    }
  }
  return problems;
}

/**
 * Runs the gate for every appConfig entry of a (validated) config. `baseDir` is
 * the folder of shipshape.yaml. Returns problems; empty means the gate passes.
 */
export async function runAppConfigGate(
  config: { appConfig: readonly AppConfigEntry[] },
  baseDir: string,
  options: AppConfigGateOptions = {},
): Promise<Problem[]> {
  const all = await Promise.all(
    config.appConfig.map((entry, i) => checkAppConfigFile(entry, i, baseDir, options)),
  );
  return all.flat();
}
