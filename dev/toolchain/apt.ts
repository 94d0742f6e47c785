import { run, ToolchainError } from "./run";

let updated = false;

/**
 * Installs Debian packages when running as root (CI and these machines are);
 * otherwise explains the command to run. `apt-get update` runs once, only
 * when an install is actually needed.
 */
export function aptInstall(tool: string, packages: string[], log: (line: string) => void): void {
  const hint = `sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new ToolchainError(tool, `not installed, and setup is not running as root`, hint);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!updated) {
    log("apt-get update");
    const u = run("apt-get", ["update", "-q"], { env });
    if (u.status !== 0) throw new ToolchainError(tool, `apt-get update failed: ${u.stderr.trim()}`, hint);
    updated = true;
  }
  log(`apt-get install -y ${packages.join(" ")}`);
  const r = run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...packages], { env });
  if (r.status !== 0) throw new ToolchainError(tool, `apt-get install failed: ${r.stderr.trim()}`, hint);
}
