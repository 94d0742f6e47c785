// Signing a start for `deploy` / `rollback`: environments with signers get the
// requester's signature (client/signed-start.ts); a signing problem is a usage
// error that says how to fix it, and nothing is started.

import { signStart } from "../../client/signed-start";
import { SigningError } from "../../client/signing/errors";
import type { DeploymentInput } from "../../lib/deployment/types";
import { CliError } from "../errors";

export async function signStartForCli(
  input: DeploymentInput & { configPath: string },
  options: { as?: string; key?: string },
): Promise<DeploymentInput> {
  try {
    return await signStart(input, {
      configPath: input.configPath,
      ...(options.key ? { keyFile: options.key } : {}),
      ...(options.as ? { actor: options.as } : {}),
    });
  } catch (e) {
    if (e instanceof SigningError) {
      throw new CliError(`cannot sign the start (nothing was started): ${e.message}`);
    }
    throw e;
  }
}
