// `shipshape status [<deployment>]` and `shipshape watch <deployment>` (what
// runs: cli/actions/status.ts, loaded only when one of them runs).

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface StatusOptions {
  json?: boolean;
}

export interface WatchOptions {
  json?: boolean;
  interval: string;
}

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status [deployment]")
    .description("where a deployment is: phase, step, weights, analysis, approvals, rollback log")
    .option("--json", "print the status as JSON")
    .addHelpText(
      "after",
      "\nWithout an ID: every running deployment.\n\nExamples:\n  shipshape status\n  shipshape status shop/production --json",
    )
    .action(async (ref: string | undefined, options: StatusOptions) => {
      const { showStatus } = await import("../actions/status");
      await showStatus(ctx, ref, options);
    });

  program
    .command("watch <deployment>")
    .description(
      "live view until the deployment ends; exits 0 when promoted, 1 when rolled back or needs attention",
    )
    .option("--json", "print a JSON status line whenever something changes")
    .option("--interval <ms>", "refresh interval", "1000")
    .addHelpText("after", "\nExample:\n  shipshape watch shop/production")
    .action(async (ref: string, options: WatchOptions) => {
      const { watch } = await import("../actions/status");
      await watch(ctx, ref, options);
    });
}
