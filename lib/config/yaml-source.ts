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

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, strict: true });
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

  const duplicateDetail = (offset: number): string | undefined => {
    const path = pathAt(offset);
    const parent = walk(path.slice(0, -1));
    if (!isMap(parent.node)) return undefined;
    const key = path[path.length - 1];
    const first = parent.node.items.find((p) => keyText(p) === String(key));
    const start = first ? startOf(first.key as AnyNode) : undefined;
    if (start === undefined || start === offset) return undefined;
    const where = formatPath(path.slice(0, -1));
    return `key \`${String(key)}\` appears twice${where ? ` in ${where}` : ""} (first at line ${pos(start).line})`;
  };

  const toProblem = (e: YAMLError, severity: "error" | "warning"): Problem => {
    const at = e.linePos?.[0] ? { line: e.linePos[0].line, column: e.linePos[0].col } : pos(e.pos[0]);
    const help = SYNTAX_HELP[e.code];
    let message = help?.message ?? firstLine(e.message);
    let fix = help?.fix ?? "fix the YAML syntax on this line";
    let path = formatPath(pathAt(e.pos[0]));
    if (e.code === "TAB_AS_INDENT" || e.code === "BAD_INDENT") {
      // The error sits between two entries; the mapping that holds them is the useful path.
      path = formatPath(pathAt(e.pos[0]).slice(0, -1));
    }
    if (e.code === "DUPLICATE_KEY") {
      message = duplicateDetail(e.pos[0]) ?? "a key appears twice in the same mapping";
      fix = "keep one of them: YAML would silently use only one value";
    } else if (/end with an? ([\]}])/.test(e.message)) {
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
      code: e.code === "DUPLICATE_KEY" ? "duplicate-key" : "yaml-syntax",
    };
  };

  const syntax: Problem[] = [];
  const seen = new Set<string>();
  for (const e of doc.errors) {
    const p = toProblem(e, "error");
    const k = `${p.line}:${p.column}`;
    if (seen.has(k)) continue; // one parser error usually cascades into several at the same spot
    seen.add(k);
    syntax.push(p);
  }
  for (const w of doc.warnings) syntax.push(toProblem(w, "warning"));

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
