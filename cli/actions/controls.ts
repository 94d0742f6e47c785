// What the steering commands do (declared in cli/commands/controls.ts): send
// the command's Update to the deployment and print the answer.

import { type WorkflowHandle, WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import { DECISION_UPDATES, type DecisionArgs, decisionArgs } from "../../client/decisions";
import { deploymentResult } from "../../client/deployment-result";
import { SigningError } from "../../client/signing/errors";
import { connectTemporal } from "../../client/temporal-client";
import { decisionLengthProblem } from "../../lib/deployment/types";
import { type ControlAnswer, statusQuery } from "../../workflows/deployment/messages";
import type { ControlOptions, ControlSpec } from "../commands/controls";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";
import { resolveDeployment } from "../deployment-ref";
import { CliError } from "../errors";
import { defaultActor } from "./actor";

/** The update's arguments, signed when the deployment requires it; signing problems are usage errors. */
async function controlArgs(
  handle: WorkflowHandle,
  spec: ControlSpec,
  options: ControlOptions,
): Promise<DecisionArgs> {
  // Without a worker to answer the query, an unsigned request still goes through (it waits for one).
  const status = await handle.query(statusQuery).catch(() => null);
  const wanted = {
    reason: options.reason ?? "",
    ...(options.gate ? { gate: options.gate } : {}),
    ...(options.name ? { name: options.name } : {}),
  };
  if (!status) {
    return {
      by: options.as ?? defaultActor(),
      ...wanted,
      ...(spec.gate ? { gate: options.gate ?? "(none)" } : {}),
    };
  }
  const signed = status.signing?.mode === "signed";
  try {
    return await decisionArgs(status, spec.command, {
      ...wanted,
      ...(options.key ? { keyFile: options.key } : {}),
      by: options.as ?? (signed ? undefined : defaultActor()),
    });
  } catch (e) {
    if (e instanceof SigningError) throw new CliError(`cannot sign the ${spec.command}: ${e.message}`);
    throw e;
  }
}

function refusal(err: unknown): string | null {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as { message?: string } | undefined;
    return cause?.message ?? err.message;
  }
  return null;
}

export async function steer(
  ctx: CliContext,
  spec: ControlSpec,
  ref: string,
  options: ControlOptions,
): Promise<void> {
  if (spec.reasonRequired && !options.reason) {
    throw new CliError(`${spec.command} needs --reason "<why>": it is recorded with the decision`);
  }
  const tooLong = decisionLengthProblem({ by: options.as, reason: options.reason });
  if (tooLong) throw new CliError(`${spec.command}: ${tooLong}`);
  const temporal = await connectTemporal();
  try {
    const handle = await resolveDeployment(temporal.client, ref);
    const args = await controlArgs(handle, spec, options);
    let answer: ControlAnswer;
    try {
      answer = await handle.executeUpdate(DECISION_UPDATES[spec.command], { args: [args] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // The latest run has closed: nothing is left to steer.
        const result = (await deploymentResult(handle).catch(() => null)) as { outcome?: string } | null;
        throw new CliError(
          `the deployment has already ended (${result?.outcome ?? "closed"}) — nothing to ${spec.command}; \`shipshape history\` shows what happened`,
        );
      }
      const why = refusal(err);
      if (why) {
        if (options.json) ctx.stdout(JSON.stringify({ accepted: false, message: why }));
        ctx.stderr(`✗ ${spec.command} refused: ${why}`);
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      throw err;
    }
    ctx.stdout(options.json ? JSON.stringify(answer) : `✓ ${answer.message}`);
    ctx.exitCode = EXIT_OK;
  } finally {
    await temporal.close();
  }
}
