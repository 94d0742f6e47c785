// `shipshape drift <service>/<env>` and `shipshape parity <service> <envA> <envB>`
// (what runs: cli/actions/drift.ts and cli/actions/parity.ts, loaded only when they run).

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface DriftOptions {
  json?: boolean;
  taskQueue?: string;
  every?: string;
  unschedule?: boolean;
}

export function registerDrift(program: Command, ctx: CliContext): void {
  program
    .command("drift <service/env>")
    .description(
      "compare what runs with what the last promoted deployment recorded (router, stack, instances, artifact); exits 1 on drift",
    )
    .option("--json", "print the report as JSON")
    .option(
      "--every <interval>",
      "instead of checking now: a Temporal Schedule checks every <interval> (e.g. 15m) and notifies on drift",
    )
    .option("--unschedule", "remove the schedule made with --every")
    .option("--task-queue <name>", "worker task queue (advanced)")
    .addHelpText(
      "after",
      "\nA worker of the environment inspects it (a Pulumi refresh preview, the router's table and data plane,\n" +
        "the release files); nothing is changed. Exit 0: no drift, 1: drift, 2: nothing to compare or a usage error.\n\n" +
        "Examples:\n  shipshape drift shop/production\n  shipshape drift shop/production --every 15m",
    )
    .action(async (ref: string, options: DriftOptions) => {
      const { showDrift } = await import("../actions/drift");
      await showDrift(ctx, ref, options);
    });

  program
    .command("parity <service> <envA> <envB>")
    .description(
      "every difference between two environments: effective release config (secrets never shown) and what runs; exits 1 when they differ",
    )
    .option("--json", "print the differences as JSON")
    .option("--task-queue <name>", "worker task queue (advanced)")
    .addHelpText("after", "\nExample:\n  shipshape parity shop staging production")
    .action(async (service: string, envA: string, envB: string, options: DriftOptions) => {
      const { showParity } = await import("../actions/parity");
      await showParity(ctx, service, envA, envB, options);
    });
}
