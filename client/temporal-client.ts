import { Client, Connection } from "@temporalio/client";
import { createDataConverter } from "../lib/codec/data-converter";
import { temporalTarget } from "../workers/connection";
import { TemporalUnreachableError } from "./errors";
import { diagnoseTls } from "./tls-diagnosis";

export interface TemporalHandle {
  client: Client;
  connection: Connection;
  address: string;
  namespace: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  address?: string;
  namespace?: string;
}

/**
 * Connects the way every Temporal tool does (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TLS, API key, profiles), defaulting to the local dev server, and turns "no
 * server there" into a sentence that says how to start one.
 */
export async function connectTemporal(options: ConnectOptions = {}): Promise<TemporalHandle> {
  const target = temporalTarget(options);
  // Before connecting: a missing payload key is a configuration error, not an outage.
  const dataConverter = createDataConverter();
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...(target.connectionOptions as Parameters<typeof Connection.connect>[0]),
      address: target.address,
      connectTimeout: 3000,
    });
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    const tlsOptions = target.connectionOptions.tls;
    const tlsProblem = tlsOptions
      ? await diagnoseTls(target.address, typeof tlsOptions === "object" ? tlsOptions : {})
      : undefined;
    throw new TemporalUnreachableError(unreachableMessage(target.address, err, tlsProblem));
  }
  const client = new Client({ connection, namespace: target.namespace, dataConverter });
  return {
    client,
    connection,
    address: target.address,
    namespace: target.namespace,
    close: () => connection.close(),
  };
}

/** gRPC codes for refused credentials: PERMISSION_DENIED, UNAUTHENTICATED. */
const REFUSED_CODES = new Set([7, 16]);

/** The error and its causes (the SDK wraps the gRPC error that says what happened). */
function errorChain(err: unknown): Array<{ message: string; code?: unknown }> {
  const out: Array<{ message: string; code?: unknown }> = [];
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    out.push({ message: e instanceof Error ? e.message : String(e), code: (e as { code?: unknown }).code });
  }
  return out;
}

function unreachableMessage(address: string, err: unknown, tlsProblem?: string): string {
  const chain = errorChain(err);
  const detail = chain.map((e) => e.message.split("\n")[0]).join(": ");
  if (tlsProblem) return `cannot reach Temporal at ${address} over TLS: ${tlsProblem}.\n  (${detail})`;
  if (chain.some((e) => REFUSED_CODES.has(e.code as number) || /unauthenticated|401|403/i.test(e.message))) {
    return `Temporal at ${address} refused the credentials — check TEMPORAL_API_KEY (or the client certificate).\n  (${detail})`;
  }
  return `cannot reach Temporal at ${address} — start it with \`npm run dev\`, or point TEMPORAL_ADDRESS at your cluster.\n  (${detail})`;
}

/** Web UI link for a workflow (TEMPORAL_UI_URL, default the dev server's :8233). */
export function webUiLink(namespace: string, workflowId: string): string {
  const base = process.env.TEMPORAL_UI_URL ?? "http://127.0.0.1:8233";
  return `${base.replace(/\/$/, "")}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
