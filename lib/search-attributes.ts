import { defineSearchAttributeKey, SearchAttributeType } from "@temporalio/common";

/** Typed keys for the custom search attributes registered by the dev stack (see lib/names.ts). */
export const SA = {
  service: defineSearchAttributeKey("ShipshapeService", SearchAttributeType.KEYWORD),
  environment: defineSearchAttributeKey("ShipshapeEnvironment", SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey("ShipshapeVersion", SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey("ShipshapePhase", SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey("ShipshapeOutcome", SearchAttributeType.KEYWORD),
} as const;
