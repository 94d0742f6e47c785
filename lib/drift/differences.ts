/**
 * Drift: what runs in an environment, compared with what its last promoted
 * deployment recorded. PURE (workflow-importable): the target's inspector
 * (lib/drivers/drift-inspector.ts) observes, `driftDifferences` judges, and
 * everything a person reads is the list of differences it returns, each
 * saying what differs, what was recorded and what was found.
 */
import { z } from "zod";

/** What a promoted deployment left running: the state drift is measured against. */
export const RecordedState = z.object({
  version: z.string().min(1),
  /** Content digest of the artifact the deployment promoted (null: not recorded, not compared). */
  artifactDigest: z.string().nullable(),
  /** The instances users were sent to at promotion (null: take the stack's own record). */
  instances: z.array(z.string()).nullable(),
  /** run.instances of the promoted config (null: not compared). */
  instanceCount: z.number().int().nullable(),
  /** Which deployment recorded it (for the report), e.g. the workflow ID and run. */
  source: z.string().default(""),
});
export type RecordedState = z.input<typeof RecordedState>;

export interface ObservedBackend {
  version: string;
  /** The router table's raw weight (the serving blue has 100 after a promotion). */
  weight: number;
  instances: string[];
  /** Instances the router's health checks report down. */
  unhealthy: string[];
}

/** What the target reports, without judging it. */
export interface ObservedState {
  router: {
    backends: { blue?: ObservedBackend; green?: ObservedBackend };
    /** The split the data plane itself applies (null: it reports none, e.g. not started). */
    applied: { blue: number; green: number } | null;
  };
  stack: {
    name: string;
    exists: boolean;
    /** Instance addresses the stack's state records. */
    instances: string[];
    /** What a refresh would change: the real resources no longer match the state. */
    refresh: Array<{ resource: string; change: string }>;
  };
  artifact: {
    /** The digest the target recorded when it staged the version (null: unknown). */
    stagedDigest: string | null;
    /** The digest of what is on disk now (null: the target cannot tell, e.g. an image). */
    contentDigest: string | null;
  };
}

export interface DriftDifference {
  /** What differs, e.g. "router weight of blue". */
  what: string;
  expected: string;
  actual: string;
}

const list = (xs: readonly string[]) => (xs.length ? [...xs].sort().join(", ") : "none");
const same = (a: readonly string[], b: readonly string[]) => list(a) === list(b);

/** Every difference between the recorded state and the observed one (empty: no drift). */
export function driftDifferences(recordedInput: RecordedState, observed: ObservedState): DriftDifference[] {
  const recorded = RecordedState.parse(recordedInput);
  const out: DriftDifference[] = [];
  const add = (what: string, expected: string, actual: string) => out.push({ what, expected, actual });
  const { blue, green } = observed.router.backends;
  const expectedInstances = recorded.instances ?? observed.stack.instances;

  // The router: after a promotion it sends everything to one backend, the promoted version.
  if (!blue) add("router backend blue", `${recorded.version} (${list(expectedInstances)})`, "none");
  else {
    if (blue.version !== recorded.version) add("router: version of blue", recorded.version, blue.version);
    if (blue.weight !== 100) add("router weight of blue", "100", String(blue.weight));
    if (!same(blue.instances, expectedInstances))
      add("router backends of blue", list(expectedInstances), list(blue.instances));
    for (const url of blue.unhealthy) add(`instance ${url}`, "healthy", "failing the router's health check");
  }
  if (green)
    add(
      "router backend green",
      "none (nothing is being deployed)",
      `${green.version} weight ${green.weight} (${list(green.instances)})`,
    );
  const applied = observed.router.applied;
  if (applied && (applied.blue !== 100 || applied.green !== 0))
    add("router data plane split", "blue 100% / green 0%", `blue ${applied.blue}% / green ${applied.green}%`);

  // The stack: it exists, records the instances the router serves, and matches the real resources.
  if (!observed.stack.exists) add(`stack ${observed.stack.name}`, "exists", "missing");
  else {
    if (recorded.instances && !same(observed.stack.instances, recorded.instances))
      add(`stack ${observed.stack.name} instances`, list(recorded.instances), list(observed.stack.instances));
    if (recorded.instanceCount !== null && observed.stack.instances.length !== recorded.instanceCount)
      add(
        `stack ${observed.stack.name} instance count`,
        String(recorded.instanceCount),
        String(observed.stack.instances.length),
      );
    for (const r of observed.stack.refresh)
      add(`stack resource ${r.resource}`, "as recorded in the stack", `refresh would ${r.change} it`);
  }

  // The artifact: what was promoted is what is staged, and what is on disk is still it.
  const { stagedDigest, contentDigest } = observed.artifact;
  if (recorded.artifactDigest && stagedDigest && stagedDigest !== recorded.artifactDigest)
    add(`artifact of ${recorded.version}`, recorded.artifactDigest, `${stagedDigest} (staged)`);
  const reference = recorded.artifactDigest ?? stagedDigest;
  if (reference && contentDigest && contentDigest !== reference)
    add(`artifact files of ${recorded.version}`, reference, `${contentDigest} (changed on disk)`);
  return out;
}

/** One difference in one line: "router weight of blue: expected 100, found 40". */
export function differenceText(d: DriftDifference): string {
  return `${d.what}: expected ${d.expected}, found ${d.actual}`;
}

/** Every difference in one line, for logs, refusals and the decision log. */
export function formatDifferences(diffs: readonly DriftDifference[]): string {
  return diffs.map(differenceText).join("; ");
}
