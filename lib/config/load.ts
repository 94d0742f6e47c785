// loadReleaseConfig: file → YAML with positions → zod (structure, types, values)
// → semantic rules → files named in the config → `${env:…}` references → the
// application config gate → every problem at once, sorted by position.

import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { checkAppConfigFile } from "./app-config-gate";
import { checkCommandEnvironment } from "./check-env";
import { configDigest } from "./digest";
import { listEnvRefs, resolveEnvRefs } from "./env-refs";
import { checkFileRef, fileRefs } from "./files";
import { mapIssues } from "./issues";
import { releaseConfigJsonSchema } from "./json-schema";
import { formatBytes, inputTooLarge, MAX_CONFIG_BYTES } from "./limits";
import {
  dedupeProblems,
  formatPath,
  hasErrors,
  type PathSegment,
  type Problem,
  type Severity,
  sortProblems,
} from "./problems";
import { AppConfigEntrySchema, type ReleaseConfig, ReleaseConfigSchema } from "./schema";
import { checkSemantics } from "./semantic";
import { checkSignersFiles } from "./signers-file";
import { parseYamlSource, type YamlSource } from "./yaml-source";

export interface LoadOptions {
  /** Check `${env:…}` references against this environment (e.g. process.env). */
  env?: Record<string, string | undefined>;
  /** Severity of an unset variable when `env` is given. Default "error". */
  envRefSeverity?: Severity;
  /** Run the application config gate (JSON Schemas; check commands only with runChecks). Default true. */
  appConfigGate?: boolean;
  /**
   * Also run the app config `check` commands. Default false: they are code from
   * the repository. They get an allow-listed environment (check-env.ts) built
   * from `env` (default process.env), never the caller's whole environment.
   */
  runChecks?: boolean;
  /**
   * Who the check commands run as (a root worker's instance user: a check is
   * the release's code and must not read the worker's files). Default: this process's user.
   */
  commandUser?: { uid: number; gid: number };
  /** Check that the files the config names exist. Default true. */
  checkFiles?: boolean;
}

export interface EnvRefLocation {
  path: string;
  name: string;
  line: number;
  column: number;
}

export type LoadResult =
  | {
      ok: true;
      file: string;
      /** Folder of the config file; relative paths in the config are relative to it. */
      baseDir: string;
      config: ReleaseConfig;
      /** sha256 (hex) of the normalized config, before env resolution. */
      digest: string;
      warnings: Problem[];
      envRefs: EnvRefLocation[];
      source: string;
    }
  | { ok: false; file: string; problems: Problem[]; source?: string };

function tooLargeProblem(file: string, bytes: number): Problem {
  return inputTooLarge(
    file,
    `${file} is ${formatBytes(bytes)}; a release config may be at most ${formatBytes(MAX_CONFIG_BYTES)} (nothing in it was read)`,
    "a release config is a few KB: check that this is the file you meant",
  );
}

export async function loadReleaseConfig(file: string, options: LoadOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    // Refused before reading: a huge file costs memory and parse time for nothing.
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) return { ok: false, file, problems: [tooLargeProblem(file, size)] };
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      file,
      problems: [
        {
          file,
          line: 1,
          column: 1,
          path: "",
          severity: "error",
          code: "file-unreadable",
          message:
            code === "ENOENT"
              ? `config file ${file} does not exist`
              : code === "EISDIR"
                ? `${file} is a folder, not a config file`
                : `cannot read ${file}: ${(e as Error).message}`,
          fix:
            code === "EISDIR"
              ? `pass the file, e.g. ${file}/shipshape.yaml`
              : "check the path (default: ./shipshape.yaml)",
        },
      ],
    };
  }
  return parseReleaseConfig(text, file, dirname(resolve(file)), options);
}

function envRefLocations(raw: unknown, source: YamlSource): EnvRefLocation[] {
  const lines = source.text.split(/\r?\n/);
  return listEnvRefs(raw).map((ref) => {
    const at = source.valueAt(ref.segments);
    const lineText = lines[at.line - 1] ?? "";
    const index = lineText.indexOf(`\${env:${ref.name}}`, at.column - 1);
    return { path: ref.path, name: ref.name, line: at.line, column: index >= 0 ? index + 1 : at.column };
  });
}

/** Like loadReleaseConfig, for text already in memory. `baseDir` anchors relative paths. */
export async function parseReleaseConfig(
  text: string,
  file: string,
  baseDir: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) return { ok: false, file, problems: [tooLargeProblem(file, bytes)] };
  const source = parseYamlSource(text, file);
  if (hasErrors(source.syntax)) {
    // The structure of a file with syntax errors is a guess; checking it would only add noise.
    return { ok: false, file, problems: sortProblems(source.syntax), source: text };
  }
  const raw = source.data;
  const problems: Problem[] = [...source.syntax];

  const parsed = ReleaseConfigSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(
      ...mapIssues(parsed.error.issues, {
        file,
        data: raw,
        schema: releaseConfigJsonSchema(),
        locate: source,
      }),
    );
  }

  for (const issue of checkSemantics(raw)) {
    const at = source.valueAt(issue.segments);
    problems.push({
      file,
      ...at,
      path: formatPath(issue.segments),
      severity: issue.severity ?? "error",
      code: issue.code,
      message: issue.message,
      ...(issue.expected ? { expected: issue.expected } : {}),
      ...(issue.found ? { found: issue.found } : {}),
      ...(issue.fix ? { fix: issue.fix } : {}),
    });
  }

  if (options.checkFiles !== false) {
    for (const ref of fileRefs(raw)) {
      const p = checkFileRef(ref, baseDir, file, source);
      if (p) problems.push(p);
    }
    problems.push(...checkSignersFiles(raw, baseDir, file, source));
  }

  const envRefs = envRefLocations(raw, source);
  if (options.env) {
    const check = resolveEnvRefs(raw, options.env, { file, positions: envRefs });
    if (!check.ok) {
      const severity = options.envRefSeverity ?? "error";
      problems.push(...check.problems.map((p) => ({ ...p, severity })));
    }
  }

  if (
    options.appConfigGate !== false &&
    options.checkFiles !== false &&
    Array.isArray((raw as { appConfig?: unknown })?.appConfig)
  ) {
    const entries = (raw as { appConfig: unknown[] }).appConfig;
    const checkEnv = options.runChecks
      ? {
          ...checkCommandEnvironment(raw, options.env ?? process.env),
          ...(options.commandUser ? { runAs: options.commandUser } : {}),
        }
      : undefined;
    const gated = await Promise.all(
      entries.map((entry, index) => {
        const one = AppConfigEntrySchema.safeParse(entry);
        if (!one.success || one.data.file.includes("${")) return Promise.resolve([] as Problem[]);
        return checkAppConfigFile(one.data, index, baseDir, {
          releaseFile: file,
          locate: { valueAt: (s: readonly PathSegment[]) => source.valueAt(s) },
          ...(checkEnv ? { runChecks: true, checkEnv } : {}),
        });
      }),
    );
    problems.push(...gated.flat());
  }

  const all = sortProblems(dedupeByPlace(problems));
  if (hasErrors(all) || !parsed.success) return { ok: false, file, problems: all, source: text };
  return {
    ok: true,
    file,
    baseDir,
    config: parsed.data,
    digest: configDigest(parsed.data),
    warnings: all,
    envRefs,
    source: text,
  };
}

/** Two checkers may find the same thing (e.g. a missing file); keep the first per place and kind. */
function dedupeByPlace(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return dedupeProblems(problems).filter((p) => {
    const key = `${p.file}\0${p.line}\0${p.column}\0${p.path}\0${p.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
