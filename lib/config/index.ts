// Public API of the release config. Pure modules (schema, durations, percent,
// env-refs, semantic, problems, format, json-schema) can be imported directly by
// workflow code; this index also re-exports the Node-side loader and gate.

export {
  type AppConfigGateOptions,
  checkAppConfigFile,
  parseEnvFile,
  runAppConfigGate,
} from "./app-config-gate";
export { canonicalJson, configDigest } from "./digest";
export { DURATION_PATTERN, durationMs, formatDuration, parseDuration } from "./durations";
export { listEnvRefs, resolveEnvRefs, resolveEnvRefsOrThrow } from "./env-refs";
export { formatProblem, formatProblems } from "./format";
export { releaseConfigJsonSchema } from "./json-schema";
export {
  type EnvRefLocation,
  type LoadOptions,
  type LoadResult,
  loadReleaseConfig,
  parseReleaseConfig,
} from "./load";
export { formatPercent, parsePercent } from "./percent";
export { type PreflightResult, preflightReleaseConfig } from "./preflight";
export { formatPath, hasErrors, type Problem, type Severity, sortProblems } from "./problems";
export * from "./schema";
export { suggest } from "./suggest";
