import { differenceText } from "../../lib/drift/differences";
import type { DeploymentStatus, HookStatus } from "../../workflows/deployment/state";

/**
 * The `watch` / `status` view, as plain lines (pure: the caller decides
 * whether to redraw in place on a TTY or append on a pipe). It answers the
 * three questions of a black-box deployment: which step is executing, how
 * long that step typically takes, and where it failed.
 */
export interface StatusViewOptions {
  nowMs: number;
  /** Median duration of each phase over the service's past deployments. */
  typicalMs?: Record<string, number>;
  uiLink?: string;
  width?: number;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "–";
  // Sub-10-second figures keep a decimal: a 0.2 s recovery must not read as "0s".
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function progressBar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `[${"█".repeat(full)}${"░".repeat(width - full)}]`;
}

const TERMINAL = new Set(["promoted", "rolled-back"]);

const shortDigest = (d: string | null | undefined) =>
  d ? d.replace(/^sha256:([0-9a-f]{12})[0-9a-f]+$/, "sha256:$1…") : "unknown";

/** Where users are and on what: endpoint, serving version, this release's artifact and migration. */
function releaseLines(s: DeploymentStatus): string[] {
  // Older deployments' statuses have none of these fields.
  const lines: string[] = [];
  if (s.endpoint) lines.push(`endpoint ${s.endpoint}`);
  if (s.serving !== undefined)
    lines.push(
      `serving ${s.serving ? `${s.serving.version} (${shortDigest(s.serving.artifactDigest)})` : "nothing yet"}`,
    );
  if (s.artifactDigest !== undefined) lines.push(`artifact ${s.artifact} (${shortDigest(s.artifactDigest)})`);
  if (s.activeMigration)
    lines.push(
      `migration ${s.activeMigration.name} active${s.activeMigration.versionSchema ? ` (schema ${s.activeMigration.versionSchema})` : ""}`,
    );
  return lines;
}

