/**
 * Migration files: YAML (or JSON, which is YAML) in the service's
 * migrations folder, applied in file-name order. One file = one migration:
 *
 *   # examples/shop/migrations/0002_price_in_cents.yaml
 *   operations:
 *     - rename_column: { table: products, from: name, to: title }
 *     - change_type:
 *         table: products
 *         column: price
 *         name: price_cents
 *         type: bigint
 *         up: round(price * 100)::bigint
 *         down: price_cents / 100.0
 *
 * `name` defaults to the file name without extension. Every error carries
 * file:line:column of the offending node and the key path, and unknown
 * operation kinds get a "did you mean" suggestion.
 */
import fs from "node:fs";
import path from "node:path";
import { distance } from "fastest-levenshtein";
import { isMap, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { z } from "zod";
import { OPERATION_KINDS, OPERATIONS } from "./operations";

export interface MigrationDefinition {
  name: string;
  /** Each entry has exactly one key, the operation kind, with its validated body (defaults applied). */
  operations: Array<Record<string, unknown>>;
}

export interface FileIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class MigrationFileError extends Error {
  readonly issues: FileIssue[];
  constructor(issues: FileIssue[]) {
    super(
      issues
        .map((i) => `${i.file}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ""}${i.message}`)
        .join("\n"),
    );
    this.name = "MigrationFileError";
    this.issues = issues;
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const TopLevel = z.strictObject({
  name: z.string().regex(NAME_RE, "use letters, digits, '_', '.', '-'").max(50).optional(),
  description: z.string().optional(),
  operations: z.array(z.unknown()).min(1, "a migration needs at least one operation"),
});

type Path = Array<string | number>;
interface RawIssue {
  path: Path;
  message: string;
  /** Point at this key inside the map at `path` (unknown keys). */
  key?: string;
}

function suggest(word: string, options: readonly string[]): string {
  const best = options.map((o) => ({ o, d: distance(word, o) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? `; did you mean '${best.o}'?` : "";
}

function zodIssues(err: z.ZodError, prefix: Path): RawIssue[] {
  return err.issues.map((i) => {
    const p = [...prefix, ...(i.path as Path)];
    if (i.code === "unrecognized_keys") {
      const keys = (i as { keys: string[] }).keys;
      return {
        path: p,
        key: keys[0],
        message: `unknown key${keys.length > 1 ? "s" : ""} ${keys.map((k) => `'${k}'`).join(", ")}`,
      };
    }
    return { path: p, message: i.message };
  });
}

/** Validates a plain object (from a file or from code). Returns the normalized definition or issues without positions. */
export function validateMigrationObject(
  value: unknown,
  defaultName?: string,
): { ok: true; definition: MigrationDefinition } | { ok: false; issues: RawIssue[] } {
  const top = TopLevel.safeParse(value);
  if (!top.success) return { ok: false, issues: zodIssues(top.error, []) };
  const name = top.data.name ?? defaultName;
  const issues: RawIssue[] = [];
  if (!name) issues.push({ path: [], message: "missing 'name'" });
  else if (!NAME_RE.test(name)) issues.push({ path: ["name"], message: `invalid migration name '${name}'` });
  const operations: Array<Record<string, unknown>> = [];
  top.data.operations.forEach((op, i) => {
    if (typeof op !== "object" || op === null || Array.isArray(op) || Object.keys(op).length !== 1) {
      issues.push({
        path: ["operations", i],
        message: `an operation is a map with exactly one key, the operation kind (one of ${OPERATION_KINDS.join(", ")})`,
      });
      return;
    }
    const [kind, body] = Object.entries(op)[0] as [string, unknown];
    const m = OPERATIONS.get(kind);
    if (!m) {
      issues.push({
        path: ["operations", i],
        key: kind,
        message: `unknown operation '${kind}'${suggest(kind, OPERATION_KINDS)}`,
      });
      return;
    }
    const parsed = m.schema.safeParse(body);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, ["operations", i, kind]));
      return;
    }
    operations.push({ [kind]: parsed.data });
  });
  if (issues.length || !name) return { ok: false, issues };
  return { ok: true, definition: { name, operations } };
}

function position(doc: ReturnType<typeof parseDocument>, lc: LineCounter, issue: RawIssue) {
  let node: Node | null | undefined;
  for (let k = issue.path.length; k >= 0 && !node; k--) {
    const n = k === 0 ? doc.contents : doc.getIn(issue.path.slice(0, k), true);
    if (n && typeof n === "object" && "range" in n) node = n as Node;
  }
  if (issue.key && node && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === issue.key);
    if (pair && isScalar(pair.key)) node = pair.key;
  }
  const offset = node?.range?.[0] ?? 0;
  return lc.linePos(offset);
}

/** Parses one file's text; throws MigrationFileError with file:line:column for every problem. */
export function parseMigrationText(text: string, file: string): MigrationDefinition {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new MigrationFileError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: "",
          message: e.message.split("\n")[0] ?? e.message,
        };
      }),
    );
  }
  const defaultName = path.basename(file).replace(/\.(ya?ml|json)$/i, "");
  const r = validateMigrationObject(doc.toJS(), defaultName);
  if (r.ok) return r.definition;
  throw new MigrationFileError(
    r.issues.map((i) => {
      const pos = position(doc, lc, i);
      return { file, line: pos.line, column: pos.col, path: i.path.join("."), message: i.message };
    }),
  );
}

export function loadMigrationFile(file: string): MigrationDefinition {
  return parseMigrationText(fs.readFileSync(file, "utf8"), file);
}

/** Every migration of a folder, in file-name order; all files are validated and all errors reported together. */
export function loadMigrationsDir(dir: string): Array<{ file: string; definition: MigrationDefinition }> {
  if (!fs.existsSync(dir)) throw new Error(`migrations folder ${dir} does not exist`);
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/i.test(f))
    .sort();
  const out: Array<{ file: string; definition: MigrationDefinition }> = [];
  const issues: FileIssue[] = [];
  const names = new Map<string, string>();
  for (const f of files) {
    const file = path.join(dir, f);
    try {
      const definition = loadMigrationFile(file);
      const dup = names.get(definition.name);
      if (dup)
        issues.push({
          file,
          line: 1,
          column: 1,
          path: "name",
          message: `migration name '${definition.name}' is also used by ${dup}`,
        });
      names.set(definition.name, file);
      out.push({ file, definition });
    } catch (err) {
      if (err instanceof MigrationFileError) issues.push(...err.issues);
      else throw err;
    }
  }
  if (issues.length) throw new MigrationFileError(issues);
  return out;
}
