/**
 * SQL fragments of migration files (`type`, `default`, `check`, `up`, `down`,
 * `where`, raw_sql's statements) are spliced into SQL the engine generates,
 * some of it inside PL/pgSQL trigger bodies where PostgreSQL's own
 * one-statement rule (extended protocol, see step-runner) cannot help: an
 * `up` of `1); DROP TABLE users; NEW.x := (1` would be a valid trigger body.
 * So every fragment is checked here, at validate time, by a tokenizer that
 * knows PostgreSQL's lexical rules for what can hide a `;` or a parenthesis:
 * '…' strings (with '' and, for E'…', backslash escapes), "…" identifiers,
 * $tag$…$tag$ dollar quotes, -- line comments and nested block comments.
 *
 * No full SQL parser is used on purpose: a parser that does not know every
 * PostgreSQL construct would refuse valid migrations; the only properties
 * needed here are lexical (statement boundaries, balanced parentheses).
 */

export interface FragmentScan {
  /** Non-empty statements (text between top-level semicolons that holds more than comments and blanks). */
  statements: number;
  /** Whether a ';' occurs outside quotes and comments. */
  semicolon: boolean;
  /** Parentheses close before they open, or stay open. */
  unbalanced: boolean;
  lineComment: boolean;
  /** An unterminated string, quoted identifier, dollar quote or block comment. */
  unterminated?: string;
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

export function scanSql(text: string): FragmentScan {
  const out: FragmentScan = { statements: 0, semicolon: false, unbalanced: false, lineComment: false };
  let depth = 0;
  let content = false;
  const endStatement = () => {
    if (content) out.statements++;
    content = false;
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (ch === "-" && next === "-") {
      out.lineComment = true;
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (ch === "/" && next === "*") {
      // PostgreSQL block comments nest.
      let level = 1;
      i += 2;
      while (i < n && level > 0) {
        if (text[i] === "/" && text[i + 1] === "*") {
          level++;
          i += 2;
        } else if (text[i] === "*" && text[i + 1] === "/") {
          level--;
          i += 2;
        } else i++;
      }
      if (level > 0) out.unterminated = "block comment /* … */";
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === ";") {
      out.semicolon = true;
      if (depth !== 0) out.unbalanced = true;
      endStatement();
      i++;
      continue;
    }
    content = true;
    if (ch === "'") {
      // E'…' (or e'…') allows backslash escapes; the E must be a token of its own.
      const prev = text[i - 1];
      const escapes = (prev === "E" || prev === "e") && !IDENT_CHAR.test(text[i - 2] ?? " ");
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i];
        if (escapes && c === "\\") {
          i += 2;
          continue;
        }
        if (c === "'") {
          if (text[i + 1] === "'") {
            i += 2;
            continue;
          }
          closed = true;
          i++;
          break;
        }
        i++;
      }
      if (!closed) out.unterminated = "string '…'";
      continue;
    }
    if (ch === '"') {
      const end = findQuoteEnd(text, i + 1);
      if (end < 0) {
        out.unterminated = 'quoted identifier "…"';
        i = n;
      } else i = end + 1;
      continue;
    }
    if (ch === "$" && !IDENT_CHAR.test(text[i - 1] ?? " ")) {
      const m = TAG.exec(text.slice(i));
      if (m) {
        const tag = m[0];
        const end = text.indexOf(tag, i + tag.length);
        if (end < 0) {
          out.unterminated = `dollar quote ${tag}…${tag}`;
          i = n;
        } else i = end + tag.length;
        continue;
      }
    }
    if (ch === "(") depth++;
    else if (ch === ")") {
      depth--;
      if (depth < 0) out.unbalanced = true;
    }
    // An identifier or keyword may contain '$' (not a dollar quote then): consume it whole.
    if (IDENT_CHAR.test(ch)) {
      while (i < n && IDENT_CHAR.test(text[i] as string)) i++;
      continue;
    }
    i++;
  }
  endStatement();
  if (depth !== 0) out.unbalanced = true;
  return out;
}

function findQuoteEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    if (text[i] === '"') {
      if (text[i + 1] === '"') {
        i += 2;
        continue;
      }
      return i;
    }
    i++;
  }
  return -1;
}

/**
 * Why `text` is not one self-contained expression (or type), or undefined when
 * it is. It is spliced inside generated statements and trigger bodies, so it
 * may hold no ';', no unbalanced parenthesis, nothing unterminated and no
 * line comment (which would comment out the generated SQL after it).
 */
export function expressionProblem(text: string): string | undefined {
  const s = scanSql(text);
  if (s.unterminated) return `unterminated ${s.unterminated}`;
  if (s.semicolon) return "must be exactly one expression: ';' would end the statement and start another";
  if (s.unbalanced) return "must be exactly one expression: its parentheses do not balance";
  if (s.lineComment)
    return "must be exactly one expression: a -- comment would swallow the SQL after it (use /* … */)";
  return undefined;
}

/** Why `text` is not exactly one SQL statement (an optional trailing ';' is fine), or undefined. */
export function statementProblem(text: string): string | undefined {
  const s = scanSql(text);
  if (s.unterminated) return `unterminated ${s.unterminated}`;
  if (s.unbalanced) return "its parentheses do not balance";
  if (s.statements > 1)
    return `must be exactly one statement, found ${s.statements} statements (split them into several raw_sql operations)`;
  return undefined;
}

/**
 * A dollar-quote tag that does not occur in `body`: derived from a hash of the
 * body (so it is stable across retries) and checked against the text, with a
 * counter for the (astronomically unlikely) case that it does occur.
 */
export function dollarTag(body: string, hash: (s: string) => string): string {
  for (let k = 0; ; k++) {
    const tag = `$ss_${hash(`${k}:${body}`).slice(0, 12)}$`;
    if (!body.includes(tag)) return tag;
  }
}
