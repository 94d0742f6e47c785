// Steering commands: approve, reject, abort, pause, resume, promote,
// retry-compensation, skip-compensation. Each is a Temporal Update, so the
// person gets an answer — accepted, or refused with why (not an approver,
// self-approval, nothing waiting) — and every accepted one is recorded in the
// workflow's decision log with who and why. What runs: cli/actions/controls.ts,
// loaded only when one of them runs.

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface ControlOptions {
  as?: string;
  reason?: string;
  gate?: string;
  name?: string;
  json?: boolean;
}

export type ControlCommand =
  | "approve"
  | "reject"
  | "abort"
  | "pause"
  | "resume"
  | "promote"
  | "retry-compensation"
  | "skip-compensation";

export interface ControlSpec {
  command: ControlCommand;
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
      const { steer } = await import("../actions/controls");
      await steer(ctx, spec, ref, options);
    });
  }
}
