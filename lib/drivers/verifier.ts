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
  runCheck(check: VerifyCheck, green: GreenAddress, progress: Progress): Promise<VerifyCheckResult>;
  loadTest?(spec: LoadTest, green: GreenAddress, progress: Progress): Promise<VerifyCheckResult>;
}
