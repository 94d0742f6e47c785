/**
 * The AWS infra driver with a "bring your own stack" program, through the real
 * Pulumi CLI and Automation API on the local file backend. The program
 * registers no AWS resources (the AWS provider plugin cannot be downloaded
 * here); it exports the outputs contract, which the driver checks.
 */
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, inject, it } from "vitest";
import { createAwsInfraDriver } from "../../../infra/aws/driver";
import { devPulumiSettings } from "../../../infra/pulumi/workspace";
import { AwsTargetSchema } from "../../../lib/config/schema";
import type { VersionEnvironmentRef } from "../../../lib/drivers/common";
import type { RunSpec } from "../../../lib/drivers/infra-driver";

const TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-byo-v1/0123456789abcdef";
const target = AwsTargetSchema.parse({
  region: "eu-west-1",
  cluster: "main",
  listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/edge/1/2",
  image: "shop:$version",
});
const run: RunSpec = {
  command: "unused",
  instances: 1,
  healthPath: "/health",
  env: { LOG_LEVEL: "info" },
  startTimeout: 30_000,
};
const pulumiSettings = devPulumiSettings(path.join(inject("testStateDir"), "aws-byo"));
const artifact = (version: string) => ({ location: `shop:${version}`, digest: `image:shop:${version}` });
const ref = (version: string): VersionEnvironmentRef => ({
  deploymentId: `byo-${process.pid}-${version}`,
  service: "shop-byo",
  environment: `it${process.pid}`,
  version,
});

describe("AWS infra driver, bring your own stack", () => {
  it("provisions, checks the outputs, keeps deploy-time env secret, and destroys idempotently", async () => {
    const seen: Array<{ secret: boolean; image: string }> = [];
    const driver = createAwsInfraDriver({
      target: () => target,
      pulumi: pulumiSettings,
      program: (input) => async () => {
        seen.push({
          secret: await pulumi.isSecret(pulumi.output(input.env.DATABASE_URL ?? "")),
          image: input.image,
        });
        return {
          targetGroupArn: TG,
          serviceName: `${input.ref.service}-${input.ref.version}`,
          databaseUrl: pulumi.output(input.env.DATABASE_URL ?? ""),
        };
      },
    });
    const lines: string[] = [];
    const p = await driver.provisionEnvironment(
      ref("v1"),
      { run, env: { DATABASE_URL: "postgres://u:hunter2@db/shop" }, artifact: artifact("v1") },
      (l) => lines.push(l),
    );
    expect(p.stackName).toBe(`shop-byo-it${process.pid}-v1`);
    expect(p.instances).toEqual([{ url: TG }]);
    expect(p.outputs).toMatchObject({
      targetGroupArn: TG,
      serviceName: "shop-byo-v1",
      databaseUrl: "[secret]",
    });
    // The deployment's artifact is the image the program runs.
    expect(seen).toEqual([{ secret: true, image: "shop:v1" }]);
    expect(lines.join("\n")).not.toContain("hunter2");

    expect(await driver.destroyEnvironment(ref("v1"), () => {})).toEqual({ existed: true });
    expect(await driver.destroyEnvironment(ref("v1"), () => {})).toEqual({ existed: false });
  });

  it("fails provisioning with the name of a missing output", async () => {
    const driver = createAwsInfraDriver({
      target: () => target,
      pulumi: pulumiSettings,
      program: () => async () => ({ serviceName: "x" }),
    });
    await expect(
      driver.provisionEnvironment(ref("v2"), { run, env: {}, artifact: artifact("v2") }, () => {}),
    ).rejects.toThrow(/does not export the AWS version-environment outputs: targetGroupArn/);
    expect(await driver.destroyEnvironment(ref("v2"), () => {})).toEqual({ existed: true });
  });
});
