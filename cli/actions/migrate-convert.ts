// What `shipshape migrate convert <file.sql>` does (declared in
// cli/commands/migrate.ts): the operations for the DDL that has an exact
// equivalent, as a migration file's YAML on stdout, and every statement that
// has none on stderr with its line and the reason. Exit 1 when any statement
// is left over (the YAML alone would silently drop it), 2 when the file
// cannot be read. Loaded only when the subcommand runs: the SQL parser is
// WebAssembly and no other command needs it.

import fs from "node:fs";
import { stringify } from "yaml";
import { convertSql } from "../../lib/migrations/convert";
import { type CliContext, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../context";

export interface ConvertOptions {
  json?: boolean;
}

/** First line of a statement, shortened: enough to find it in the file. */
const headline = (statement: string) => {
  const first = statement.split("\n")[0] ?? "";
  return first.length > 72 ? `${first.slice(0, 69)}...` : first;
};

export async function convert(ctx: CliContext, file: string, opts: ConvertOptions): Promise<void> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    ctx.stderr(`migrate convert: cannot read ${file}: ${(err as Error).message}`);
    ctx.exitCode = EXIT_USAGE;
    return;
  }
  const r = await convertSql(text);
  if (opts.json) {
    ctx.stdout(JSON.stringify(r, null, 2));
  } else {
    ctx.stdout(
      r.operations.length
        ? `# converted from ${file} by shipshape migrate convert\n${stringify({ operations: r.operations }, { lineWidth: 0 })}`
        : `# nothing in ${file} converts to an operation`,
    );
    for (const i of r.ignored)
      ctx.stderr(
        `${file}:${i.line}: ignored: ${headline(i.statement)} (the engine runs its own transactions)`,
      );
    for (const u of r.unconverted)
      ctx.stderr(`${file}:${u.line}: not converted: ${headline(u.statement)}\n    ${u.reason}`);
    if (r.unconverted.length) {
      ctx.stderr(
        `migrate convert: ${r.unconverted.length} statement(s) not converted; write them as operations (or raw_sql) by hand`,
      );
    }
  }
  ctx.exitCode = r.unconverted.length ? EXIT_FAILED : EXIT_OK;
}
