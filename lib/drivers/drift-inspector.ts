/**
 * What a target reports for drift detection (lib/drift/differences.ts judges
 * it): the router's table and data plane, the version's stack against its
 * real resources (a refresh preview), and the staged artifact. Read-only:
 * inspecting never changes anything. A target without one cannot be checked
 * for drift (the check says so instead of passing).
 */
import type { ObservedState } from "../drift/differences";
import type { Progress } from "./common";

export interface DriftInspector {
  observe(
    scope: { service: string; environment: string },
    version: string,
    progress: Progress,
  ): Promise<ObservedState>;
}
