// `shipshape validate [file]`: check a release config without deploying
// (what runs: cli/actions/validate.ts, loaded only when this command runs).

import type { Command } from "commander";
import type { CliContext } from "../context";

export interface ValidateOptions {
  json?: boolean;
  env?: boolean;
  appConfig?: boolean;
  color?: boolean;
}

export function registerValidate(program: Command, ctx: CliContext): Command {
  return (
    program
      .command("validate")
      .description("check a release config (and the app config files it names) without deploying")
      .argument("[file]", "the release config", "shipshape.yaml")
      .option("--json", "print the result (problems with file, line, column, path, message, fix) as JSON")
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${env:NAME} syntax
      .option("--env", "also require every ${env:NAME} reference to be set in the current environment")
      .option("--no-app-config", "skip the application config gate (schemas and check commands)")
      .option("--no-color", "plain output")
      .action(async (file: string, options: ValidateOptions) => {
        const { validate } = await import("../actions/validate");
        await validate(ctx, file, options);
      })
  );
}
