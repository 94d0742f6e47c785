/**
 * Public API of the analysis core (pure: safe to import from workflow code).
 *
 *   const results = judgeAll(specs, measurements);            // one interval
 *   const { state, decision, verdict } = recordInterval(state, results, { stepIndex, weightPercent, atMs });
 *   // decision: "continue" | "fail" (roll back) | "pause" (stop and notify)
 *   const end = concludeStep(state, atMs);                    // when the bake time is over
 */
export {
  type AnalysisStep,
  concludeStep,
  initialAnalysisState,
  logCapPerMetric,
  recordInterval,
  resumeAnalysis,
} from "./aggregate";
export { formatValue, inferUnit } from "./format";
export {
  judgeAll,
  judgeMannWhitney,
  judgeMaxIncrease,
  judgeMetric,
  judgeMinRatioToBaseline,
  judgeThreshold,
  type SpecWith,
} from "./judges";
export {
  type Alternative,
  type Classification,
  type ClassifyOptions,
  classifyMannWhitney,
  type Direction,
  hodgesLehmannShift,
  type MannWhitneyTest,
  mannWhitneyU,
} from "./mann-whitney";
export { erfc, normalCdf, normalSf } from "./normal";
export * from "./types";
