import { aptInstall } from "./apt";
import { run, ToolchainError, which } from "./run";

const TOOLS = ["ssh-keygen", "ssh-agent", "ssh-add"] as const;

/**
 * OpenSSH's key tools, which signed decisions are compatible with: the
 * security tests sign and verify with `ssh-keygen -Y` and sign through a real
 * `ssh-agent`; `npm run dev` and the demo make their keys with ssh-keygen.
 * Resolution: on PATH → apt-get install openssh-client (Debian).
 */
export async function resolveOpenSsh(
  log: (line: string) => void,
): Promise<{ path: string; version: string }> {
  if (TOOLS.some((t) => !which(t))) await aptInstall("openssh-client", ["openssh-client"], log);
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length > 0) {
    throw new ToolchainError(
      "openssh-client",
      `${missing.join(", ")} not found`,
      "apt-get install openssh-client",
    );
  }
  const v = run("ssh", ["-V"]);
  const version = /OpenSSH_(\S+?)[,\s]/.exec(`${v.stdout}${v.stderr}`)?.[1] ?? "unknown";
  return { path: which("ssh-keygen") as string, version };
}
