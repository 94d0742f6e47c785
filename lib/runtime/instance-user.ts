/**
 * Who code from a release runs as on this host: its instances, its smoke
 * commands, its app-config checks. A worker running as root (CI, containers)
 * runs them as an unprivileged user, `SHIPSHAPE_INSTANCE_USER` (default
 * `nobody`), so they cannot read what only the worker may: the router's
 * admin token, the routing table, the Pulumi state (0600 in 0700 folders).
 * A worker running as an ordinary user runs them as itself.
 */
import { execFileSync } from "node:child_process";

export interface InstanceUser {
  name: string;
  uid: number;
  gid: number;
}

export class InstanceUserError extends Error {
  override name = "InstanceUserError";
}

function idOf(flag: "-u" | "-g", name: string): number {
  const out = execFileSync("id", [flag, name], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return Number(out.trim());
}

/**
 * The user instances are started as: undefined when the worker is not root
 * (they run as the worker's user), else SHIPSHAPE_INSTANCE_USER or `nobody`.
 * Never root: a configured user whose uid is 0 is refused.
 */
export function instanceUserFor(
  env: Record<string, string | undefined>,
  workerUid: number | undefined = process.getuid?.(),
): InstanceUser | undefined {
  if (workerUid !== 0) return undefined;
  const name = env.SHIPSHAPE_INSTANCE_USER || "nobody";
  let uid: number;
  let gid: number;
  try {
    uid = idOf("-u", name);
    gid = idOf("-g", name);
  } catch {
    throw new InstanceUserError(
      `SHIPSHAPE_INSTANCE_USER=${name}: no such user on this host. The worker runs as root, so its ` +
        "instances run as an unprivileged user: create that user, or set SHIPSHAPE_INSTANCE_USER to an existing one",
    );
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) {
    throw new InstanceUserError(
      `SHIPSHAPE_INSTANCE_USER=${name} is root: instances never run as root (they could read the router's ` +
        "admin token); name an unprivileged user",
    );
  }
  return { name, uid, gid };
}
