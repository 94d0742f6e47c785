/**
 * `shipshape migrate convert <file.sql>`: PostgreSQL DDL -> migration
 * operations, for the statements that have an exact equivalent, and the
 * others listed with their line and why. Never a guess: a statement is
 * converted whole or not at all, and anything whose meaning an operation
 * would change (an unnamed table constraint whose name PostgreSQL would
 * pick, NOT VALID, CASCADE, a type change without `down`) is listed instead.
 *
 * Parsing is PostgreSQL's own grammar (libpg-query: the server's parser
 * compiled to WebAssembly), so what PostgreSQL accepts parses the same way;
 * expressions (defaults, checks, predicates) and type names are printed back
 * from the parse tree by pgsql-deparser, from the same maintainers.
 */
import { loadModule, parseSync, scanSync } from "libpg-query";
import { deparseSync } from "pgsql-deparser";
import { validateMigrationObject } from "./file-format";

export interface Unconverted {
  line: number;
  /** The statement's text, as written. */
  statement: string;
  reason: string;
}

export interface ConvertResult {
  operations: Array<Record<string, unknown>>;
  unconverted: Unconverted[];
  /** Statements deliberately ignored (BEGIN / COMMIT: the engine has its own transactions). */
  ignored: Array<{ line: number; statement: string }>;
}

/** Parse-tree nodes: JSON from the parser; each converter checks the fields it reads. */
// biome-ignore lint/suspicious/noExplicitAny: parse trees are untyped JSON here, read field by field
type N = any;

/** Thrown by a converter: the statement stays unconverted, for this reason. */
class NoEquivalent extends Error {}
const no = (reason: string): never => {
  throw new NoEquivalent(reason);
};

/** A column name as an SQL expression: bare when PostgreSQL would read it back unchanged. */
const sqlName = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

const str = (n: N): string => n?.String?.sval ?? no("unexpected name form");
const names = (list: N[] | undefined): string[] => (list ?? []).map(str);
const expr = (n: N): string => deparseSync(n);

function relation(r: N): string {
  if (r?.schemaname) {
    no(
      `schema-qualified name ${r.schemaname}.${r.relname}: operations act on the engine's schema (--schema); leave the schema out`,
    );
  }
  if (r?.inh === false) no("ONLY: operations act on the table itself");
  return r.relname;
}

function typeName(t: N): string {
  if (t.setof || t.pct_type) no("unsupported type form");
  return deparseSync({ TypeName: t });
}

const FK_ACTIONS: Record<string, string> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

/** on_update / on_delete / match / deferrable of a foreign key constraint node. */
function fkOptions(c: N): Record<string, unknown> {
  if (c.fk_matchtype === "p") no("MATCH PARTIAL is not implemented by PostgreSQL");
  if (c.fk_del_set_cols?.length) no("ON DELETE SET NULL (columns) has no equivalent");
  const out: Record<string, unknown> = {};
  if (c.fk_del_action && c.fk_del_action !== "a") out.on_delete = FK_ACTIONS[c.fk_del_action];
  if (c.fk_upd_action && c.fk_upd_action !== "a") out.on_update = FK_ACTIONS[c.fk_upd_action];
  if (c.fk_matchtype === "f") out.match = "full";
  if (c.deferrable) out.deferrable = true;
  if (c.initdeferred) out.initially_deferred = true;
  return out;
}

function refuseConstraintExtras(c: N, what: string): void {
  if (c.skip_validation) {
    no(
      `${what} NOT VALID: the engine validates every constraint on complete; use raw_sql to keep it unvalidated`,
    );
  }
  if (c.is_no_inherit) no(`${what} NO INHERIT has no equivalent`);
  if ((c.options?.length && c.contype !== "CONSTR_IDENTITY") || c.indexspace)
    no(`${what} WITH (…) / USING INDEX TABLESPACE has no equivalent`);
  if (c.indexname) no(`${what} USING INDEX has no equivalent`);
  if (c.nulls_not_distinct) no(`${what} NULLS NOT DISTINCT has no equivalent`);
  if ((c.contype === "CONSTR_UNIQUE" || c.contype === "CONSTR_PRIMARY") && c.deferrable) {
    no(`deferrable ${what} has no equivalent`);
  }
}

