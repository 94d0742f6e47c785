import { runWithProgress } from "./progress";
import { ToolchainError } from "./run";

let updated = false;

/** apt's own lines ("Get:12 http://… postgresql-15 …", "Unpacking …", "Setting up …") as the step. */
function aptStep(line: string): string | undefined {
  const t = line.trim();
  return /^(Get:|Hit:|Unpacking|Setting up|Selecting)/.test(t) ? t.slice(0, 120) : undefined;
}

/**
 * Installs Debian packages when running as root (CI and these machines are);
 * otherwise explains the command to run. `apt-get update` runs once, only
 * when an install is actually needed.
 */
export async function aptInstall(
  tool: string,
  packages: string[],
  log: (line: string) => void,
): Promise<void> {
  const hint = `sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new ToolchainError(tool, `not installed, and setup is not running as root`, hint);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!updated) {
    const u = await runWithProgress(
      "apt-get",
      ["update", "-q"],
      { env },
      { label: "apt-get update", step: aptStep, log },
    );
    if (u.status !== 0) throw new ToolchainError(tool, `apt-get update failed: ${u.stderr.trim()}`, hint);
    updated = true;
  }
  const r = await runWithProgress(
    "apt-get",
    ["install", "-y", "-q", "--no-install-recommends", ...packages],
    { env },
    { label: `apt-get install ${packages.join(" ")}`, step: aptStep, log },
  );
  if (r.status !== 0) throw new ToolchainError(tool, `apt-get install failed: ${r.stderr.trim()}`, hint);
}
