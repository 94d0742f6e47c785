/**
 * Where an unfinished migration stands and what to run next, in words an
 * operator can act on (`shipshape migrate status` prints it).
 *
 * Complete runs in two parts. First, while the migration is still active, it
 * validates and checks what the contract will rely on (`validate:…` steps);
 * a failure there changes nothing either version depends on. Then it
 * contracts: it drops the old version's views (which rollback can recreate)
 * and runs each operation's contract step (`complete:<n>:…`), which drops or
 * renames what the old version used. Once one of those has committed there
 * is no way back, and only complete can finish.
 */
import type { Phase } from "./state";

/** Whether complete has committed a step that cannot be undone. */
export function contracted(steps: Iterable<string>): boolean {
  for (const s of steps) if (/^complete:\d+:/.test(s) || s === "complete:views") return true;
  return false;
}

/** Whether rollback can (still, or again) run for a migration in `phase` that recorded `steps`. */
export function canRollBack(phase: Phase, steps: Iterable<string>): boolean {
  if (phase === "completing") return !contracted(steps);
  return phase === "starting" || phase === "active" || phase === "rolling_back";
}

const run = (command: string) => `\`shipshape migrate ${command}\``;

/** One sentence: what happened to an unfinished migration and which command to run; empty once final. */
export function nextStep(m: { phase: Phase; lastError: string | null; canRollBack: boolean }): string {
  switch (m.phase) {
    case "starting":
      return `start stopped part-way; fix the cause and run ${run("start")} again, or run ${run("rollback")}`;
    case "active":
      return m.lastError
        ? `complete failed before contracting anything; fix the cause and run ${run("complete")} again, or run ${run("rollback")}`
        : `both versions are served; run ${run("verify")}, then ${run("complete")} once the old version is retired, or ${run("rollback")}`;
    case "completing":
      return m.canRollBack
        ? `complete stopped before its first contracting step committed; fix the cause and run ${run("complete")} again, or run ${run("rollback")} (it restores the old version's views)`
        : `complete stopped after it began contracting; fix the cause and run ${run("complete")} again (rollback is no longer possible)`;
    case "rolling_back":
      return `rollback stopped part-way; fix the cause and run ${run("rollback")} again (complete is no longer possible)`;
    default:
      return "";
  }
}