/** A column definition of create_table / add_column. */
function columnDef(col: N, table: string): Record<string, unknown> {
  const out: Record<string, unknown> = { name: col.colname, type: typeName(col.typeName) };
  if (col.collClause) {
    out.type = `${out.type} COLLATE ${names(col.collClause.collname)
      .map((x) => `"${x.replace(/"/g, '""')}"`)
      .join(".")}`;
  }
  if (col.storage || col.compression) no(`column ${col.colname}: STORAGE / COMPRESSION has no equivalent`);
  let previous: string | undefined;
  for (const { Constraint: c } of (col.constraints ?? []) as N[]) {
    // DEFERRABLE / INITIALLY … after a column constraint belong to the constraint before them.
    if (String(c.contype).startsWith("CONSTR_ATTR_")) {
      const refs = out.references as Record<string, unknown> | undefined;
      if (previous !== "CONSTR_FOREIGN" || !refs)
        no(`column ${col.colname}: DEFERRABLE here has no equivalent`);
      if (c.contype === "CONSTR_ATTR_DEFERRABLE") refs!.deferrable = true;
      else if (c.contype === "CONSTR_ATTR_NOT_DEFERRABLE") delete refs!.deferrable;
      else if (c.contype === "CONSTR_ATTR_DEFERRED") refs!.initially_deferred = true;
      else if (c.contype === "CONSTR_ATTR_IMMEDIATE") delete refs!.initially_deferred;
      else no(`column ${col.colname}: ${c.contype} has no equivalent`);
      continue;
    }
    previous = c.contype;
    const defaultName = {
      CONSTR_UNIQUE: `${table}_${col.colname}_key`,
      CONSTR_CHECK: `${table}_${col.colname}_check`,
      CONSTR_FOREIGN: `${table}_${col.colname}_fkey`,
      CONSTR_PRIMARY: `${table}_pkey`,
    }[c.contype as string];
    if (c.conname && c.conname !== defaultName) {
      no(
        `column ${col.colname}: constraint name ${c.conname} (a column's ${c.contype.slice(7).toLowerCase()} gets ${defaultName}); declare it as a table constraint or with add_constraint`,
      );
    }
    refuseConstraintExtras(c, `column ${col.colname}:`);
    switch (c.contype) {
      case "CONSTR_NOTNULL":
        out.nullable = false;
        break;
      case "CONSTR_NULL":
        out.nullable = true;
        break;
      case "CONSTR_DEFAULT":
        out.default = expr(c.raw_expr);
        break;
      case "CONSTR_PRIMARY":
        out.primary_key = true;
        break;
      case "CONSTR_UNIQUE":
        out.unique = true;
        break;
      case "CONSTR_CHECK":
        out.check = expr(c.raw_expr);
        break;
      case "CONSTR_FOREIGN": {
        const pk = names(c.pk_attrs);
        if (pk.length !== 1) no(`column ${col.colname}: REFERENCES without the referenced column (name it)`);
        out.references = { table: relation(c.pktable), column: pk[0], ...fkOptions(c) };
        break;
      }
      case "CONSTR_IDENTITY": {
        const identity: Record<string, unknown> = {
          generated: c.generated_when === "a" ? "always" : "by_default",
        };
        for (const { DefElem: o } of (c.options ?? []) as N[]) {
          if (o.defname === "start" || o.defname === "increment") {
            const v = o.arg?.Integer?.ival ?? (o.arg?.Float ? Number(o.arg.Float.fval) : undefined);
            if (typeof v !== "number" || !Number.isSafeInteger(v))
              no(`identity ${o.defname}: not a plain integer`);
            identity[o.defname] = v;
          } else {
            no(`identity option ${o.defname} has no equivalent (start and increment do)`);
          }
        }
        out.identity = identity;
        break;
      }
      case "CONSTR_GENERATED":
        if (c.generated_kind && c.generated_kind !== "s") no("virtual generated columns have no equivalent");
        out.generated = expr(c.raw_expr);
        break;
      default:
        no(`column ${col.colname}: ${c.contype} has no equivalent`);
    }
  }
  return out;
}

