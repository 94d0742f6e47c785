/** Markdown summary for setCurrentDetails (the Web UI's "current details"). Pure, bounded. */
import { type DeploymentStatus, stepText } from "./state";

function fmtDuration(ms: number | null): string {
  if (ms === null) return "…";
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${s % 60 ? `${s % 60}s` : ""}` : `${Math.floor(m / 60)}h${m % 60}m`;
}

export function renderDetails(s: DeploymentStatus): string {
  const lines: string[] = [];
  const title = s.outcome ? `**${s.outcome}**` : `**${s.phase}**`;
  lines.push(`### ${s.service} → ${s.environment}: ${s.version} — ${title}`);
  lines.push(
    `${stepText(s)} · traffic blue ${s.weights.blue}% / green ${s.weights.green}% · by ${s.requestedBy}${s.reason ? ` (${s.reason})` : ""}`,
  );
  if (s.outcomeReason) lines.push(`> ${s.outcomeReason}`);
  if (s.needsAttention) {
    lines.push(
      `**Needs attention:** compensation \`${s.needsAttention.compensation}\` failing since ${new Date(s.needsAttention.sinceMs).toISOString()}: ${s.needsAttention.lastError} — \`shipshape rollback --retry\` or \`--skip\``,
    );
  }
  if (s.paused) lines.push(`**Paused** by ${s.paused.by}: ${s.paused.reason}`);
  for (const p of s.pendingApprovals) {
    lines.push(
      `**Waiting for approval** \`${p.gate}\` (approvers: ${p.approvers.join(", ") || "any"}) until ${new Date(p.timeoutAtMs).toISOString()}`,
    );
  }
  for (const h of s.hooks ?? []) {
    const wait =
      h.state === "waiting" && h.timeoutAtMs !== null
        ? ` until ${new Date(h.timeoutAtMs).toISOString()} (onTimeout: ${h.onTimeout})`
        : "";
    lines.push(
      `Hook \`${h.name}\` (${h.type}): **${h.state}**${wait}, ${h.calls} call${h.calls === 1 ? "" : "s"}${h.lastAnswer ? ` — ${h.lastAnswer}` : ""}`,
    );
  }
  const latest = s.analysis.verdicts[s.analysis.verdicts.length - 1];
  if (latest) lines.push(`Analysis (${s.analysis.status}): ${latest.line}`);
  lines.push("", "| phase | duration |", "|---|---|");
  for (const p of s.phases.slice(-12)) lines.push(`| ${p.phase} | ${fmtDuration(p.durationMs)} |`);
  const comps = s.compensations.filter((c) => c.status !== "registered");
  if (comps.length > 0) {
    lines.push(
      "",
      "Compensations: " +
        comps
          .map((c) => `${c.name} ${c.status}${c.attempts > 1 ? ` (${c.attempts} attempts)` : ""}`)
          .join(", "),
    );
  }
  const d = s.decisions[s.decisions.length - 1];
  if (d) lines.push("", `Last decision: ${d.kind} by ${d.by}${d.reason ? ` — ${d.reason}` : ""}`);
  return lines.join("\n");
}
