import { Client, Connection } from "@temporalio/client";
import { temporalTarget } from "../workers/connection";
import { TemporalUnreachableError } from "./errors";

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
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...(target.connectionOptions as Parameters<typeof Connection.connect>[0]),
      address: target.address,
      connectTimeout: 3000,
    });
    await connection.workflowService.getSystemInfo({});
  } catch (err) {
    throw new TemporalUnreachableError(
      `cannot reach Temporal at ${target.address} — start it with \`npm run dev\`, or point TEMPORAL_ADDRESS at your cluster.\n  (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`,
    );
  }
  const client = new Client({ connection, namespace: target.namespace });
  return {
    client,
    connection,
    address: target.address,
    namespace: target.namespace,
    close: () => connection.close(),
  };
}

/** Web UI link for a workflow (TEMPORAL_UI_URL, default the dev server's :8233). */
export function webUiLink(namespace: string, workflowId: string): string {
  const base = process.env.TEMPORAL_UI_URL ?? "http://127.0.0.1:8233";
  return `${base.replace(/\/$/, "")}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
