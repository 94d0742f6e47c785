/**
 * What `npm run build` made, and from what. dist/build-stamp.json records, for
 * each build output, the digest of every input file at the moment the build
 * started. An output is current only when the inputs present now digest the
 * same, so the `shipshape` bin and the worker never run code older than the
 * sources beside them; touching a file without changing it costs nothing. A
 * file whose size and mtime are unchanged is not read again, so the check the
 * bin makes on every call is a walk and a stat per file.
 *
 * Plain Node (fs, crypto) on purpose: the bin loads this module from dist/ on
 * every call, before it decides anything else.
 */
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

/** An input file as the build saw it: its content digest, and the stat that lets a check skip reading it. */
export interface InputState {
  digest: string;
  size: number;
  mtimeMs: number;
}

interface StampEntry {
  builtAt: string;
  inputs: Record<string, InputState>;
}

type Stamp = Partial<Record<BuildOutput, StampEntry>>;

function digestOf(file: string): string {
  // Loaded on first use: a check whose inputs all kept their stat never needs it.
  const crypto = require("node:crypto") as typeof import("node:crypto");
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

function inputFiles(root: string, output: BuildOutput): string[] {
  const { folders, files } = BUILD_OUTPUTS[output].inputs(root);
  const all: string[] = files.filter((f) => fs.existsSync(path.join(root, f)));
  for (const folder of folders) filesUnder(root, folder, all);
  return all.sort();
}

/**
 * Every input file of an output as it is now, by path relative to the project
 * root. A file whose size and mtime are the ones `known` recorded keeps its
 * recorded digest without being read (as git's index does); the others are read.
 */
export function inputStates(
  root: string,
  output: BuildOutput,
  known: Record<string, InputState> = {},
): Record<string, InputState> {
  const states: Record<string, InputState> = {};
  for (const rel of inputFiles(root, output)) {
    const file = path.join(root, rel);
    const { size, mtimeMs } = fs.statSync(file);
    const was = known[rel];
    const digest = was && was.size === size && was.mtimeMs === mtimeMs ? was.digest : digestOf(file);
    states[rel] = { digest, size, mtimeMs };
  }
  return states;
}

function readStamp(root: string): Stamp {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, BUILD_STAMP_FILE), "utf8")) as Stamp;
  } catch {
    return {};
  }
}

/** Records that `output` was built from `inputs` (taken with inputStates before the build started). */
export function writeBuildStamp(root: string, output: BuildOutput, inputs: Record<string, InputState>): void {
  const stamp = readStamp(root);
  stamp[output] = { builtAt: new Date().toISOString(), inputs };
  const file = path.join(root, BUILD_STAMP_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(stamp)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** The differences between what an output was built from and the inputs now, in words. */
function differences(built: Record<string, InputState>, now: Record<string, InputState>): string[] {
  const out: string[] = [];
  for (const [file, state] of Object.entries(now)) {
    if (!(file in built)) out.push(`${file} is new`);
    else if (built[file]?.digest !== state.digest) out.push(`${file} changed`);
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
  const diff = differences(entry.inputs, inputStates(root, output, entry.inputs));
  if (diff.length === 0) return null;
  const more = diff.length > 1 ? ` (and ${diff.length - 1} more file${diff.length > 2 ? "s" : ""})` : "";
  return `${diff[0]}${more} since the last build`;
}
