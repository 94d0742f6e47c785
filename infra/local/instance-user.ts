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
import fs from "node:fs";
import path from "node:path";

export { type InstanceUser, InstanceUserError, instanceUserFor } from "../../lib/runtime/instance-user";

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