/** A named table constraint -> an add_constraint body (without `table`). */
function tableConstraint(c: N): Record<string, unknown> {
  const what = c.contype.slice(7).toLowerCase();
  if (!c.conname) {
    no(
      `unnamed ${what} constraint: PostgreSQL would choose its name; name it (CONSTRAINT …) so the operation can`,
    );
  }
  refuseConstraintExtras(c, `constraint ${c.conname}:`);
  const include = names(c.including);
  const withInclude = include.length ? { include } : {};
  switch (c.contype) {
    case "CONSTR_UNIQUE":
      return { type: "unique", name: c.conname, columns: names(c.keys), ...withInclude };
    case "CONSTR_PRIMARY":
      return { type: "primary_key", name: c.conname, columns: names(c.keys), ...withInclude };
    case "CONSTR_CHECK":
      return { type: "check", name: c.conname, check: expr(c.raw_expr) };
    case "CONSTR_FOREIGN": {
      const pk = names(c.pk_attrs);
      if (!pk.length) no(`constraint ${c.conname}: REFERENCES without the referenced columns (name them)`);
      return {
        type: "foreign_key",
        name: c.conname,
        columns: names(c.fk_attrs),
        references: { table: relation(c.pktable), columns: pk },
        ...fkOptions(c),
      };
    }
    case "CONSTR_EXCLUSION": {
      if (c.deferrable) no(`constraint ${c.conname}: deferrable EXCLUDE has no equivalent`);
      const elements = (c.exclusions as N[]).map((pair) => {
        const [elem, ops] = pair.List.items as N[];
        const e = elem.IndexElem;
        if (
          e.collation ||
          e.opclass ||
          e.ordering !== "SORTBY_DEFAULT" ||
          e.nulls_ordering !== "SORTBY_NULLS_DEFAULT"
        ) {
          no(`constraint ${c.conname}: operator class / collation / ordering in EXCLUDE has no equivalent`);
        }
        const operator = names(ops.List.items);
        if (operator.length !== 1) no(`constraint ${c.conname}: schema-qualified operator`);
        return e.name !== undefined
          ? { column: e.name, operator: operator[0] }
          : { expression: expr(e.expr), operator: operator[0] };
      });
      return {
        type: "exclude",
        name: c.conname,
        using: c.access_method ?? "gist",
        elements,
        ...withInclude,
        ...(c.where_clause ? { where: expr(c.where_clause) } : {}),
      };
    }
    default:
      return no(`${what} constraint has no equivalent`);
  }
}

function createTable(s: N): Array<Record<string, unknown>> {
  if (s.relation.relpersistence !== "p") no("TEMPORARY / UNLOGGED tables have no equivalent");
  if (s.inhRelations?.length || s.partbound || s.partspec || s.ofTypename) {
    no("inheritance, partitions and typed tables have no equivalent");
  }
  if (s.options?.length || s.tablespacename || s.accessMethod)
    no("WITH (…) / TABLESPACE / USING have no equivalent");
  if (s.if_not_exists) no("IF NOT EXISTS: an operation always creates the table");
  const table = relation(s.relation);
  const columns: Array<Record<string, unknown>> = [];
  const after: Array<Record<string, unknown>> = [];
  let primaryKey: unknown;
  for (const elt of s.tableElts ?? []) {
    if (elt.ColumnDef) columns.push(columnDef(elt.ColumnDef, table));
    else if (elt.Constraint?.contype === "CONSTR_PRIMARY" && !elt.Constraint.including?.length) {
      const c = elt.Constraint;
      refuseConstraintExtras(c, "primary key:");
      primaryKey = c.conname ? { name: c.conname, columns: names(c.keys) } : names(c.keys);
    } else if (elt.Constraint) after.push({ add_constraint: { table, ...tableConstraint(elt.Constraint) } });
    else no("LIKE has no equivalent");
  }
  const body: Record<string, unknown> = { table, columns };
  if (primaryKey) body.primary_key = primaryKey;
  return [{ create_table: body }, ...after];
}

