// Problems for humans: `file:line:column`, severity, key path, message, a code
// frame when the source is at hand, then expected / found / fix.

import type { Problem } from "./problems";

export interface FormatOptions {
  /** Source text per file name, to show the offending line with a caret. */
  sources?: Record<string, string>;
  color?: boolean;
}

export function formatProblem(p: Problem, options: FormatOptions = {}): string {
  const c = colors(options.color === true);
  const sev = p.severity === "error" ? c.red("error") : c.yellow("warning");
  const lines = [
    `${c.bold(`${p.file}:${p.line}:${p.column}`)} ${sev} ${p.path ? c.cyan(p.path) : ""}`.trimEnd(),
    `  ${p.message}`,
  ];
  const source = options.sources?.[p.file];
  if (source !== undefined) {
    const text = source.split(/\r?\n/)[p.line - 1];
    if (text !== undefined) {
      const gutter = String(p.line);
      const shown = text.replace(/\t/g, " ");
      lines.push(`  ${c.dim(`${gutter} |`)} ${shown}`);
      lines.push(
        `  ${" ".repeat(gutter.length)} ${c.dim("|")} ${" ".repeat(Math.max(0, p.column - 1))}${c.red("^")}`,
      );
    }
  }
  const indent = (s: string) => s.replace(/\n/g, "\n            ");
  if (p.expected) lines.push(`  expected: ${indent(p.expected)}`);
  if (p.found) lines.push(`  found:    ${indent(p.found)}`);
  if (p.fix) lines.push(`  fix:      ${indent(p.fix)}`);
  return lines.join("\n");
}

/** The full report: each problem, then a count line. */
export function formatProblems(problems: readonly Problem[], options: FormatOptions = {}): string {
  const errors = problems.filter((p) => p.severity === "error").length;
  const warnings = problems.length - errors;
  const files = [...new Set(problems.map((p) => p.file))];
  const parts = [];
  if (errors) parts.push(`${errors} error${errors === 1 ? "" : "s"}`);
  if (warnings) parts.push(`${warnings} warning${warnings === 1 ? "" : "s"}`);
  const body = problems.map((p) => formatProblem(p, options)).join("\n\n");
  const summary = parts.length ? `${parts.join(", ")} in ${files.join(", ")}` : "no problems";
  return problems.length ? `${body}\n\n${summary}` : summary;
}

function colors(on: boolean) {
  const wrap = (code: string) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { red: wrap("31"), yellow: wrap("33"), cyan: wrap("36"), bold: wrap("1"), dim: wrap("2") };
}
