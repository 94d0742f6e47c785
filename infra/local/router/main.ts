// CLI entry of the local router (the control process; HAProxy is its child):
//   SHIPSHAPE_ROUTER_TOKEN=... tsx infra/local/router/main.ts --port 8080 --admin-port 8081 \
//     --state-file .shipshape/router/routes.json [--health-path /health] [--health-interval-ms 1000]
// Prints one JSON line {"event":"listening",...} on stderr once both
// listeners are up (ports 0 = pick free ones; the line tells which).
// SIGTERM/SIGINT: HAProxy stops accepting and lets in-flight requests finish
// (bounded), then exit 0. Exit 2 on usage errors, 1 if the router cannot start.

import { parseArgs } from "node:util";
import { startRouter } from "./server";

const USAGE =
  "usage: SHIPSHAPE_ROUTER_TOKEN=<token> tsx infra/local/router/main.ts --port <n> --admin-port <n> --state-file <path>\n" +
  "       [--health-path /health] [--health-interval-ms 1000] [--health-timeout-ms 500] [--rise 2] [--fall 2]\n" +
  "       [--no-health-check] [--proxy-timeout-ms 30000] [--drain-timeout-ms 10000] [--threads 1]";

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function int(name: string, raw: string | undefined, dflt?: number): number | undefined {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: "string" },
        "admin-port": { type: "string" },
        "state-file": { type: "string" },
        "health-path": { type: "string" },
        "health-interval-ms": { type: "string" },
        "health-timeout-ms": { type: "string" },
        rise: { type: "string" },
        fall: { type: "string" },
        "no-health-check": { type: "boolean" },
        "proxy-timeout-ms": { type: "string" },
        "drain-timeout-ms": { type: "string" },
        threads: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const str = (k: string) => values[k] as string | undefined;
  const port = int("port", str("port"));
  const adminPort = int("admin-port", str("admin-port"));
  const stateFile = str("state-file");
  if (port === undefined || adminPort === undefined || !stateFile) {
    fail("--port, --admin-port and --state-file are required");
  }
  const token = process.env.SHIPSHAPE_ROUTER_TOKEN;
  if (!token) fail("SHIPSHAPE_ROUTER_TOKEN is not set (the admin API refuses to run unprotected)");

  const healthPath = str("health-path");
  const router = await startRouter({
    port,
    adminPort,
    stateFile,
    token,
    healthCheck: values["no-health-check"]
      ? false
      : {
          ...(healthPath ? { path: healthPath } : {}),
          intervalMs: int("health-interval-ms", str("health-interval-ms"), 1000),
          timeoutMs: int("health-timeout-ms", str("health-timeout-ms"), 500),
          rise: int("rise", str("rise"), 2),
          fall: int("fall", str("fall"), 2),
        },
    proxyTimeoutMs: int("proxy-timeout-ms", str("proxy-timeout-ms"), 30_000),
    drainTimeoutMs: int("drain-timeout-ms", str("drain-timeout-ms"), 10_000),
    threads: int("threads", str("threads"), 1),
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), event: "stopping", signal })}\n`);
    router.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`router close failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(`router failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
