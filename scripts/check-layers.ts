/**
 * `npm run lint` (after biome): checks which folder may import which, on the
 * resolved target of every import, so a relative path means the same thing
 * at every depth (biome's noRestrictedImports only sees the specifier text).
 *
 *   tsx scripts/check-layers.ts [--root <dir>]
 *
 * Prints `file:line:column rule: message` per broken rule and exits 1 when
 * there is any. The rules:
 *
 *   workflow-imports  workflows/ is deterministic code bundled for the
 *                     workflow sandbox: it imports @temporalio/workflow,
 *                     @temporalio/common, other workflows/ files and the pure
 *                     lib/ modules in PURE_LIB — never Node builtins,
 *                     lib/runtime or anything with I/O. Type-only imports of
 *                     activities/ are allowed (they are erased; the workflow
 *                     needs the activities' signatures for proxyActivities).
 *   pure-lib          the PURE_LIB modules themselves import only each other
 *                     and PURE_PACKAGES, so what workflows/ pulls in stays pure.
 *   no-scripts        product code (infra, activities, workers, lib, client,
 *                     cli, dev) never imports scripts/: scripts are entry
 *                     points, not libraries.
 *   dev-tooling       dev/ (toolchain setup, the embedded stack) is imported
 *                     only by dev/ itself, the `dev` and `demo` CLI commands,
 *                     scripts/, test/ and bench/.
 *   lib-no-sdk        lib/ holds no Temporal worker or client code: no
 *                     @temporalio/worker, no @temporalio/client.
 */
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import ts from "typescript";

/** lib/ modules workflow code may import: no Node APIs, no I/O (folders end with "/"). */
export const PURE_LIB = [
  "lib/analysis/",
  "lib/config/canonical-json.ts",
  "lib/config/drift-schema.ts",
  "lib/config/durations.ts",
  "lib/config/env-refs.ts",
  "lib/config/format.ts",
  "lib/config/hooks-schema.ts",
  "lib/config/json-schema.ts",
  "lib/config/limits.ts",
  "lib/config/percent.ts",
  "lib/config/problems.ts",
  "lib/config/promotion-paths.ts",
  "lib/config/schema.ts",
  "lib/config/semantic.ts",
  "lib/config/suggest.ts",
  "lib/deployment/",
  "lib/drift/",
  "lib/drivers/",
  "lib/names.ts",
  "lib/notifications/context.ts",
  "lib/notifications/events.ts",
  "lib/notifications/payload.ts",
  "lib/notifications/commands.ts",
  "lib/notifications/delivery.ts",
  "lib/notifications/drift.ts",
  "lib/config/notifications-schema.ts",
  "lib/random/",
  "lib/search-attributes.ts",
  "lib/signing/allowed-signers.ts",
  "lib/signing/sshsig.ts",
  "lib/signing/statements.ts",
  "lib/signing/verify.ts",
  "lib/signing/wire.ts",
] as const;

/** Packages pure modules may use: they run unchanged inside the workflow sandbox. */
export const PURE_PACKAGES = [
  "zod",
  "fastest-levenshtein",
  "@temporalio/common",
  "@temporalio/workflow",
  // Pure-JS ed25519 and sha2: signatures are verified inside the workflow sandbox.
  "@noble/curves",
  "@noble/hashes",
];

