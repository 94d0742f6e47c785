// Steering commands: approve, reject, abort, pause, resume, promote,
// retry-compensation, skip-compensation. Each is a Temporal Update, so the
// person gets an answer — accepted, or refused with why (not an approver,
// self-approval, nothing waiting, a signature that does not prove who asks) —
// and every accepted one is recorded in the workflow's decision log with who
// and why. A deployment whose environment has signers needs every decision
// signed (client/decisions.ts): with --key <file> or the ssh-agent's key.

import { WorkflowNotFoundError, WorkflowUpdateFailedError } from "@temporalio/client";
import type { Command } from "commander";
import { DECISION_UPDATES, type DecisionArgs, decisionArgs } from "../../client/decisions";
import { SigningError } from "../../client/signing/errors";
import { connectTemporal } from "../../client/temporal-client";
import type { DecisionAction } from "../../lib/signing/statements";
import { type ControlAnswer, statusQuery } from "../../workflows/deployment/messages";
import { type CliContext, EXIT_OK, EXIT_USAGE } from "../context";
import { resolveDeployment } from "../deployment-ref";
import { CliError } from "../errors";
import { defaultActor } from "./actor";

interface ControlOptions {
  as?: string;
  key?: string;
  reason?: string;
  gate?: string;
  name?: string;
  json?: boolean;
}

interface ControlSpec {
  command: DecisionAction;
  description: string;
  reasonRequired: boolean;
  gate?: boolean;
  compensation?: boolean;
  example: string;
}

const CONTROLS: ControlSpec[] = [
  {
    command: "approve",
    description: "approve the pending approval gate",
    reasonRequired: false,
    gate: true,
    example: 'shipshape approve shipshape-shop-production-v2 --as alice --reason "dashboards look fine"',
  },
  {
    command: "reject",
    description: "reject the pending approval gate (the deployment rolls back)",
    reasonRequired: true,
    gate: true,
    example: 'shipshape reject shop/production --as bob --reason "checkout dipped"',
  },
  {
    command: "abort",
    description: "abort the deployment: traffic back to blue first, then everything else rolled back",
    reasonRequired: true,
    example: 'shipshape abort shop/production --reason "wrong build"',
  },
  {
    command: "pause",
    description: "pause before the next traffic step (bake clocks stop)",
    reasonRequired: false,
    example: 'shipshape pause shop/production --reason "investigating a page"',
  },
  {
    command: "resume",
    description: "resume a paused deployment",
    reasonRequired: false,
    example: "shipshape resume shop/production",
  },
  {
    command: "promote",
    description: "skip the remaining bake time (never a failed analysis)",
    reasonRequired: false,
    example: 'shipshape promote shop/production --reason "hotfix"',
  },
  {
    command: "retry-compensation",
    description: "retry the failing compensation now",
    reasonRequired: true,
    compensation: true,
    example: 'shipshape retry-compensation shop/production --reason "freed the lock"',
  },
  {
    command: "skip-compensation",
    description: "skip the failing compensation (you cleaned up by hand)",
    reasonRequired: true,
    compensation: true,
    example: 'shipshape skip-compensation shop/production --reason "deleted the stack by hand"',
  },
];

/** The update's arguments, signed when the deployment requires it; signing problems are usage errors. */
async function controlArgs(
  handle: Awaited<ReturnType<typeof resolveDeployment>>,
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
    if (e instanceof SigningError) {
      throw new CliError(`cannot sign the ${spec.command}: ${e.message}`);
    }
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

export function registerControls(program: Command, ctx: CliContext): void {
  for (const spec of CONTROLS) {
    const cmd = program
      .command(`${spec.command} <deployment>`)
      .description(spec.description)
      .option(
        "--as <name>",
        "who is doing this (recorded); signed deployments: the principal of your key, else $SHIPSHAPE_USER or $USER",
      )
      .option("--key <file>", "sign with this ed25519 private key (or a .pub naming an ssh-agent key)")
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
