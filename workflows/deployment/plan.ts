/**
 * The release plan as an ordered list of items: the fixed phases before and
 * after traffic, and the config's steps (traffic steps numbered 1..n, approval
 * gates in between). Pure.
 */
import type { AnalysisOverride, ReleaseConfig } from "../../lib/config/schema";

export interface TrafficItem {
  kind: "traffic";
  /** 1-based among traffic steps (status shows "step index/total"). */
  index: number;
  total: number;
  weight: number;
  bakeMs: number;
  analysis?: AnalysisOverride;
}

export interface ApprovalItem {
  kind: "approval";
  gate: string;
  /** Traffic steps completed before the gate. */
  afterStep: number;
}

export type PlanItem = TrafficItem | ApprovalItem;

export interface Plan {
  items: PlanItem[];
  trafficSteps: number;
  gates: string[];
  hasDatabase: boolean;
  hasAnalysis: boolean;
  watchMs: number;
  keepPreviousMs: number;
}

export function buildPlan(config: ReleaseConfig): Plan {
  const total = config.release.steps.filter((s) => s.kind === "traffic").length;
  const items: PlanItem[] = [];
  let index = 0;
  for (const step of config.release.steps) {
    if (step.kind === "traffic") {
      index++;
      const item: TrafficItem = { kind: "traffic", index, total, weight: step.weight, bakeMs: step.bake };
      if (step.analysis) item.analysis = step.analysis;
      items.push(item);
    } else {
      items.push({ kind: "approval", gate: step.approval, afterStep: index });
    }
  }
  return {
    items,
    trafficSteps: total,
    gates: items.flatMap((i) => (i.kind === "approval" ? [i.gate] : [])),
    hasDatabase: config.database !== undefined,
    hasAnalysis: config.release.analysis !== undefined,
    watchMs: config.release.postPromotion.watch,
    keepPreviousMs: config.release.postPromotion.keepPrevious,
  };
}
