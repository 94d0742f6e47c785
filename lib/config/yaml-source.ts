// A YAML (or JSON) text parsed with source positions: the data, syntax problems
// in the common Problem format, and lookups from a key path to line:column.
// Used for shipshape.yaml and for the service's own JSON/YAML config files.

import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type YAMLError,
} from "yaml";
import { inputTooLarge, MAX_DEPTH, MAX_KEYS } from "./limits";
import { formatPath, type PathSegment, type Problem } from "./problems";

export interface Position {
  line: number;
  column: number;
}

export interface YamlSource {
  text: string;
  /** Plain data (undefined for an empty document). */
  data: unknown;
  /** YAML syntax errors and warnings as Problems. */
  syntax: Problem[];
  /** Where the value at `segments` is (block collections: where their key is). */
  valueAt(segments: readonly PathSegment[]): Position;
  /** Where the key of the last segment is. */
  keyAt(segments: readonly PathSegment[]): Position;
  /** Where a *missing* key at `segments` should be added (its parent's key or start). */
  missingAt(segments: readonly PathSegment[]): Position;
}

type AnyNode = Node | Pair | null | undefined;

interface Walk {
  node: unknown;
  pair?: Pair;
  found: boolean;
}

const keyText = (pair: Pair): string | undefined => {
  const key = pair.key;
  if (isScalar(key)) return String(key.value);
  return key === null || key === undefined ? undefined : String(key);
};

const SYNTAX_HELP: Record<string, { message?: string; fix: string }> = {
  TAB_AS_INDENT: {
    message: "a tab is used for indentation; YAML only allows spaces",
    fix: "replace the tab with spaces (two per level)",
  },
  BAD_INDENT: { fix: "align this line with the other keys of the same mapping (same number of spaces)" },
  MISSING_CHAR: { fix: "check the indentation and brackets/quotes on this line and the one above" },
  MULTILINE_IMPLICIT_KEY: {
    message: "a key runs over more than one line (usually a missing `:` or a wrong indentation)",
    fix: "put `key: value` on one line, and indent nested keys by two more spaces than their parent",
  },
  BLOCK_AS_IMPLICIT_KEY: {
    message: "a nested mapping is not allowed here (usually a wrong indentation)",
    fix: "indent nested keys by two more spaces than their parent key, and keep siblings aligned",
  },
  UNEXPECTED_TOKEN: { fix: "remove or quote the unexpected character" },
  BAD_SCALAR_START: { fix: 'quote the value (e.g. "@value") so YAML reads it as text' },
  TAG_RESOLVE_FAILED: { fix: "remove the custom tag (values starting with !)" },
  ALIAS_PROPS: { fix: "remove the anchor or tag from the alias" },
  BAD_ALIAS: { fix: "define the anchor (&name) before using the alias (*name)" },
};

function firstLine(message: string): string {
  const head = message.split("\n")[0] ?? message;
  return head.replace(/ at line \d+, column \d+:?$/, "").trim();
}

/** Duplicate keys reported per document: the first ones are what a person needs to see. */
const MAX_DUPLICATES_REPORTED = 20;

interface Shape {
  keys: number;
  depth: number;
  /** Offsets of duplicate keys with the path of their mapping and the offset of the first one. */
  duplicates: Array<{ path: PathSegment[]; key: string; offset: number; firstOffset: number }>;
}

/**
 * Counts keys and depth and finds duplicate keys in one linear pass (the yaml
 * library's own uniqueKeys check compares every key with every other one, which
 * a large mapping turns into minutes). Stops early once a limit is passed.
 */
function measure(root: unknown, maxKeys: number): Shape {
  const shape: Shape = { keys: 0, depth: 0, duplicates: [] };
  const stack: Array<{ node: unknown; path: PathSegment[] }> = [{ node: root, path: [] }];
  while (stack.length > 0 && shape.keys <= maxKeys && shape.depth <= MAX_DEPTH) {
    const { node, path } = stack.pop()!;
    shape.depth = Math.max(shape.depth, path.length);
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        shape.keys++;
        const key = keyText(pair) ?? "";
        const offset = (pair.key as Node | null)?.range?.[0] ?? 0;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, offset);
        else if (shape.duplicates.length < MAX_DUPLICATES_REPORTED)
          shape.duplicates.push({ path, key, offset, firstOffset: first });
        stack.push({ node: pair.value, path: [...path, key] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        stack.push({ node: item, path: [...path, i] });
      });
    }
  }
  return shape;
}

export interface YamlLimits {
  /** Mapping keys in the whole document (default MAX_KEYS). */
  maxKeys?: number;
}

