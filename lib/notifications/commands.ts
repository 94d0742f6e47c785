/**
 * The exact `shipshape` commands a notification offers, so whoever reads it
 * (a person in Slack, a bot) acts on the deployment without looking anything
 * up. `<deployment>` is written service/environment: the CLI takes it to mean
 * the latest deployment there, which is this one while it runs. Pure.
 */
import type { NotificationCommands } from "./payload";

export interface CommandSituation {
  service: string;
  environment: string;
  /** The gate waiting for a decision, if any. */
  gate: string | null;
  /** Paused (by a person or by analysis). */
  paused: boolean;
  /** The deployment can still be aborted (running, not finalizing, not rolling back). */
  abortable: boolean;
  /** The environment has a signers file: every decision is signed with --key. */
  signed: boolean;
}

/** A double-quoted shell word (only what the CLI's arguments can contain is escaped). */
const quote = (s: string) => `"${s.replace(/(["\\$`])/g, "\\$1")}"`;

export function shipshapeCommands(s: CommandSituation): NotificationCommands {
  const ref = `${s.service}/${s.environment}`;
  const key = s.signed ? " --key ~/.ssh/id_ed25519" : "";
  const out: NotificationCommands = { status: `shipshape status ${ref}` };
  if (s.gate !== null) {
    out.approve = `shipshape approve ${ref} --gate ${s.gate}${key} --reason ${quote("why")}`;
    out.reject = `shipshape reject ${ref} --gate ${s.gate}${key} --reason ${quote("why")}`;
  }
  if (s.paused) out.resume = `shipshape resume ${ref}${key}`;
  if (s.abortable) out.abort = `shipshape abort ${ref}${key} --reason ${quote("why")}`;
  return out;
}
