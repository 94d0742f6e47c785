// What every CLI command gets: where to write, and the exit code to end with.

export const EXIT_OK = 0;
/** A deployment failed or was rolled back. */
export const EXIT_FAILED = 1;
/** Usage or config error. */
export const EXIT_USAGE = 2;

export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr/stdout may use ANSI colors. */
  color: boolean;
  /** Set by the command that ran; main() returns it. */
  exitCode: number;
}

export function defaultContext(): CliContext {
  return {
    stdout: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    color: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR,
    exitCode: EXIT_OK,
  };
}
