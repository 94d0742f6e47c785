// zod issues → Problems with a position, a key path, what was expected, what was
// found, and a fix. The zod messages are generic ("Invalid input"); here they get
// the context a person needs: allowed keys with a "did you mean", enum values,
// duration and percentage help, and the right alternative of a union.

import type { z } from "zod";
import { DURATION_PATTERN, parseDuration } from "./durations";
import { allowedKeys, type JsonSchemaNode, schemaNodeAt } from "./json-schema";
import { MAX_NAME_LENGTH } from "./limits";
import { describeValue, formatPath, type PathSegment, type Problem } from "./problems";
import { NAME_PATTERN } from "./schema";
import { suggest } from "./suggest";
import type { Position } from "./yaml-source";

type Issue = z.core.$ZodIssue;

export interface Locator {
  valueAt(segments: readonly PathSegment[]): Position;
  keyAt(segments: readonly PathSegment[]): Position;
  missingAt(segments: readonly PathSegment[]): Position;
}

export interface MapContext {
  file: string;
  data: unknown;
  schema: JsonSchemaNode;
  locate: Locator;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export function valueAtPath(data: unknown, segments: readonly PropertyKey[]): unknown {
  let v = data;
  for (const s of segments) {
    if (Array.isArray(v) && typeof s === "number") v = v[s];
    else if (isObj(v)) v = v[String(s)];
    else return undefined;
  }
  return v;
}

const TYPE_WORDS: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value pairs)",
  array: "a list",
  record: "a mapping (key: value pairs)",
};

function typeFix(expected: string, found: unknown, node: JsonSchemaNode | undefined): string {
  if (node?.pattern === DURATION_PATTERN) {
    const r = parseDuration(found);
    return r.ok ? "write the duration as text, e.g. 30s" : r.fix;
  }
  switch (expected) {
    case "number":
    case "int":
      return typeof found === "string" && found.trim() !== "" && Number.isFinite(Number(found))
        ? `remove the quotes: ${found.trim()}`
        : "write a plain number, e.g. 10";
    case "string":
      return "write text (quote it if it looks like a number or boolean)";
    case "boolean":
      return "write true or false (without quotes)";
    case "object":
    case "record":
      return "write key: value pairs indented under this key, or { key: value }";
    case "array":
      return "write a list: one `- item` per line, or [a, b]";
    default:
      return `write ${TYPE_WORDS[expected] ?? expected}`;
  }
}

const ENV_HINT =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
  " (note: ${env:…} references are only resolved in text fields such as run.env values and database.url)";

function unionFix(alternatives: JsonSchemaNode[], description: string | undefined): string {
  if (alternatives.length > 0 && alternatives.every((a) => a.type === "object")) {
    return `write a mapping: ${alternatives.map((a) => `{ ${(a.required ?? []).join(", ")} }`).join(" or ")}`;
  }
  const at = description?.lastIndexOf(". A ") ?? -1;
  return description && at >= 0
    ? `write a ${description.slice(at + 4).replace(/\.$/, "")}`
    : "change the value to match the expected form";
}

function where(segments: readonly PathSegment[]): string {
  return segments.length === 0 ? "the top level" : formatPath(segments);
}

interface Mapped extends Problem {
  /** Internal: unknown key's suggested name, to merge with the matching "missing key". */
  suggestedKey?: string;
  parentPath?: string;
  missingKey?: string;
}

export function mapIssues(issues: readonly Issue[], ctx: MapContext): Problem[] {
  const out: Mapped[] = [];
  for (const issue of issues) mapIssue(issue, [], ctx, out);
  // "unknown key `servce`" + "missing key `service`" in the same mapping is one typo.
  const renamed = new Set(out.filter((p) => p.suggestedKey).map((p) => `${p.parentPath}\0${p.suggestedKey}`));
  const kept = out.filter(
    (p) => !(p.code === "missing-key" && renamed.has(`${p.parentPath}\0${lastKey(p)}`)),
  );
  return kept.map(({ suggestedKey: _s, parentPath: _p, missingKey: _m, ...problem }) => problem);
}

