import fs from "node:fs";
import { expect } from "vitest";
import { LOCAL_PROJECT, localStackPaths } from "../../../infra/local/program";
import { fileBackendDir, type PulumiSettings } from "../../../infra/pulumi/settings";
import { listLocks } from "../../../infra/pulumi/stack-locks";
import { devPulumiSettings, stackExists } from "../../../infra/pulumi/workspace";
import type { ProvisionedEnvironment } from "../../../lib/drivers/infra-driver";
import { portIsFree } from "../../../lib/runtime/free-port";
import { processesOfStack } from "../../../scripts/demo/checks";
import { stackCheckpoint } from "../../support/inspect";

export { localDriver, SHOP_ARTIFACT, SHOP_COMMAND, shopRun } from "./shop";

export function backendDirOf(pulumi: PulumiSettings): string {
  const dir = fileBackendDir(pulumi);
  if (!dir) throw new Error(`${pulumi.backendUrl} is not a file backend`);
  return dir;
}

/** The demo's /proc scan: live processes carrying SHIPSHAPE_INSTANCE_KEY=<stackName>/... */
export { processesOfStack };

export const checkpoint = (pulumi: PulumiSettings, stackName: string) =>
  stackCheckpoint(pulumi, LOCAL_PROJECT, stackName);

export function dynamicResources(pulumi: PulumiSettings, stackName: string): number {
  return (
    checkpoint(pulumi, stackName)?.resources.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource")
      .length ?? 0
  );
}

/** Nothing of the stack is left: no process, port, stack, lock or pidfile. */
export async function expectNothingLeft(stackName: string, stateDir: string, ports: number[]): Promise<void> {
  expect(processesOfStack(stackName)).toEqual([]);
  for (const p of ports) expect(await portIsFree(p), `port ${p} free`).toBe(true);
  const pulumi = devPulumiSettings(stateDir);
  expect(await stackExists(pulumi, LOCAL_PROJECT, stackName)).toBe(false);
  expect(listLocks(backendDirOf(pulumi), LOCAL_PROJECT, stackName)).toEqual([]);
  expect(fs.existsSync(localStackPaths(stateDir, stackName).runDir)).toBe(false);
}

export function portsOf(env: ProvisionedEnvironment): number[] {
  return env.instances.map((i) => Number(new URL(i.url).port));
}

export async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  backend: string | null;
  version: string | null;
  instance: string | null;
  body: string;
}> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  return {
    status: res.status,
    backend: res.headers.get("x-shipshape-backend"),
    version: res.headers.get("x-shop-version"),
    instance: res.headers.get("x-shop-instance"),
    body,
  };
}

/** A z-test bound for a binomial share: |observed - p| ≤ z·sqrt(p(1-p)/n) (+1/n slack). */
export function expectShare(hits: number, n: number, p: number, z = 4.5): void {
  const observed = hits / n;
  const tol = z * Math.sqrt((p * (1 - p)) / n) + 1 / n;
  expect(
    Math.abs(observed - p),
    `share ${hits}/${n}=${observed.toFixed(4)} vs ${p} (±${tol.toFixed(4)})`,
  ).toBeLessThanOrEqual(tol);
}
