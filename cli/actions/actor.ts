import os from "node:os";

/** Who is at the keyboard, for the decision log: --as wins, then $SHIPSHAPE_USER, then the OS user. */
export function defaultActor(): string {
  if (process.env.SHIPSHAPE_USER) return process.env.SHIPSHAPE_USER;
  try {
    return process.env.USER || os.userInfo().username;
  } catch {
    return "unknown";
  }
}