function alterTable(s: N): Array<Record<string, unknown>> {
  if (s.objtype !== "OBJECT_TABLE") no(`ALTER ${String(s.objtype).slice(7)} has no equivalent`);
  if (s.missing_ok) no("IF EXISTS: an operation requires the table");
  const table = relation(s.relation);
  return (s.cmds as N[]).map(({ AlterTableCmd: cmd }): Record<string, unknown> => {
    if (cmd.behavior === "DROP_CASCADE") no("CASCADE: operations never drop dependents they do not name");
    if (cmd.missing_ok) no("IF EXISTS / IF NOT EXISTS: an operation requires the object's state");
    switch (cmd.subtype) {
      case "AT_AddColumn": {
        const column = columnDef(cmd.def.ColumnDef, table);
        if (column.primary_key)
          no("ADD COLUMN … PRIMARY KEY: add the column, then add_constraint primary_key");
        if (column.identity || column.generated !== undefined) {
          no(
            "ADD COLUMN with identity / generated rewrites the table; add_column refuses it (create_table only)",
          );
        }
        if (column.nullable === false && column.default === undefined) {
          no(
            "ADD COLUMN NOT NULL without a default needs 'up' (the value for existing rows), which SQL does not say",
          );
        }
        return { add_column: { table, column } };
      }
      case "AT_DropColumn":
        return { drop_column: { table, column: cmd.name } };
      case "AT_ColumnDefault":
        return { set_default: { table, column: cmd.name, default: cmd.def ? expr(cmd.def) : null } };
      case "AT_SetNotNull":
        // NULLs make SET NOT NULL fail; up = the column itself makes complete fail on them the same way.
        return { set_not_null: { table, column: cmd.name, up: sqlName(cmd.name) } };
      case "AT_DropNotNull":
        return no(
          "DROP NOT NULL needs 'down' (the old version's value when the new one writes NULL), which SQL does not say",
        );
      case "AT_AlterColumnType":
        return no(
          "ALTER COLUMN TYPE needs 'down' (the old value from the new one), which SQL does not say; write change_type",
        );
      case "AT_AddConstraint":
        return { add_constraint: { table, ...tableConstraint(cmd.def.Constraint) } };
      case "AT_DropConstraint":
        return { drop_constraint: { table, name: cmd.name } };
      case "AT_ReplicaIdentity": {
        const r = cmd.def.ReplicaIdentityStmt;
        const identity = { d: "default", f: "full", n: "nothing", i: "index" }[r.identity_type as string];
        if (!identity) no("unknown replica identity");
        return {
          set_replica_identity:
            identity === "index" ? { table, identity, index: r.name } : { table, identity },
        };
      }
      default:
        return no(`${String(cmd.subtype).slice(3)} has no equivalent operation (use raw_sql)`);
    }
  });
}