const WORKFLOW_PACKAGES = ["@temporalio/workflow", "@temporalio/common"];
const PRODUCT_FOLDERS = ["infra", "activities", "workers", "lib", "client", "cli", "dev"];
const DEV_IMPORTERS = [/^dev\//, /^cli\/commands\/(dev|demo)[^/]*$/, /^scripts\//, /^test\//, /^bench\//];
const SCANNED_FOLDERS = [
  "workflows",
  "activities",
  "workers",
  "infra",
  "lib",
  "cli",
  "client",
  "dev",
  "scripts",
  "test",
  "bench",
  "bin",
];
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;

export interface Violation {
  file: string;
  line: number;
  column: number;
  rule: "workflow-imports" | "pure-lib" | "no-scripts" | "dev-tooling" | "lib-no-sdk";
  message: string;
}

interface ImportRef {
  specifier: string;
  typeOnly: boolean;
  line: number;
  column: number;
}

/** Every module a file refers to: import/export-from, import(), require(), import x = require(). */
export function importsOf(file: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: ImportRef[] = [];
  const add = (node: ts.Node, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(node)) return;
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart(source));
    out.push({ specifier: node.text, typeOnly, line: line + 1, column: character + 1 });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const allNamedTypes =
        clause !== undefined &&
        clause.name === undefined &&
        named !== undefined &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      add(node.moduleSpecifier, Boolean(clause?.isTypeOnly) || allNamedTypes);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node)) {
      const [arg] = node.arguments;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === "require";
      if (arg && (isRequire || node.expression.kind === ts.SyntaxKind.ImportKeyword)) add(arg, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

type Target =
  | { kind: "file"; path: string } // repo-relative, extension-less unless written
  | { kind: "builtin"; name: string }
  | { kind: "package"; name: string };

const BUILTINS = new Set(builtinModules);

function targetOf(file: string, specifier: string): Target {
  if (specifier.startsWith(".")) {
    return { kind: "file", path: path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) };
  }
  if (specifier.startsWith("node:") || BUILTINS.has(specifier.split("/")[0] ?? "")) {
    return { kind: "builtin", name: specifier };
  }
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
  return { kind: "package", name };
}

const inFolder = (p: string, folder: string) => p === folder || p.startsWith(`${folder}/`);

/** Whether a repo-relative path (with or without extension, or a folder's index) is a PURE_LIB module. */
export function isPureLib(p: string): boolean {
  const bare = p.replace(SOURCE_FILE, "").replace(/\/index$/, "");
  return PURE_LIB.some((entry) =>
    entry.endsWith("/")
      ? `${bare}/`.startsWith(entry)
      : bare === entry.replace(SOURCE_FILE, "") || `${bare}/index` === entry.replace(SOURCE_FILE, ""),
  );
}

/** The rules broken by one file (repo-relative path with forward slashes). */
export function checkSource(file: string, text: string): Violation[] {
  const out: Violation[] = [];
  const top = file.split("/")[0] ?? "";
  for (const ref of importsOf(file, text)) {
    const target = targetOf(file, ref.specifier);
    const at = { file, line: ref.line, column: ref.column };
    const what = `"${ref.specifier}"`;

    if (top === "workflows") {
      const ok =
        (target.kind === "package" && WORKFLOW_PACKAGES.includes(target.name)) ||
        (target.kind === "file" &&
          (inFolder(target.path, "workflows") ||
            isPureLib(target.path) ||
            (ref.typeOnly && inFolder(target.path, "activities"))));
      if (!ok) {
        out.push({
          ...at,
          rule: "workflow-imports",
          message: `workflow code imports ${what}: only @temporalio/workflow, @temporalio/common, workflows/ and pure lib/ modules (${PURE_LIB.join(", ")}) are allowed`,
        });
      }
    } else if (isPureLib(file)) {
      const ok =
        (target.kind === "package" && PURE_PACKAGES.includes(target.name)) ||
        (target.kind === "file" && isPureLib(target.path));
      if (!ok && !ref.typeOnly) {
        out.push({
          ...at,
          rule: "pure-lib",
          message: `${file} is a pure lib/ module (workflow code may import it) but imports ${what}: pure modules import only each other and ${PURE_PACKAGES.join(", ")}`,
        });
      }
    }

    if (target.kind === "file" && inFolder(target.path, "scripts") && PRODUCT_FOLDERS.includes(top)) {
      out.push({
        ...at,
        rule: "no-scripts",
        message: `${top}/ imports ${what} from scripts/: scripts are runnable entry points; move what is shared into lib/, client/ or dev/`,
      });
    }
    if (
      target.kind === "file" &&
      inFolder(target.path, "dev") &&
      !DEV_IMPORTERS.some((re) => re.test(file))
    ) {
      out.push({
        ...at,
        rule: "dev-tooling",
        message: `${file} imports ${what} from dev/: development tooling is for the dev and demo commands, scripts/, test/ and bench/ only`,
      });
    }
    if (
      top === "lib" &&
      target.kind === "package" &&
      (target.name === "@temporalio/worker" || target.name === "@temporalio/client")
    ) {
      out.push({
        ...at,
        rule: "lib-no-sdk",
        message: `lib/ imports ${what}: Temporal worker/client code belongs in workers/ or client/`,
      });
    }
  }
  return out;
}

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && SOURCE_FILE.test(entry.name)) out.push(child);
    }
  };
  for (const folder of SCANNED_FOLDERS) walk(folder);
  return out.sort();
}

/** Checks every source file under the layered folders of `root`. */
export function checkTree(root: string): { files: number; violations: Violation[] } {
  const files = sourceFiles(root);
  const violations = files.flatMap((f) => checkSource(f, fs.readFileSync(path.join(root, f), "utf8")));
  return { files: files.length, violations };
}

export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}:${v.column} ${v.rule}: ${v.message}`;
}

function main(argv: string[]): number {
  const i = argv.indexOf("--root");
  const root = path.resolve(i >= 0 && argv[i + 1] ? argv[i + 1]! : path.join(__dirname, ".."));
  const { files, violations } = checkTree(root);
  for (const v of violations) console.error(formatViolation(v));
  if (violations.length > 0) {
    console.error(`check-layers: ${violations.length} import(s) break the layering (${files} files checked)`);
    return 1;
  }
  console.log(`check-layers: ${files} files, layering holds`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
