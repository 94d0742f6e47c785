/**
 * Names users see (task queue, namespace, search attributes): one place, so the worker,
 * CLI, dev stack and tests agree.
 */
export const TASK_QUEUE = "shipshape-deployments";
export const DEFAULT_NAMESPACE = "default";

/** Custom search attributes, all Keyword so they can be filtered exactly in the Web UI and `list`. */
export const SEARCH_ATTRIBUTE_NAMES = [
  "ShipshapeService",
  "ShipshapeEnvironment",
  "ShipshapeVersion",
  "ShipshapePhase",
  "ShipshapeOutcome",
] as const;
export type SearchAttributeName = (typeof SEARCH_ATTRIBUTE_NAMES)[number];
