// `shipshape deploy` and `shipshape rollback` (what runs: cli/actions/deploy.ts,
// loaded only when one of them runs).

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface DeployOptions {
  service: string;
  version: string;
  env: string;
  config: string;
  reason?: string;
  artifact?: string;
  as?: string;
  watch?: boolean;
  json?: boolean;
  taskQueue?: string;
}

export function registerDeploy(program: Command, ctx: CliContext): void {
  program
    .command("deploy")
    .description("start a deployment of a version through the release plan in the config")
    .requiredOption("--service <name>", "the service (must match the config)")
    .requiredOption("--version <version>", "the version to deploy")
    .option("--env <environment>", "target environment", "production")
    .option("--config <file>", "release config", "shipshape.yaml")
    .option("--artifact <ref>", "what is deployed (image, tarball, commit); defaults to the version")
    .option("--reason <text>", "why (recorded)")
    .option("--as <name>", "who is deploying (recorded); defaults to $SHIPSHAPE_USER or $USER")
    .option("--watch", "stay and watch; exit with the deployment's outcome")
    .option("--json", "print the started deployment as JSON")
    .option("--task-queue <name>", "worker task queue (advanced)")
    .addHelpText(
      "after",
      '\nExample:\n  shipshape deploy --service shop --version v2 --env production --config examples/shop/shipshape.yaml --reason "new checkout" --watch',
    )
    .action(async (options: DeployOptions) => {
      const { deploy } = await import("../actions/deploy");
      await deploy(ctx, options);
    });

  program
    .command("rollback")
    .description("redeploy the last good version through the same safe path (not a shortcut)")
    .requiredOption("--service <name>", "the service")
    .option("--env <environment>", "environment", "production")
    .option("--config <file>", "release config", "shipshape.yaml")
    .option("--reason <text>", "why (recorded)", "rollback to the last good version")
    .option("--as <name>", "who (recorded)")
    .option("--watch", "stay and watch")
    .option("--json", "print the started deployment as JSON")
    .option("--task-queue <name>", "worker task queue (advanced)")
    .addHelpText(
      "after",
      "\nExample:\n  shipshape rollback --service shop --env production --config examples/shop/shipshape.yaml --watch",
    )
    .action(async (options: Omit<DeployOptions, "version">) => {
      const { rollback } = await import("../actions/deploy");
      await rollback(ctx, options);
    });
}
