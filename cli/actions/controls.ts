// What the steering commands do (declared in cli/commands/controls.ts): send
// the command's Update to the deployment and print the answer.

import { WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import type { UpdateDefinition } from "@temporalio/common";
import { connectTemporal } from "../../client/temporal-client";
import {
  abortUpdate,
  approveUpdate,
  type ControlAnswer,
  pauseUpdate,
  promoteUpdate,
  rejectUpdate,
  resumeUpdate,
  retryCompensationUpdate,
  skipCompensationUpdate,
} from "../../workflows/deployment/messages";
import type { ControlCommand, ControlOptions, ControlSpec } from "../commands/controls";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";
import { resolveDeployment } from "../deployment-ref";
import { CliError } from "../errors";
import { defaultActor } from "./actor";

// biome-ignore lint/suspicious/noExplicitAny: each update takes its own argument shape
const UPDATES: Record<ControlCommand, UpdateDefinition<ControlAnswer, [any]>> = {
  approve: approveUpdate,
  reject: rejectUpdate,
  abort: abortUpdate,
  pause: pauseUpdate,
  resume: resumeUpdate,
  promote: promoteUpdate,
  "retry-compensation": retryCompensationUpdate,
  "skip-compensation": skipCompensationUpdate,
};

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
  const by = options.as ?? defaultActor();
  const temporal = await connectTemporal();
  try {
    const handle = await resolveDeployment(temporal.client, ref);
    let gate = options.gate;
    if (spec.gate && !gate) {
      const status = await handle.query<{ pendingApprovals: Array<{ gate: string }> }>("status");
      gate = status.pendingApprovals[0]?.gate ?? "(none)";
    }
    const args = {
      by,
      reason: options.reason ?? "",
      ...(spec.gate ? { gate } : {}),
      ...(spec.compensation && options.name ? { name: options.name } : {}),
    };
    let answer: ControlAnswer;
    try {
      answer = await handle.executeUpdate(UPDATES[spec.command], { args: [args] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // The latest run has closed: nothing is left to steer.
        const result = (await handle.result().catch(() => null)) as { outcome?: string } | null;
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
