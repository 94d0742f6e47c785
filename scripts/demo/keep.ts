/** `--keep`: the stack stays up until Ctrl-C (or SIGTERM). */
export function waitForCtrlC(): Promise<void> {
  console.log("--keep: the stack stays up; Ctrl-C to stop it.");
  return new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
}
