/**
 * Who the local target's instances run as, and what they may reach.
 *
 * The worker's state folder holds what an instance must never read: the
 * router's admin token (`router/<name>/process.json`), its routing table with
 * the override token, the Pulumi state. Those are written mode 0600 in 0700
 * folders, so they are safe from any OTHER user. A worker running as root
 * (CI, containers) therefore starts its instances as an unprivileged user:
 * `SHIPSHAPE_INSTANCE_USER`, default `nobody`. Such an instance reads its
 * release folder (the folders above it get search permission, never read
 * permission: nothing can be listed) and writes only its own home folder and
 * its log (an open file it inherits). A worker running as an ordinary user
 * starts instances as itself: they could read its files, which is why such a
 * worker should run as a user of its own (see the README's security section).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

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

/**
 * Lets `user` reach `target` below `root`: every folder from `root` down to
 * `target`'s parent gets search permission for others (o+x — enter, not
 * list). Folders outside `root` are left as they are (a release folder given
 * in place is the operator's). Files stay protected by their own modes.
 */
export function grantSearchPath(root: string, target: string): void {
  const rel = path.relative(root, target);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return;
  let dir = path.resolve(root);
  const steps =
    rel === ""
      ? []
      : path
          .dirname(rel)
          .split(path.sep)
          .filter((s) => s !== "" && s !== ".");
  for (const step of ["", ...steps]) {
    dir = step ? path.join(dir, step) : dir;
    const mode = fs.statSync(dir).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(dir, (mode & 0o7777) | 0o001);
  }
}

/** A folder only its owner enters (created when missing, tightened when it exists). */
export function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}
