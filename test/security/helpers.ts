// Shared by the security tests: the `shipshape` CLI run in this process with
// its output captured (test/support/cli.ts), throw-away folders that look like
// a repository, and a minimal release config.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export { runCli as shipshape } from "../support/cli";

/** A fresh folder with a `.git` folder, so it counts as the config's repository. */
export function tempRepo(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `shipshape-${prefix}-`));
  // A checkout as git leaves it (umask 022): a root worker's instance user can read it.
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, ".git"));
  return dir;
}

/** A minimal valid release config; `extra` is appended as more top-level YAML. */
export function releaseYaml(extra = "", runEnv = ""): string {
  return `service: shop
run:
  command: node server.js
  instances: 1
${runEnv}environments:
  production:
    target: local
release:
  steps:
    - { weight: 100 }
${extra}`;
}
