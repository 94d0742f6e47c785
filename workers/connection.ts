import { loadClientConnectConfig } from "@temporalio/envconfig";
import { DEFAULT_NAMESPACE } from "../lib/names";

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** Full options (TLS, API key, gRPC metadata) for NativeConnection / Connection. */
  connectionOptions: ReturnType<typeof loadClientConnectConfig>["connectionOptions"];
}

export const DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233";

/**
 * Where Temporal is, the standard way: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_TLS_CLIENT_CERT_PATH / KEY_PATH, TEMPORAL_API_KEY, or a profile in
 * the Temporal config file (TEMPORAL_PROFILE). Defaults to the local dev server.
 */
export function temporalTarget(overrides: { address?: string; namespace?: string } = {}): TemporalTarget {
  const config = loadClientConnectConfig();
  const address = overrides.address ?? config.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  return {
    address,
    namespace: overrides.namespace ?? config.namespace ?? DEFAULT_NAMESPACE,
    connectionOptions: { ...config.connectionOptions, address },
  };
}