function createIndex(s: N): Record<string, unknown> {
  if (!s.idxname) no("unnamed index: PostgreSQL would choose its name; name it");
  if (s.if_not_exists) no("IF NOT EXISTS: an operation always creates the index");
  if (s.tableSpace || s.nulls_not_distinct || s.primary || s.isconstraint)
    no("TABLESPACE / NULLS NOT DISTINCT have no equivalent");
  const columns = (s.indexParams as N[]).map(({ IndexElem: e }) => {
    if (e.name === undefined) no("expression index keys have no equivalent (columns only)");
    if (e.opclassopts?.length) no("operator class options have no equivalent");
    const opts: Record<string, unknown> = {};
    if (e.opclass) opts.opclass = names(e.opclass).join(".");
    if (e.collation) {
      const coll = names(e.collation);
      if (coll.length !== 1) no("schema-qualified collation");
      opts.collate = coll[0];
    }
    if (e.ordering === "SORTBY_ASC") opts.sort = "asc";
    else if (e.ordering === "SORTBY_DESC") opts.sort = "desc";
    else if (e.ordering !== "SORTBY_DEFAULT") no("USING <operator> ordering has no equivalent");
    if (e.nulls_ordering === "SORTBY_NULLS_FIRST") opts.nulls = "first";
    else if (e.nulls_ordering === "SORTBY_NULLS_LAST") opts.nulls = "last";
    return Object.keys(opts).length ? { name: e.name, ...opts } : e.name;
  });
  const body: Record<string, unknown> = { name: s.idxname, table: relation(s.relation), columns };
  if (s.unique) body.unique = true;
  if (s.accessMethod && s.accessMethod !== "btree") body.method = s.accessMethod;
  const include = (s.indexIncludingParams ?? []).map(
    ({ IndexElem: e }: N) => e.name ?? no("expression in INCLUDE"),
  );
  if (include.length) body.include = include;
  if (s.options?.length) {
    const params: Record<string, unknown> = {};
    for (const { DefElem: o } of s.options as N[]) {
      const a = o.arg;
      params[o.defname] =
        a?.Integer?.ival ??
        (a?.Integer ? 0 : undefined) ??
        (a?.Float ? Number(a.Float.fval) : undefined) ??
        a?.Boolean?.boolval ??
        a?.String?.sval ??
        (a?.TypeName ? names(a.TypeName.names).join(".") : undefined) ??
        no(`storage parameter ${o.defname}: unexpected value`);
    }
    body.storage_parameters = params;
  }
  if (s.whereClause) body.where = expr(s.whereClause);
  return { create_index: body };
}

function dropStmt(s: N): Array<Record<string, unknown>> {
  if (s.behavior === "DROP_CASCADE") no("CASCADE: operations never drop dependents they do not name");
  if (s.missing_ok) no("IF EXISTS: an operation requires the object");
  const objects = (s.objects as N[]).map((o) => names(o.List?.items));
  for (const o of objects) if (o.length !== 1) no("schema-qualified name: leave the schema out");
  if (s.removeType === "OBJECT_TABLE") return objects.map(([table]) => ({ drop_table: { table } }));
  if (s.removeType === "OBJECT_INDEX") return objects.map(([name]) => ({ drop_index: { name } }));
  return no(`DROP ${String(s.removeType).slice(7)} has no equivalent operation (use raw_sql)`);
}

function renameStmt(s: N): Record<string, unknown> {
  if (s.missing_ok) no("IF EXISTS: an operation requires the object");
  switch (s.renameType) {
    case "OBJECT_TABLE":
      return { rename_table: { from: relation(s.relation), to: s.newname } };
    case "OBJECT_COLUMN":
      if (s.relationType !== "OBJECT_TABLE") no("renaming a column of something other than a table");
      return { rename_column: { table: relation(s.relation), from: s.subname, to: s.newname } };
    case "OBJECT_TABCONSTRAINT":
      return { rename_constraint: { table: relation(s.relation), from: s.subname, to: s.newname } };
    default:
      return no(`RENAME of ${String(s.renameType).slice(7)} has no equivalent operation (use raw_sql)`);
  }
}

function commentStmt(s: N): Record<string, unknown> {
  const comment = s.comment ?? null;
  const path = names(s.object?.List?.items ?? [s.object]);
  if (s.objtype === "OBJECT_TABLE" && path.length === 1) return { set_comment: { table: path[0], comment } };
  if (s.objtype === "OBJECT_COLUMN" && path.length === 2) {
    return { set_comment: { table: path[0], column: path[1], comment } };
  }
  return no("COMMENT ON this object has no equivalent (tables and columns of the schema only)");
}

