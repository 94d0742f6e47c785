import type { LoadTest, VerifyCheck } from "../config/schema";
import type { Progress } from "./common";

export interface VerifyCheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Checks green directly (health, smoke, load test) before it gets traffic. */
export interface VerifyDriver {
  runCheck(check: VerifyCheck, green: { urls: string[] }, progress: Progress): Promise<VerifyCheckResult>;
  loadTest?(spec: LoadTest, green: { urls: string[] }, progress: Progress): Promise<VerifyCheckResult>;
}
