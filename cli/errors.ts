import { EXIT_FAILED, EXIT_USAGE } from "./context";

/** An error a person can act on: what went wrong and what to do. Printed without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
  }
}

export class DeploymentFailedError extends CliError {
  constructor(message: string) {
    super(message, EXIT_FAILED);
  }
}
