// Files a release config names explicitly: the migrations folder, the signers
// file of each environment's approvals and, for each appConfig entry, the
// config file and its JSON Schema. Each must stay inside the config's
// repository (contained-path.ts). Paths are relative to
// the folder of shipshape.yaml. Values holding ${env:…} are only known at deploy
// time and are skipped.

import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { containedPath, outsideMessage } from "./contained-path";
import type { Locator } from "./issues";
import { formatPath, type PathSegment, type Problem } from "./problems";
import { suggest } from "./suggest";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export interface FileRef {
  segments: PathSegment[];
  value: string;
  kind: "folder" | "file";
  what: string;
}

/** The file references in a raw config. */
export function fileRefs(raw: unknown): FileRef[] {
  if (!isObj(raw)) return [];
  const refs: FileRef[] = [];
  if (isObj(raw.database) && typeof raw.database.migrations === "string") {
    refs.push({
      segments: ["database", "migrations"],
      value: raw.database.migrations,
      kind: "folder",
      what: "migrations folder",
    });
  }
  if (isObj(raw.environments)) {
    for (const [name, env] of Object.entries(raw.environments)) {
      const signers = isObj(env) && isObj(env.approvals) ? env.approvals.signers : undefined;
      if (typeof signers === "string")
        refs.push({
          segments: ["environments", name, "approvals", "signers"],
          value: signers,
          kind: "file",
          what: "signers file",
        });
    }
  }
  if (Array.isArray(raw.appConfig)) {
    raw.appConfig.forEach((entry, i) => {
      if (!isObj(entry)) return;
      if (typeof entry.file === "string")
        refs.push({
          segments: ["appConfig", i, "file"],
          value: entry.file,
          kind: "file",
          what: "app config file",
        });
      if (typeof entry.schema === "string")
        refs.push({
          segments: ["appConfig", i, "schema"],
          value: entry.schema,
          kind: "file",
          what: "JSON Schema file",
        });
    });
  }
  if (isObj(raw.environments)) {
    for (const [name, env] of Object.entries(raw.environments)) {
      const approvals = isObj(env) ? env.approvals : undefined;
      if (isObj(approvals) && typeof approvals.signers === "string") {
        refs.push({
          segments: ["environments", name, "approvals", "signers"],
          value: approvals.signers,
          kind: "file",
          what: "signers file",
        });
      }
    }
  }
  return refs.filter((r) => r.value !== "" && !r.value.includes("${"));
}

/** A "did you mean" for a missing path: the closest name in the nearest folder that exists. */
export function missingPathHint(absolute: string): string | undefined {
  const folder = dirname(absolute);
  if (!existsSync(folder)) return undefined;
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return undefined;
  }
  const base = absolute.slice(folder.length + 1);
  // File names are long and similar (app.json / api.json): only near-identical names count.
  return suggest(base, names, base.length >= 8 ? 2 : 1);
}

export function checkFileRef(
  ref: FileRef,
  baseDir: string,
  file: string,
  locate: Pick<Locator, "valueAt">,
): Problem | undefined {
  const absolute = resolve(baseDir, ref.value);
  const contained = containedPath(ref.value, baseDir);
  let problem: { message: string; fix: string; code: string } | undefined;
  if (!contained.ok) {
    problem = {
      code: "path-outside-repository",
      message: outsideMessage(ref.what, ref.value, contained),
      fix: "keep the files a config names inside its repository (symlinks are followed)",
    };
  } else if (!existsSync(absolute)) {
    const close = missingPathHint(absolute);
    const closePath = close ? join(dirname(ref.value), close) : undefined;
    problem = {
      code: "file-missing",
      message: `${ref.what} ${JSON.stringify(ref.value)} does not exist (looked for ${absolute})`,
      fix: closePath
        ? `did you mean \`${closePath.startsWith(".") || closePath.startsWith("/") ? closePath : `./${closePath}`}\`?`
        : ref.kind === "folder"
          ? `create it (mkdir -p ${absolute}) or fix the path; it is relative to the folder of this file`
          : "create it or fix the path; it is relative to the folder of this file",
    };
  } else {
    const isDir = statSync(absolute).isDirectory();
    if (ref.kind === "folder" && !isDir) {
      problem = {
        code: "not-a-folder",
        message: `${ref.what} ${JSON.stringify(ref.value)} is a file, not a folder`,
        fix: "point it at the folder that contains the migration files",
      };
    } else if (ref.kind === "file" && isDir) {
      problem = {
        code: "not-a-file",
        message: `${ref.what} ${JSON.stringify(ref.value)} is a folder, not a file`,
        fix: "point it at the file itself",
      };
    }
  }
  if (!problem) return undefined;
  return {
    file,
    ...locate.valueAt(ref.segments),
    path: formatPath(ref.segments),
    severity: "error",
    expected: `an existing ${ref.kind}, relative to ${baseDir}`,
    found: JSON.stringify(ref.value),
    ...problem,
  };
}
