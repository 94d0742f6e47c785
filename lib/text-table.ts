/**
 * Plain-text tables for terminals: columns padded to their widest cell,
 * numbers right-aligned when asked, an optional rule under the header.
 * Widths count code points, so "✓" and "→" take one column like any letter.
 */

export interface TableColumn {
  header: string;
  align?: "left" | "right";
}

export interface TableOptions {
  /** Put before every line (e.g. "  "). */
  indent?: string;
  /** Spaces between columns; default 2. */
  gap?: number;
  /** A line of "─" under the header. */
  rule?: boolean;
}

const width = (s: string) => [...s].length;

function pad(cell: string, w: number, align: "left" | "right"): string {
  const fill = " ".repeat(Math.max(0, w - width(cell)));
  return align === "right" ? fill + cell : cell + fill;
}

/** The table as lines (no trailing spaces). A row shorter than the header gets empty cells. */
export function formatTable(columns: TableColumn[], rows: string[][], options: TableOptions = {}): string[] {
  const indent = options.indent ?? "";
  const gap = " ".repeat(options.gap ?? 2);
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    indent +
    columns
      .map((c, i) => pad(cells[i] ?? "", widths[i] ?? 0, c.align ?? "left"))
      .join(gap)
      .trimEnd();
  const out = [line(columns.map((c) => c.header))];
  if (options.rule) out.push(indent + widths.map((w) => "─".repeat(w)).join(gap));
  for (const r of rows) out.push(line(r));
  return out;
}
