import type { PulumiSettings } from "./pulumi/settings";

/**
 * What every target is built from: the worker's own settings, passed down
 * from its entry (`shipshape worker`), never read from process.env below it.
 */
export interface TargetContext {
  /** The worker's state folder (releases, instance pidfiles and logs, routers, the default Pulumi backend). */
  stateDir: string;
  pulumi: PulumiSettings;
  /** Prometheus the `prometheus` metric provider queries, when the worker has one. */
  prometheusUrl?: string;
  log: (line: string) => void;
}
