/**
 * The worker's trust root for signed decisions: `shipshape worker --policy <dir>`
 * (or SHIPSHAPE_POLICY_DIR) names the folder of pinned signers files and approvals
 * policies (lib/signing/policy-dir.ts). Without one, the worker runs unsigned
 * deployments only: a start that brings its own signers file is refused.
 */
import { openPolicyDirectory, type SigningPolicyStore } from "../lib/signing/policy-dir";

/** The opened policy and the line the worker prints about it; throws PolicyError on a bad folder. */
export function openWorkerPolicy(dir: string | null): { policy: SigningPolicyStore | null; line: string } {
  if (!dir) {
    return {
      policy: null,
      line: "no --policy: only unsigned deployments run here (a start with signers is refused)",
    };
  }
  const policy = openPolicyDirectory(dir);
  return { policy, line: `signing policy ${policy.describe()}` };
}
