/**
 * The campaign report: runs and outcomes, faults injected by kind, time to
 * recover per kind (median, p95, max), user-visible errors per fault window, and
 * every invariant violation (a clean campaign has none).
 */

import { FAULT_KINDS, type FaultKind } from "./plan";
import type { CampaignResult } from "./results";

export interface KindStats {
  injected: number;
  notReached: number;
  /** From the fault hitting to the system working again (see recoveredAt in invariants.ts). */
  recoverMs: { n: number; median: number | null; p95: number | null; max: number | null };
  /** Errors users saw while this fault was in progress (its window). */
  userErrors: number;
}

export interface CampaignReport {
  seed: number;
  runs: number;
  plannedRuns: number;
  outcomes: Record<string, number>;
  faults: Record<FaultKind, KindStats>;
  requests: number;
  /** GETs sent again after their keep-alive connection closed without an answer (as HTTP clients do). */
  retriedAfterClose: number;
  userErrors: Record<string, number>;
  violations: Array<{ run: number | "final"; invariant: string; detail: string }>;
  unexpectedWorkerExits: number;
  /** Where every run's worker log is kept (`run-<n>/worker.log`). */
  reportDir: string;
  durationMs: number;
  kindsNeverInjected: FaultKind[];
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : Math.round(((s[m - 1] as number) + (s[m] as number)) / 2);
}

/** The 95th percentile, linearly interpolated (as the benchmarks count it); the goal of worker-kill recovery is stated on it. */
export function p95(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * 0.95;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return Math.round((s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo));
}

export function summarize(r: CampaignResult): CampaignReport {
  const faults = Object.fromEntries(
    FAULT_KINDS.map((k) => [
      k,
      {
        injected: 0,
        notReached: 0,
        recoverMs: { n: 0, median: null, p95: null, max: null },
        userErrors: 0,
      },
    ]),
  ) as Record<FaultKind, KindStats>;
  const recover = new Map<FaultKind, number[]>();
  const outcomes: Record<string, number> = {};
  const userErrors: Record<string, number> = {};
  let requests = 0;
  let retriedAfterClose = 0;
  const violations: CampaignReport["violations"] = [];
  for (const run of r.runs) {
    outcomes[run.outcome] = (outcomes[run.outcome] ?? 0) + 1;
    requests += run.load.requests;
    retriedAfterClose += run.load.retriedAfterClose ?? 0;
    for (const [w, n] of Object.entries(run.load.byWindow)) userErrors[w] = (userErrors[w] ?? 0) + n;
    for (const f of run.faults) {
      const k = faults[f.kind];
      if (f.injectedAt === null) {
        k.notReached++;
        continue;
      }
      k.injected++;
      k.userErrors += run.load.byWindow[f.kind] ?? 0;
      if (f.recoveredAt !== null)
        recover.set(f.kind, [...(recover.get(f.kind) ?? []), f.recoveredAt - f.injectedAt]);
    }
    for (const v of run.violations) violations.push({ run: run.run, ...v });
  }
  for (const v of r.finalViolations) violations.push({ run: "final", ...v });
  for (const k of FAULT_KINDS) {
    const xs = recover.get(k) ?? [];
    faults[k].recoverMs = {
      n: xs.length,
      median: median(xs),
      p95: p95(xs),
      max: xs.length ? Math.max(...xs) : null,
    };
  }
  return {
    seed: r.seed,
    runs: r.runs.length,
    plannedRuns: r.plannedRuns,
    outcomes,
    faults,
    requests,
    retriedAfterClose,
    userErrors,
    violations,
    unexpectedWorkerExits: r.unexpectedWorkerExits,
    reportDir: r.reportDir,
    durationMs: r.durationMs,
    kindsNeverInjected: FAULT_KINDS.filter((k) => faults[k].injected === 0),
  };
}

const s = (ms: number | null) => (ms === null ? "—" : `${(ms / 1000).toFixed(1)} s`);

export function formatReport(rep: CampaignReport): string {
  const lines: string[] = [];
  lines.push(
    `Chaos campaign, seed ${rep.seed}: ${rep.runs}/${rep.plannedRuns} runs in ${(rep.durationMs / 60_000).toFixed(1)} min — ${Object.entries(
      rep.outcomes,
    )
      .map(([o, n]) => `${n} ${o}`)
      .join(", ")}`,
  );
  lines.push("");
  lines.push(
    "fault kind          injected  not reached  recover median  recover p95  recover max  user errors in window",
  );
  for (const [k, f] of Object.entries(rep.faults)) {
    lines.push(
      `${k.padEnd(20)}${String(f.injected).padStart(8)}${String(f.notReached).padStart(13)}${s(f.recoverMs.median).padStart(16)}${s(f.recoverMs.p95).padStart(13)}${s(f.recoverMs.max).padStart(13)}${String(f.userErrors).padStart(23)}`,
    );
  }
  lines.push("");
  lines.push(
    `load: ${rep.requests} requests (${rep.retriedAfterClose} GET(s) sent again after their connection closed without an answer); failed requests by window: ${
      Object.entries(rep.userErrors)
        .map(([w, n]) => `${w} ${n}`)
        .join(", ") || "none"
    }`,
  );
  lines.push(
    "  (explained: a database outage (+10 s) and a bad version's canary until traffic is back on blue (+2 s); tolerance for anything else: 0)",
  );
  lines.push(
    `worker exited on its own: ${rep.unexpectedWorkerExits} time(s)${rep.unexpectedWorkerExits > 0 ? " (restarted; each a worker-stays-up violation)" : ""}`,
  );
  lines.push(`logs of every run (worker.log, probe.log, router.log): ${rep.reportDir}/run-<n>/`);
  if (rep.kindsNeverInjected.length > 0) lines.push(`never injected: ${rep.kindsNeverInjected.join(", ")}`);
  lines.push(`invariant violations: ${rep.violations.length}`);
  for (const v of rep.violations) lines.push(`  ✗ run ${v.run} [${v.invariant}] ${v.detail}`);
  return lines.join("\n");
}