export function renderStatus(s: DeploymentStatus, o: StatusViewOptions): string[] {
  const lines: string[] = [];
  const outcome = s.outcome ? ` → ${s.outcome.toUpperCase()}` : "";
  lines.push(
    `${s.service} ${s.environment} ${s.version} (by ${s.requestedBy}${s.reason ? `: ${s.reason}` : ""})${outcome}`,
  );
  const step = s.step.index === 0 ? "before traffic" : `step ${s.step.index}/${s.step.total}`;
  lines.push(
    `phase ${s.phase} · ${step} · traffic blue ${s.weights.blue}% / green ${s.weights.green}%${s.blueVersion ? ` (blue = ${s.blueVersion})` : ""}`,
  );
  if (s.outcomeReason) lines.push(`reason: ${s.outcomeReason}`);
  lines.push(...releaseLines(s));
  const signing = signingLine(s);
  if (signing) lines.push(signing);
  if (s.chain)
    lines.push(
      `long bake: run ${s.chain.runs} of this deployment (continued as new to stay within Temporal's history limits; first run ${s.chain.firstRunId})`,
    );
  lines.push("");
  s.phases.forEach((p, i) => {
    const next = s.phases[i + 1];
    const current = p.endedAtMs === null && !TERMINAL.has(p.phase);
    const failed = next?.phase === "rolling-back" && p.phase !== "rolling-back";
    const mark = current ? "●" : failed ? "✗" : "✓";
    const elapsed = p.endedAtMs === null ? o.nowMs - p.startedAtMs : (p.durationMs ?? 0);
    const typical = o.typicalMs?.[p.phase];
    let line = `  ${mark} ${p.phase.padEnd(22)} ${formatMs(elapsed).padStart(7)}`;
    if (current && typical && typical > 0) {
      line += `  ${progressBar(elapsed / typical)} typically ${formatMs(typical)}`;
    } else if (typical) {
      line += `  (typically ${formatMs(typical)})`;
    }
    lines.push(line);
  });
  const latest = new Map<string, string>();
  for (const v of s.analysis.verdicts) latest.set(v.metric ?? "analysis", v.line);
  if (latest.size > 0) {
    lines.push("", `analysis (${s.analysis.status}):`);
    for (const [metric, line] of latest) lines.push(`  ${metric}: ${line}`);
  }
  for (const a of s.pendingApprovals) {
    const who = a.approvers.length ? a.approvers.join(" or ") : "anyone";
    const self = a.allowSelfApproval ? "" : ` (not ${s.requestedBy}: no self-approval)`;
    lines.push(
      "",
      `⏸ waiting for approval "${a.gate}" from ${who}${self}; times out in ${formatMs(a.timeoutAtMs - o.nowMs)}`,
      `  shipshape approve ${s.service}/${s.environment} --gate ${a.gate} ${s.signing?.mode === "signed" ? "--key <your key>" : "--as <name>"} --reason "…"`,
    );
  }
  lines.push(...hookLines(s, o.nowMs));
  if (s.paused) lines.push("", `⏸ paused by ${s.paused.by}: ${s.paused.reason}`);
  if (s.drift?.differences.length) {
    // onDrift: warn — deployed over a blue that was not as promoted.
    lines.push("", `⚠ blue ${s.drift.version} had drifted from its promotion (onDrift: warn):`);
    for (const d of s.drift.differences.slice(0, 10)) lines.push(`  ${differenceText(d)}`);
    if (s.drift.differences.length > 10) lines.push(`  … ${s.drift.differences.length - 10} more (--json)`);
  }
  if (s.needsAttention) {
    lines.push(
      "",
      `⚠ NEEDS ATTENTION: compensation ${s.needsAttention.compensation} keeps failing since ${formatMs(o.nowMs - s.needsAttention.sinceMs)} ago: ${s.needsAttention.lastError}`,
      `  shipshape retry-compensation ${s.service}/${s.environment} --reason "…"   or   shipshape skip-compensation ${s.service}/${s.environment} --reason "…"`,
    );
  }
  const active = s.compensations.filter((c) => c.status !== "registered");
  if (active.length > 0) {
    lines.push("", "rollback:");
    for (const c of active) {
      const mark = c.status === "done" ? "✓" : c.status === "skipped" ? "↷" : "●";
      lines.push(
        `  ${mark} ${c.name} (${c.status}, ${c.attempts} attempt${c.attempts === 1 ? "" : "s"})${c.lastError ? ` — ${c.lastError}` : ""}`,
      );
    }
  }
  if (o.uiLink) lines.push("", `Web UI: ${o.uiLink}`);
  return lines;
}

const HOOK_MARK: Record<HookStatus["state"], string> = {
  calling: "●",
  waiting: "⏸",
  passed: "✓",
  failed: "✗",
  "timed-out": "✗",
  triggered: "↺",
};

/** The environment's hooks and gates as the deployment reached them (statuses of older runs have none). */
export function hookLines(s: DeploymentStatus, nowMs: number): string[] {
  if (!s.hooks || s.hooks.length === 0) return [];
  const lines = ["", "hooks:"];
  for (const h of s.hooks) {
    const calls = `${h.calls} call${h.calls === 1 ? "" : "s"}`;
    let state: string = h.state;
    if (h.state === "waiting" && h.timeoutAtMs !== null)
      state = `waiting ${formatMs(nowMs - h.sinceMs)}, gives up in about ${formatMs(Math.max(0, h.timeoutAtMs - nowMs))} (onTimeout: ${h.onTimeout})`;
    else if (h.state === "triggered") state = "asked to roll back";
    lines.push(
      `  ${HOOK_MARK[h.state]} ${h.type} ${h.name}: ${state} (${calls})${h.lastAnswer ? ` — ${h.lastAnswer}` : ""}`,
    );
  }
  return lines;
}

/** Signed decisions, or said out loud that they are not. */
function signingLine(s: DeploymentStatus): string | null {
  const g = s.signing;
  if (!g) return null;
  if (g.mode === "unsigned") return `⚠ ${g.note}`;
  const pinned =
    g.pinned === true
      ? "pinned by the worker's policy"
      : g.pinned === false
        ? "NOT pinned"
        : "pin pending (preflight)";
  const who = g.requester ? `started by ${g.requester.identity} (${g.requester.fingerprint})` : "";
  return `signed decisions: ${who}; signers ${g.signersDigest?.slice(0, 12) ?? "?"}… ${pinned}`;
}
