/**
 * What `npm run build` made, and from what. dist/build-stamp.json records, for
 * each build output, the digest of every input file at the moment the build
 * started. An output is current only when the inputs present now digest the
 * same, so the `shipshape` bin and the worker never run code older than the
 * sources beside them; touching a file without changing it costs nothing.
 *
 * Plain Node (fs, crypto) on purpose: the bin loads this module from dist/ on
 * every call, before it decides anything else.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export type BuildOutput = "compiled" | "workflowBundle";

interface OutputSpec {
  /** What the build writes, relative to the project root; missing means never built. */
  artifact: string;
  /** A source file every checkout has; when it is absent the sources are not shipped and the build is trusted. */
  probe: string;
  /** The input folders and files, relative to the project root. */
  inputs(root: string): { folders: string[]; files: string[] };
}

const BUILD_CONFIG = "tsconfig.build.json";

/** The folders tsc compiles, read from tsconfig.build.json so the list lives in one place. */
export function compiledFolders(root: string): string[] {
  const config = JSON.parse(fs.readFileSync(path.join(root, BUILD_CONFIG), "utf8")) as { include: string[] };
  return config.include;
}

export const BUILD_OUTPUTS: Record<BuildOutput, OutputSpec> = {
  compiled: {
    artifact: "dist/cli/main.js",
    probe: "cli/main.ts",
    inputs: (root) => ({ folders: compiledFolders(root), files: ["tsconfig.json", BUILD_CONFIG] }),
  },
  workflowBundle: {
    artifact: "dist/workflow-bundle.js",
    probe: "workflows/index.ts",
    // Workflow code imports only workflows/ and pure lib/ modules; the lock file pins the SDK it bundles.
    inputs: () => ({ folders: ["workflows", "lib"], files: ["package-lock.json"] }),
  },
};

export const BUILD_STAMP_FILE = "dist/build-stamp.json";

interface StampEntry {
  builtAt: string;
  inputs: Record<string, string>;
}

type Stamp = Partial<Record<BuildOutput, StampEntry>>;

function digestOf(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex").slice(0, 16);
}

function filesUnder(root: string, folder: string, out: string[]): void {
  const abs = path.join(root, folder);
  if (!fs.existsSync(abs)) return;
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const rel = `${folder}/${entry.name}`;
    if (entry.isDirectory()) filesUnder(root, rel, out);
    else if (entry.isFile() && !entry.name.endsWith(".md")) out.push(rel);
  }
}

/** The digest of every input file of an output, by path relative to the project root. */
export function inputDigests(root: string, output: BuildOutput): Record<string, string> {
  const { folders, files } = BUILD_OUTPUTS[output].inputs(root);
  const all: string[] = files.filter((f) => fs.existsSync(path.join(root, f)));
  for (const folder of folders) filesUnder(root, folder, all);
  const digests: Record<string, string> = {};
  for (const rel of all.sort()) digests[rel] = digestOf(path.join(root, rel));
  return digests;
}

function readStamp(root: string): Stamp {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, BUILD_STAMP_FILE), "utf8")) as Stamp;
  } catch {
    return {};
  }
}

/** Records that `output` was built from `inputs` (digested before the build started). */
export function writeBuildStamp(root: string, output: BuildOutput, inputs: Record<string, string>): void {
  const stamp = readStamp(root);
  stamp[output] = { builtAt: new Date().toISOString(), inputs };
  const file = path.join(root, BUILD_STAMP_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(stamp, null, 1)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** The first differences between what an output was built from and the inputs now, in words. */
function differences(built: Record<string, string>, now: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [file, digest] of Object.entries(now)) {
    if (!(file in built)) out.push(`${file} is new`);
    else if (built[file] !== digest) out.push(`${file} changed`);
  }
  for (const file of Object.keys(built)) if (!(file in now)) out.push(`${file} was removed`);
  return out;
}

/**
 * Why a build output cannot be used as it is (`null`: it is current), said to
 * follow "<artifact> cannot be used: ", e.g. "cli/main.ts changed since the
 * last build". When the sources are not there at all (an installed build)
 * there is nothing to be stale against.
 */
export function staleness(root: string, output: BuildOutput): string | null {
  const spec = BUILD_OUTPUTS[output];
  if (!fs.existsSync(path.join(root, spec.probe))) return null;
  if (!fs.existsSync(path.join(root, spec.artifact))) return "it was never built";
  const entry = readStamp(root)[output];
  if (!entry) return `${BUILD_STAMP_FILE} has no record of it`;
  const diff = differences(entry.inputs, inputDigests(root, output));
  if (diff.length === 0) return null;
  const more = diff.length > 1 ? ` (and ${diff.length - 1} more file${diff.length > 2 ? "s" : ""})` : "";
  return `${diff[0]}${more} since the last build`;
}
