/**
 * The target factory: one builder per target kind. An environment's
 * `target:` picks the builder; the worker keeps one target per distinct
 * environment spec (built on first use), so one worker serves any number of
 * services and environments on every target its machine can reach.
 *
 * Adding a target: a folder infra/<kind>/ whose target.ts builds a `Target`
 * (lib/drivers/target.ts), its spec in lib/deployment/target-spec.ts and its
 * section in the config schema, and one line in BUILDERS below.
 */
import { type TargetKind, TargetSpec } from "../lib/deployment/target-spec";
import type { Target, TargetRegistry } from "../lib/drivers/target";
import { type AwsTargetOptions, createAwsTarget } from "./aws/target";
import { createLocalTarget } from "./local/target";
import type { TargetContext } from "./target-context";

export type { TargetContext } from "./target-context";

/** Per-kind options of the builders (tests replace the AWS infra driver). */
export interface TargetOptions {
  aws?: AwsTargetOptions;
}

type Builder<K extends TargetKind> = (
  ctx: TargetContext,
  spec: Extract<TargetSpec, { kind: K }>,
  options: TargetOptions,
) => Target;

const BUILDERS: { [K in TargetKind]: Builder<K> } = {
  local: (ctx, spec) => createLocalTarget(ctx, spec),
  aws: (ctx, spec, options) => createAwsTarget(ctx, spec, options.aws),
};

export function createTargets(ctx: TargetContext, options: TargetOptions = {}): TargetRegistry {
  const built = new Map<string, Target>();
  return {
    forSpec(raw) {
      const spec = TargetSpec.parse(raw);
      const key = JSON.stringify(spec);
      let target = built.get(key);
      if (!target) {
        target = (BUILDERS[spec.kind] as Builder<typeof spec.kind>)(ctx, spec as never, options);
        built.set(key, target);
      }
      return target;
    },
  };
}