function convertStatement(stmt: N): Array<Record<string, unknown>> {
  const [type, s] = Object.entries(stmt)[0] as [string, N];
  switch (type) {
    case "CreateStmt":
      return createTable(s);
    case "AlterTableStmt":
      return alterTable(s);
    case "IndexStmt":
      return [createIndex(s)];
    case "DropStmt":
      return dropStmt(s);
    case "RenameStmt":
      return [renameStmt(s)];
    case "CommentStmt":
      return [commentStmt(s)];
    default:
      return no(`${type.replace(/Stmt$/, "")} has no equivalent operation (use raw_sql)`);
  }
}

interface Piece {
  /** Byte offsets in the UTF-8 text. */
  start: number;
  end: number;
}

/** Statements by the lexer's `;` (strings, dollar quotes and comments handled by PostgreSQL's scanner). */
function split(text: string): Piece[] {
  const out: Piece[] = [];
  let start = 0;
  for (const t of scanSync(text).tokens) {
    if (t.text === ";" && t.tokenName === "ASCII_59") {
      out.push({ start, end: t.start });
      start = t.end;
    }
  }
  out.push({ start, end: Buffer.byteLength(text) });
  return out;
}

/** Skips whitespace and comments at the start of a piece: where the statement really begins. */
function trimPiece(bytes: Buffer, p: Piece): Piece {
  let i = p.start;
  for (;;) {
    while (i < p.end && /\s/.test(String.fromCharCode(bytes[i]!))) i++;
    if (bytes[i] === 0x2d && bytes[i + 1] === 0x2d) {
      while (i < p.end && bytes[i] !== 0x0a) i++;
    } else if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
      const close = bytes.indexOf("*/", i + 2);
      i = close < 0 || close >= p.end ? p.end : close + 2;
    } else break;
  }
  let end = p.end;
  while (end > i && /\s/.test(String.fromCharCode(bytes[end - 1]!))) end--;
  return { start: i, end };
}

/** Converts one SQL file's text. */
export async function convertSql(text: string): Promise<ConvertResult> {
  await loadModule();
  const bytes = Buffer.from(text, "utf8");
  const lineOf = (offset: number) => bytes.subarray(0, offset).toString("utf8").split("\n").length;
  const result: ConvertResult = { operations: [], unconverted: [], ignored: [] };
  let pieces: Piece[];
  try {
    pieces = split(text);
  } catch (err) {
    const at = (err as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition ?? 0;
    result.unconverted.push({
      line: lineOf(at),
      statement: text.trim(),
      reason: `cannot read the file: ${(err as Error).message}`,
    });
    return result;
  }
  for (const raw of pieces) {
    const p = trimPiece(bytes, raw);
    if (p.start >= p.end) continue;
    const statement = bytes.subarray(p.start, p.end).toString("utf8");
    const line = lineOf(p.start);
    let parsed: N;
    try {
      parsed = parseSync(statement);
    } catch (err) {
      result.unconverted.push({ line, statement, reason: `not valid PostgreSQL: ${(err as Error).message}` });
      continue;
    }
    const stmts = (parsed.stmts ?? []) as N[];
    if (!stmts.length) continue;
    const stmt = stmts[0].stmt;
    if (
      stmt.TransactionStmt &&
      ["TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT"].includes(stmt.TransactionStmt.kind)
    ) {
      result.ignored.push({ line, statement });
      continue;
    }
    try {
      const ops = convertStatement(stmt);
      // Each operation must be one the engine accepts as written; otherwise the statement is listed, not emitted.
      const check = validateMigrationObject({ name: "convert", operations: ops });
      if (!check.ok) {
        no(`no valid operation: ${check.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
      }
      result.operations.push(...ops);
    } catch (err) {
      if (!(err instanceof NoEquivalent)) throw err;
      result.unconverted.push({ line, statement, reason: err.message });
    }
  }
  return result;
}
