// Steering commands: approve, reject, abort, pause, resume, promote,
// retry-compensation, skip-compensation. Each is a Temporal Update, so the
// person gets an answer — accepted, or refused with why (not an approver,
// self-approval, nothing waiting) — and every accepted one is recorded in the
// workflow's decision log with who and why.

import { WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import type { UpdateDefinition } from "@temporalio/common";
import type { Command } from "commander";
import { connectTemporal } from "../../client/temporal-client";
import { decisionLengthProblem } from "../../lib/deployment/types";
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
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";
import { resolveDeployment } from "../deployment-ref";
import { CliError } from "../errors";
import { defaultActor } from "./actor";

interface ControlOptions {
  as?: string;
  reason?: string;
  gate?: string;
  name?: string;
  json?: boolean;
}

interface ControlSpec {
  command: string;
  description: string;
  // biome-ignore lint/suspicious/noExplicitAny: each update takes its own argument shape
  update: UpdateDefinition<ControlAnswer, [any]>;
  reasonRequired: boolean;
  gate?: boolean;
  compensation?: boolean;
  example: string;
}

const CONTROLS: ControlSpec[] = [
  {
    command: "approve",
    description: "approve the pending approval gate",
    update: approveUpdate,
    reasonRequired: false,
    gate: true,
    example: 'shipshape approve shipshape-shop-production-v2 --as alice --reason "dashboards look fine"',
  },
  {
    command: "reject",
    description: "reject the pending approval gate (the deployment rolls back)",
    update: rejectUpdate,
    reasonRequired: true,
    gate: true,
    example: 'shipshape reject shop/production --as bob --reason "checkout dipped"',
  },
  {
    command: "abort",
    description: "abort the deployment: traffic back to blue first, then everything else rolled back",
    update: abortUpdate,
    reasonRequired: true,
    example: 'shipshape abort shop/production --reason "wrong build"',
  },
  {
    command: "pause",
    description: "pause before the next traffic step (bake clocks stop)",
    update: pauseUpdate,
    reasonRequired: false,
    example: 'shipshape pause shop/production --reason "investigating a page"',
  },
  {
    command: "resume",
    description: "resume a paused deployment",
    update: resumeUpdate,
    reasonRequired: false,
    example: "shipshape resume shop/production",
  },
  {
    command: "promote",
    description: "skip the remaining bake time (never a failed analysis)",
    update: promoteUpdate,
    reasonRequired: false,
    example: 'shipshape promote shop/production --reason "hotfix"',
  },
  {
    command: "retry-compensation",
    description: "retry the failing compensation now",
    update: retryCompensationUpdate,
    reasonRequired: true,
    compensation: true,
    example: 'shipshape retry-compensation shop/production --reason "freed the lock"',
  },
  {
    command: "skip-compensation",
    description: "skip the failing compensation (you cleaned up by hand)",
    update: skipCompensationUpdate,
    reasonRequired: true,
    compensation: true,
    example: 'shipshape skip-compensation shop/production --reason "deleted the stack by hand"',
  },
];

function refusal(err: unknown): string | null {
  if (err instanceof WorkflowUpdateFailedError) {
    const cause = err.cause as { message?: string } | undefined;
    return cause?.message ?? err.message;
  }
  return null;
}

export function registerControls(program: Command, ctx: CliContext): void {
  for (const spec of CONTROLS) {
    const cmd = program
      .command(`${spec.command} <deployment>`)
      .description(spec.description)
      .option("--as <name>", "who is doing this (recorded); defaults to $SHIPSHAPE_USER or $USER")
      .option("--reason <text>", spec.reasonRequired ? "why (required, recorded)" : "why (recorded)")
      .option("--json", "print the answer as JSON");
    if (spec.gate) cmd.option("--gate <name>", "the approval gate (defaults to the one waiting)");
    if (spec.compensation)
      cmd.option("--name <compensation>", "which compensation (defaults to the failing one)");
    cmd.addHelpText(
      "after",
      `\n<deployment> is a workflow ID or <service>/<environment> (its latest deployment).\n\nExample:\n  ${spec.example}`,
    );
    cmd.action(async (ref: string, options: ControlOptions) => {
      if (spec.reasonRequired && !options.reason) {
        throw new CliError(`${spec.command} needs --reason "<why>": it is recorded with the decision`);
      }
      const by = options.as ?? defaultActor();
      const tooLong = decisionLengthProblem({ by, reason: options.reason });
      if (tooLong) throw new CliError(`${spec.command}: ${tooLong}`);
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
          answer = await handle.executeUpdate(spec.update, { args: [args] });
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
    });
  }
}