function lastKey(p: Mapped): string {
  return p.missingKey ?? "";
}

function mapIssue(issue: Issue, base: readonly PathSegment[], ctx: MapContext, out: Mapped[]): void {
  const segments = [...base, ...(issue.path as PathSegment[])];
  const found = valueAtPath(ctx.data, segments);
  const node = schemaNodeAt(ctx.schema, segments, ctx.data);
  const path = formatPath(segments);
  const push = (
    p: Omit<Mapped, "file" | "path" | "severity" | "line" | "column">,
    at: Position,
    extra = {},
  ) => {
    out.push({ file: ctx.file, path, severity: "error", line: at.line, column: at.column, ...p, ...extra });
  };
  const envHint = typeof found === "string" && found.includes("${env:") ? ENV_HINT : "";

  switch (issue.code) {
    case "invalid_type": {
      if (segments.length === 0) {
        push(
          {
            code: "invalid-type",
            message:
              found === undefined || found === null
                ? "the file is empty"
                : "the file must be a YAML mapping with the sections service, run, environments and release",
            expected:
              "a mapping with service, run, environments, release (and optionally database, appConfig)",
            found: describeValue(found),
            fix: "start from examples/shop/shipshape.yaml",
          },
          { line: 1, column: 1 },
        );
        return;
      }
      if (found === undefined) {
        const key = String(segments[segments.length - 1]);
        const parent = segments.slice(0, -1);
        push(
          {
            code: "missing-key",
            message: `missing required key \`${key}\` in ${where(parent)}`,
            expected: node?.description ?? TYPE_WORDS[issue.expected] ?? issue.expected,
            fix: `add \`${key}: …\` to ${where(parent)}`,
          },
          ctx.locate.missingAt(segments),
          { parentPath: formatPath(parent), missingKey: key },
        );
        return;
      }
      if (node?.pattern === DURATION_PATTERN && found !== null) {
        const r = parseDuration(found);
        push(
          {
            code: "invalid-duration",
            message: r.ok ? `${path} must be written as text` : r.reason,
            expected: "a positive duration such as 500ms, 30s, 5m or 1h30m",
            found: describeValue(found),
            fix: r.ok ? "write e.g. 30s" : r.fix,
          },
          ctx.locate.valueAt(segments),
        );
        return;
      }
      const expectedWords = TYPE_WORDS[issue.expected] ?? issue.expected;
      push(
        {
          code: "invalid-type",
          message:
            found === null
              ? `${path} has no value`
              : issue.expected === "int" && typeof found === "number"
                ? `${path} must be a whole number`
                : `${path} must be ${expectedWords}, not ${describeValue(found)}`,
          expected: node?.description ? `${expectedWords}: ${node.description}` : expectedWords,
          found: describeValue(found),
          fix: typeFix(issue.expected, found, node) + envHint,
        },
        ctx.locate.valueAt(segments),
      );
      return;
    }
    case "invalid_value": {
      const values = issue.values.map(String);
      if (found === undefined && segments.length > 0) {
        const key = String(segments[segments.length - 1]);
        const parent = segments.slice(0, -1);
        push(
          {
            code: "missing-key",
            message: `missing required key \`${key}\` in ${where(parent)}`,
            expected: `one of: ${values.join(" | ")}`,
            fix: `add \`${key}: ${values[0]}\` to ${where(parent)}`,
          },
          ctx.locate.missingAt(segments),
          { parentPath: formatPath(parent), missingKey: key },
        );
        return;
      }
      const close = typeof found === "string" ? suggest(found, values) : undefined;
      push(
        {
          code: "invalid-value",
          message: `${path} must be one of ${values.join(", ")}`,
          expected: `one of: ${values.join(" | ")}`,
          found: describeValue(found),
          fix: (close ? `did you mean \`${close}\`?` : `use one of ${values.join(", ")}`) + envHint,
        },
        ctx.locate.valueAt(segments),
      );
      return;
    }
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const limit = Number(
        small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum,
      );
      const inclusive = issue.inclusive !== false;
      let expected: string;
      let fix: string;
      if (issue.origin === "array" || issue.origin === "set") {
        expected = small ? `at least ${limit} item(s)` : `at most ${limit} item(s)`;
        fix = small ? "add an item to the list" : "remove items from the list";
      } else if (issue.origin === "string") {
        expected = small
          ? limit <= 1
            ? "non-empty text"
            : `at least ${limit} characters`
          : `at most ${limit} characters`;
        fix = small ? "write a value" : "shorten it";
      } else {
        const op = small ? (inclusive ? "at least" : "greater than") : inclusive ? "at most" : "less than";
        expected = `a number ${op} ${limit}`;
        fix = `use a value ${op} ${limit}`;
      }
      push(
        {
          code: "out-of-range",
          message: `${path} must be ${expected}`,
          expected: node?.description ? `${expected} (${node.description})` : expected,
          found: describeValue(found),
          fix,
        },
        ctx.locate.valueAt(segments),
      );
      return;
    }
    case "invalid_format": {
      let fix = node?.description
        ? `write ${/^[A-Z][a-z]/.test(node.description) ? node.description.charAt(0).toLowerCase() + node.description.slice(1) : node.description}`
        : "";
      if (node?.pattern === NAME_PATTERN && typeof found === "string") {
        const slug = found
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, "-")
          .replace(/^[^a-z]+/, "")
          .replace(/-+$/, "");
        if (slug) fix = `write it as "${slug}"`;
      } else if (node?.pattern === "^/" || node?.pattern === "^\\/")
        fix = `start it with a slash: "/${String(found)}"`;
      else if (node?.pattern === "^arn:") fix = "use the full ARN (arn:aws:elasticloadbalancing:…)";
      push(
        {
          code: "invalid-format",
          message: `${path} has an invalid format`,
          expected: node?.description ?? `text matching ${node?.pattern ?? "the expected pattern"}`,
          found: describeValue(found),
          fix: (fix || "check the value") + envHint,
        },
        ctx.locate.valueAt(segments),
      );
      return;
    }
    case "invalid_key": {
      const parent = segments.slice(0, -1);
      const isEnvVar = formatPath(parent) === "run.env";
      const key = String(segments[segments.length - 1]);
      if (!isEnvVar && key.length > MAX_NAME_LENGTH) {
        push(
          {
            code: "invalid-key",
            message: `the name \`${key.slice(0, 20)}…\` in ${where(parent)} is ${key.length} characters long; names are at most ${MAX_NAME_LENGTH}`,
            expected: `at most ${MAX_NAME_LENGTH} lowercase letters, digits and dashes`,
            fix: "shorten it",
          },
          ctx.locate.keyAt(segments),
        );
        return;
      }
      push(
        {
          code: "invalid-key",
          message: `\`${key}\` is not a valid ${isEnvVar ? "environment variable name" : "name"} in ${where(parent)}`,
          expected: isEnvVar
            ? "letters, digits and _, not starting with a digit"
            : "lowercase letters, digits and dashes, starting with a letter",
          found: JSON.stringify(key),
          fix: isEnvVar
            ? `rename it, e.g. ${key.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([0-9])/, "_$1")}`
            : `rename it, e.g. ${
                key
                  .toLowerCase()
                  .replace(/[^a-z0-9-]+/g, "-")
                  .replace(/^[^a-z]+/, "") || "production"
              }`,
        },
        ctx.locate.keyAt(segments),
      );
      return;
    }
    case "unrecognized_keys": {
      const candidates = allowedKeys(ctx.schema, node);
      const present = isObj(found) ? Object.keys(found) : [];
      const free = candidates.filter((c) => !present.includes(c));
      for (const key of issue.keys) {
        const close = suggest(key, free) ?? suggest(key, candidates);
        const keySegments = [...segments, key];
        out.push({
          file: ctx.file,
          path: formatPath(keySegments),
          severity: "error",
          ...ctx.locate.keyAt(keySegments),
          code: "unknown-key",
          message: `unknown key \`${key}\` in ${where(segments)}`,
          expected: candidates.length ? `one of: ${candidates.join(", ")}` : "no keys here",
          fix: close ? `did you mean \`${close}\`?` : `remove it (allowed: ${candidates.join(", ")})`,
          ...(close ? { suggestedKey: close } : {}),
          parentPath: path,
        });
      }
      return;
    }
    case "invalid_union": {
      const branches = issue.errors;
      const alternatives = node?.anyOf ?? node?.oneOf ?? [];
      if (isObj(found) && alternatives.length === branches.length) {
        const keys = Object.keys(found);
        const required = alternatives.map((a) => a.required ?? []);
        const matched = required.filter((r) => r.length > 0 && r.some((k) => keys.includes(k)));
        if (matched.length > 1) {
          push(
            {
              code: "mixed-alternatives",
              message: `${path} mixes keys of different kinds of entry (${matched.map((r) => r.join("/")).join(" and ")})`,
              expected:
                node?.description ?? `one of: ${required.map((r) => `{ ${r.join(", ")} }`).join(" or ")}`,
              found: describeValue(found),
              fix: "split it into separate list items, one per kind",
            },
            ctx.locate.valueAt(segments),
          );
          return;
        }
        // The alternative the author most likely meant: most keys known or close to known ones.
        let best = 0;
        let bestScore = -1;
        alternatives.forEach((alt, i) => {
          const altKeys = allowedKeys(ctx.schema, alt);
          const score =
            keys.filter((k) => altKeys.includes(k)).length * 2 +
            keys.filter((k) => !altKeys.includes(k) && suggest(k, altKeys)).length;
          const fewer = (branches[i]?.length ?? 0) < (branches[best]?.length ?? 0);
          if (score > bestScore || (score === bestScore && fewer)) {
            best = i;
            bestScore = score;
          }
        });
        for (const inner of branches[best] ?? []) mapIssue(inner, segments, ctx, out);
        return;
      }
      // A scalar/list where none of the alternatives fits.
      const expected =
        node?.description ??
        [
          ...new Set(
            branches.flatMap((b) =>
              b
                .filter((i) => i.code === "invalid_type")
                .map((i) => TYPE_WORDS[(i as { expected: string }).expected]),
            ),
          ),
        ].join(" or ");
      const onlyTypeErrors = branches.every((b) =>
        b.every((i) => i.code === "invalid_type" && i.path.length === 0),
      );
      if (!onlyTypeErrors) {
        const firstBranch = branches[0] ?? [];
        for (const inner of firstBranch) mapIssue(inner, segments, ctx, out);
        return;
      }
      push(
        {
          code: "invalid-type",
          message: `${path} must be ${expected ? expected.charAt(0).toLowerCase() + expected.slice(1).replace(/\.$/, "") : "something else"}`,
          expected: expected || "another kind of value",
          found: describeValue(found),
          fix: unionFix(alternatives, node?.description),
        },
        ctx.locate.valueAt(segments),
      );
      return;
    }
    case "custom": {
      const params = (issue.params ?? {}) as {
        code?: string;
        expected?: string;
        found?: string;
        fix?: string;
      };
      const p: Omit<Mapped, "file" | "path" | "severity" | "line" | "column"> = {
        code: params.code ?? "invalid",
        message: issue.message,
      };
      if (params.expected) p.expected = params.expected;
      const f = params.found ?? (typeof found === "object" ? undefined : describeValue(found));
      if (f !== undefined && found !== undefined) p.found = f;
      if (params.fix) p.fix = params.fix + (params.code?.startsWith("invalid-") ? envHint : "");
      push(p, ctx.locate.valueAt(segments));
      return;
    }
    default:
      push(
        { code: "invalid", message: `${path || "the file"}: ${issue.message}`, found: describeValue(found) },
        ctx.locate.valueAt(segments),
      );
  }
}