export function parseYamlSource(text: string, file: string, limits: YamlLimits = {}): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true, strict: true });
  const pos = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };

  const walk = (segments: readonly PathSegment[]): Walk => {
    let node: unknown = doc.contents;
    let pair: Pair | undefined;
    for (const segment of segments) {
      if (isMap(node)) {
        const next = node.items.find((p) => keyText(p) === String(segment));
        if (!next) return { node, found: false, ...(pair ? { pair } : {}) };
        pair = next;
        node = next.value;
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment];
        if (item === undefined) return { node, found: false, ...(pair ? { pair } : {}) };
        pair = undefined;
        node = item;
      } else return { node, found: false, ...(pair ? { pair } : {}) };
    }
    return { node, found: true, ...(pair ? { pair } : {}) };
  };

  const startOf = (node: AnyNode): number | undefined => {
    if (!node) return undefined;
    if (isPair(node)) return startOf(node.key as AnyNode);
    const range = (node as Node).range;
    if (!range || range[1] === range[0]) return undefined; // empty value: no text of its own
    return range[0];
  };

  const keyStart = (pair: Pair | undefined): number | undefined =>
    pair ? startOf(pair.key as AnyNode) : undefined;

  const valueAt = (segments: readonly PathSegment[]): Position => {
    const w = walk(segments);
    if (!w.found) return missingAt(segments);
    const node = w.node as Node | null;
    const isBlockCollection = (isMap(node) || isSeq(node)) && !node.flow;
    if (w.pair && (isBlockCollection || startOf(node) === undefined)) {
      const k = keyStart(w.pair);
      if (k !== undefined) return pos(k);
    }
    const s = startOf(node);
    if (s !== undefined) return pos(s);
    return segments.length === 0 ? { line: 1, column: 1 } : missingAt(segments);
  };

  const keyAt = (segments: readonly PathSegment[]): Position => {
    const w = walk(segments);
    if (w.found && w.pair) {
      const k = keyStart(w.pair);
      if (k !== undefined) return pos(k);
    }
    return valueAt(segments);
  };

  const missingAt = (segments: readonly PathSegment[]): Position => {
    for (let depth = segments.length - 1; depth >= 0; depth--) {
      const w = walk(segments.slice(0, depth));
      if (!w.found) continue;
      const k = keyStart(w.pair);
      if (k !== undefined) return pos(k);
      const s = startOf(w.node as AnyNode);
      if (s !== undefined) return pos(s);
    }
    return { line: 1, column: 1 };
  };

  /** Key path of the innermost node containing `offset`. */
  const pathAt = (offset: number): PathSegment[] => {
    const path: PathSegment[] = [];
    let node: unknown = doc.contents;
    for (let guard = 0; guard < 100; guard++) {
      if (isMap(node)) {
        const pair = node.items.find((p) => {
          const start = startOf(p.key as AnyNode);
          const value = p.value as Node | null;
          const end = value?.range ? value.range[2] : ((p.key as Node | null)?.range?.[2] ?? -1);
          return start !== undefined && offset >= start && offset <= end;
        });
        if (!pair) break;
        path.push(keyText(pair) ?? "?");
        node = pair.value;
      } else if (isSeq(node)) {
        const index = node.items.findIndex((item) => {
          const r = (item as Node | null)?.range;
          return r !== undefined && r !== null && offset >= r[0] && offset <= r[2];
        });
        if (index < 0) break;
        path.push(index);
        node = node.items[index];
      } else break;
    }
    return path;
  };

  const toProblem = (e: YAMLError, severity: "error" | "warning"): Problem => {
    const at = e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : pos(e.pos[0]);
    const help = SYNTAX_HELP[e.code];
    const message = help?.message ?? firstLine(e.message);
    let fix = help?.fix ?? "fix the YAML syntax on this line";
    let path = formatPath(pathAt(e.pos[0]));
    if (e.code === "TAB_AS_INDENT" || e.code === "BAD_INDENT") {
      // The error sits between two entries; the mapping that holds them is the useful path.
      path = formatPath(pathAt(e.pos[0]).slice(0, -1));
    }
    if (/end with an? ([\]}])/.test(e.message)) {
      const close = /end with an? ([\]}])/.exec(e.message)![1];
      fix = `close the ${close === "]" ? "list" : "mapping"} with ${close} (and indent continuation lines more than the key)`;
    } else if (/quote/i.test(message)) {
      fix = "close the quote on the same value";
    }
    return {
      file,
      line: at.line,
      column: at.column,
      path,
      message,
      fix,
      severity,
      code: "yaml-syntax",
    };
  };

  const syntax: Problem[] = [];
  const seen = new Set<string>();
  // The first errors are the useful ones; each costs a walk of the document.
  for (const e of doc.errors.slice(0, 50)) {
    const p = toProblem(e, "error");
    const k = `${p.line}:${p.column}`;
    if (seen.has(k)) continue; // one parser error usually cascades into several at the same spot
    seen.add(k);
    syntax.push(p);
  }
  for (const w of doc.warnings.slice(0, 50)) syntax.push(toProblem(w, "warning"));

  const maxKeys = limits.maxKeys ?? MAX_KEYS;
  const shape = measure(doc.contents, maxKeys);
  if (shape.keys > maxKeys || shape.depth > MAX_DEPTH) {
    const what =
      shape.keys > maxKeys ? `more than ${maxKeys} keys` : `nesting deeper than ${MAX_DEPTH} levels`;
    syntax.push(
      inputTooLarge(
        file,
        `${file} has ${what}; nothing in it was used`,
        "a release config is a few hundred keys: check that this is the file you meant",
      ),
    );
    return { text, data: undefined, syntax, valueAt, keyAt, missingAt };
  }
  for (const d of shape.duplicates) {
    const where = formatPath(d.path);
    syntax.push({
      file,
      ...pos(d.offset),
      path: formatPath([...d.path, d.key]),
      message: `key \`${d.key}\` appears twice${where ? ` in ${where}` : ""} (first at line ${pos(d.firstOffset).line})`,
      fix: "keep one of them: YAML would silently use only one value",
      severity: "error",
      code: "duplicate-key",
    });
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    if (!syntax.some((p) => p.severity === "error")) {
      syntax.push({
        file,
        line: 1,
        column: 1,
        path: "",
        message: `cannot read the YAML: ${(e as Error).message}`,
        severity: "error",
        code: "yaml-syntax",
      });
    }
  }
  return { text, data: data ?? undefined, syntax, valueAt, keyAt, missingAt };
}

/** Line/column of a character offset in `text` (both 1-based). */
export function offsetToPosition(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
