// Shared by the security tests: the `shipshape` CLI run in this process with
// its output captured, and throw-away folders that look like a repository.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type CliContext, EXIT_OK } from "../../cli/context";
import { main } from "../../cli/main";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function shipshape(...args: string[]): Promise<CliRun> {
  let out = "";
  let err = "";
  const ctx: CliContext = {
    stdout: (t) => {
      out += t.endsWith("\n") ? t : `${t}\n`;
    },
    stderr: (t) => {
      err += t.endsWith("\n") ? t : `${t}\n`;
    },
    color: false,
    exitCode: EXIT_OK,
  };
  const code = await main(["node", "shipshape", ...args], ctx);
  return { code, out, err };
}

/** A fresh folder with a `.git` folder, so it counts as the config's repository. */
export function tempRepo(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `shipshape-${prefix}-`));
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
