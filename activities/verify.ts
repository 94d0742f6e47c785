import { ApplicationFailure } from "@temporalio/activity";
import { checkCommandEnvironment } from "../lib/config/check-env";
import type { LoadTest, VerifyCheck } from "../lib/config/schema";
import { ActivityKey, FAILURE_TYPES } from "../lib/deployment/types";
import type { VerifyCheckResult } from "../lib/drivers/verifier";
import { type DeploymentDeps, targetOf } from "./deployment-deps";
import { withHeartbeat } from "./heartbeat";

/**
 * Verifies green directly, before users see it: every check, then the
 * optional load test. A failed check is a verdict about the version, not a
 * transient error: non-retryable VerificationFailed with every result.
 * Read-only against green, so idempotent.
 */
export function createVerifyActivities(deps: DeploymentDeps) {
  return {
    async verifyGreen(input: {
      key: ActivityKey;
      green: string[];
      checks: VerifyCheck[];
      loadTest?: LoadTest;
      /** The release's run.env as written (`${env:…}` unresolved): smoke commands get it, as instances do. */
      runEnv?: Record<string, string | number | boolean>;
    }): Promise<VerifyCheckResult[]> {
      const key = ActivityKey.parse(input.key);
      const target = targetOf(deps, key);
      const { verifier } = target;
      // Where green answers: its instances locally, the load balancer's version rule on AWS.
      const address = await target.greenAddress(key, input.green);
      // Smoke commands are the repository's code: the environment an instance
      // gets, never the worker's (cloud credentials, Temporal and payload keys).
      const commandEnv = checkCommandEnvironment({ run: { env: input.runEnv ?? {} } }, deps.env);
      const results = await withHeartbeat(async (progress) => {
        const out: VerifyCheckResult[] = [];
        for (const check of input.checks)
          out.push(await verifier.runCheck(check, address, progress, commandEnv));
        if (input.loadTest && verifier.loadTest) {
          out.push(await verifier.loadTest(input.loadTest, address, progress));
        }
        return out;
      });
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) {
        throw ApplicationFailure.create({
          message: `green failed verification: ${failed.map((f) => `${f.name}: ${f.detail}`).join("; ")}`,
          type: FAILURE_TYPES.verificationFailed,
          nonRetryable: true,
          details: [results],
        });
      }
      return results;
    },
  };
}
