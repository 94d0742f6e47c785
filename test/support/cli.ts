// The `shipshape` CLI run in this process, its output captured.
import { type CliContext, EXIT_OK } from "../../cli/context";
import { main } from "../../cli/main";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(...args: string[]): Promise<CliRun> {
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
