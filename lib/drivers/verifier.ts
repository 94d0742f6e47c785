import type { CheckEnvironment } from "../config/check-env";
import type { LoadTest, VerifyCheck } from "../config/schema";
import type { Progress } from "./common";

export interface VerifyCheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Where green answers before users see it: the base URLs to check and the
 * headers that select green there (on AWS one URL, the load balancer, with
 * the version header its version rule matches; locally one URL per instance).
 */
export interface GreenAddress {
  urls: string[];
  headers?: Record<string, string>;
}

/** Checks green directly (health, smoke, load test) before it gets traffic. */
export interface VerifyDriver {
  /**
   * `commandEnv`: the whole environment a smoke command runs in (the
   * allow-list and the release's run.env, as an instance gets) and the
   * values to redact from its output. Absent: the bare allow-list.
   */
  runCheck(
    check: VerifyCheck,
    green: GreenAddress,
    progress: Progress,
    commandEnv?: CheckEnvironment,
  ): Promise<VerifyCheckResult>;
  loadTest?(spec: LoadTest, green: GreenAddress, progress: Progress): Promise<VerifyCheckResult>;
}
