import fs from "node:fs";
import path from "node:path";
import { freePort, waitForPort } from "../../lib/runtime/free-port";
import { run } from "../toolchain/run";

export interface PostgresClusterOptions {
  bindir: string;
  dataDir: string;
  port?: number;
  /** Trade durability for speed (tests, demo): fsync and synchronous_commit off. */
  fast?: boolean;
}

export interface PostgresCluster {
  port: number;
  dataDir: string;
  /** Superuser URL to the `postgres` database. */
  url: string;
  logFile: string;
  urlFor(database: string): string;
  createDatabase(name: string): void;
  stop(): void;
  /** Starts the stopped cluster again on the same port and data folder. */
  start(): Promise<void>;
  /** Stops and starts the same cluster on the same port (chaos: "stop PostgreSQL briefly"). */
  restart(): Promise<void>;
}

/**
 * PostgreSQL refuses to run as root. On machines where we are root (CI, these
 * sandboxes) every server command runs as the `postgres` system user that the
 * Debian package creates; elsewhere as the current user.
 */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  return root ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

function pgRun(bindir: string, tool: string, args: string[]): string {
  const [cmd, fullArgs] = asServerUser(path.join(bindir, tool), args);
  const r = run(cmd, fullArgs, { cwd: "/" });
  if (r.status !== 0) {
    throw new Error(`${tool} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

function prepareDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (typeof process.getuid === "function" && process.getuid() === 0) {
    // The server user must be able to reach the folder: make each ancestor
    // traversable (x only, not readable) and hand the folder itself over.
    let dir = path.dirname(dataDir);
    while (dir !== path.dirname(dir)) {
      const mode = fs.statSync(dir).mode;
      if ((mode & 0o001) === 0) fs.chmodSync(dir, mode | 0o001);
      dir = path.dirname(dir);
    }
    run("chown", ["-R", "postgres:postgres", dataDir]);
  }
  fs.chmodSync(dataDir, 0o700);
}

/**
 * Initialises (first time) and starts a private cluster on a free loopback
 * port, listening on TCP only. Not the system service: nothing outside the
 * project's data folder is touched.
 */
export async function startPostgresCluster(options: PostgresClusterOptions): Promise<PostgresCluster> {
  const { bindir, dataDir } = options;
  prepareDataDir(dataDir);
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    pgRun(bindir, "initdb", [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-instructions",
    ]);
  }
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (fs.existsSync(pidFile)) {
    // A cluster left running (or a stale pid file after a crash): stop it so we
    // own the port we are about to choose. pg_ctl copes with stale pid files.
    try {
      pgRun(bindir, "pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
    } catch {
      // not running
    }
  }
  const port = options.port ?? (await freePort());
  const logFile = path.join(dataDir, "server.log");
  const serverOptions = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    "-c unix_socket_directories=''",
    "-c max_connections=200",
    ...(options.fast ? ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"] : []),
  ].join(" ");

  const start = async () => {
    pgRun(bindir, "pg_ctl", ["-D", dataDir, "-l", logFile, "-o", serverOptions, "-w", "-t", "60", "start"]);
    await waitForPort(port, 30_000);
  };
  await start();

  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const stop = () => {
    try {
      pgRun(bindir, "pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
    } catch (err) {
      if (fs.existsSync(pidFile)) throw err;
    }
  };
  return {
    port,
    dataDir,
    logFile,
    url: urlFor("postgres"),
    urlFor,
    createDatabase(name: string) {
      const r = run(path.join(bindir, "psql"), [
        urlFor("postgres"),
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        `CREATE DATABASE "${name.replace(/"/g, "")}"`,
      ]);
      if (r.status !== 0 && !/already exists/.test(r.stderr))
        throw new Error(`createdb ${name}: ${r.stderr}`);
    },
    stop,
    start,
    async restart() {
      stop();
      await start();
    },
  };
}
