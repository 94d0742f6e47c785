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
  key?: string;
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
    .option(
      "--artifact <path|image>",
      "what runs: a folder or .tar.gz/.tgz (target: local, required), an image (target: aws; default aws.image)",
    )
    .option("--reason <text>", "why (recorded)")
    .option("--as <name>", "who is deploying (recorded); defaults to $SHIPSHAPE_USER or $USER")
    .option("--key <file>", "sign the start with this ed25519 key (signed environments; default: ssh-agent)")
    .option("--watch", "stay and watch; exit with the deployment's outcome")
    .option("--json", "print the started deployment as JSON")
    .option("--task-queue <name>", "worker task queue (advanced)")
    .addHelpText(
      "after",
      '\nExample:\n  shipshape deploy --service notes --version v2 --env staging --config examples/notes/v2/shipshape.yaml --artifact examples/notes/v2 --reason "tags" --watch',
    )
    .action(async (options: DeployOptions) => {
      const { deploy } = await import("../actions/deploy");
      await deploy(ctx, options);
    });

  program
    .command("rollback")
    .description("redeploy the last good version, from the artifact it ran, through the same safe path")
    .requiredOption("--service <name>", "the service")
    .option("--env <environment>", "environment", "production")
    .option("--config <file>", "release config", "shipshape.yaml")
    .option("--artifact <path|image>", "deploy this artifact instead of the one the version ran from")
    .option("--reason <text>", "why (recorded)", "rollback to the last good version")
    .option("--as <name>", "who (recorded)")
    .option("--key <file>", "sign the start with this ed25519 key (signed environments; default: ssh-agent)")
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
