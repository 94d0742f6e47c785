import fs from "node:fs";
import path from "node:path";
import { aptInstall } from "./apt";
import { run, ToolchainError, which } from "./run";
import type { ResolvedTool } from "./temporal";

function versionOf(bindir: string): string | undefined {
  const r = run(path.join(bindir, "postgres"), ["--version"]);
  return r.status === 0 ? /(\d+(\.\d+)?)/.exec(r.stdout)?.[1] : undefined;
}

/** Server binaries (initdb, pg_ctl, postgres) — not just the client that libpq-dev brings. */
function findServerBindir(): string | undefined {
  const explicit = process.env.SHIPSHAPE_PG_BINDIR;
  if (explicit) return explicit;
  const root = "/usr/lib/postgresql";
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], "bin");
  }
  const initdb = which("initdb");
  if (initdb) return path.dirname(fs.realpathSync(initdb));
  return undefined;
}

/** Resolution: SHIPSHAPE_PG_BINDIR → Debian's /usr/lib/postgresql/N/bin → initdb on PATH → apt-get install postgresql. */
export async function resolvePostgres(
  log: (line: string) => void,
): Promise<ResolvedTool & { bindir: string }> {
  let bindir = findServerBindir();
  let source = bindir ? "installed" : "";
  if (!bindir) {
    await aptInstall("postgresql", ["postgresql", "postgresql-contrib"], log);
    bindir = findServerBindir();
    source = "Debian packages (installed now)";
  }
  const version = bindir ? versionOf(bindir) : undefined;
  if (!bindir || !version) {
    throw new ToolchainError(
      "postgresql",
      "no PostgreSQL server binaries found",
      "apt-get install postgresql, or set SHIPSHAPE_PG_BINDIR to the folder holding initdb and pg_ctl",
    );
  }
  return { path: path.join(bindir, "postgres"), bindir, version, source };
}
