import { Client, Connection } from "@temporalio/client";
import { createDataConverter } from "../lib/codec/data-converter";
import { temporalTarget } from "../workers/connection";

/** No Temporal server answered; the message says how to start one or where to point. */
export class TemporalUnreachableError extends Error {
  override name = "TemporalUnreachableError";
}

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
    throw new TemporalUnreachableError(unreachableMessage(target.address, err));
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

function unreachableMessage(address: string, err: unknown): string {
  const detail = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
  if (/certificate|ssl|tls|handshake|self.signed/i.test(detail)) {
    return `cannot reach Temporal at ${address} over TLS: the server's certificate is not trusted — set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it (and TEMPORAL_TLS_SERVER_NAME if the name differs).\n  (${detail})`;
  }
  return `cannot reach Temporal at ${address} — start it with \`npm run dev\`, or point TEMPORAL_ADDRESS at your cluster.\n  (${detail})`;
}

/** Web UI link for a workflow (TEMPORAL_UI_URL, default the dev server's :8233). */
export function webUiLink(namespace: string, workflowId: string): string {
  const base = process.env.TEMPORAL_UI_URL ?? "http://127.0.0.1:8233";
  return `${base.replace(/\/$/, "")}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
