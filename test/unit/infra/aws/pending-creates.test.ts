import { describe, expect, it } from "vitest";
import { awsPendingCreateIds } from "../../../../infra/aws/pending-creates";

// The IDs under which the AWS target imports the pending creates a killed `pulumi up` left
// (infra/pulumi/pending-operations.ts does the import; the local target's integration test
// proves that path end to end, this proves the AWS IDs it is given).
const lookedUp: string[] = [];
const ids = awsPendingCreateIds(async (name) => {
  lookedUp.push(name);
  return name === "shop-prod-v2-3f2a1b"
    ? "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/1"
    : undefined;
});
const urn = (type: string) => `urn:pulumi:s::shipshape-aws::${type}::r`;

describe("awsPendingCreateIds", () => {
  it("fixed-name resources: their name, the ECS service's cluster/name, the target group's ARN by name", async () => {
    expect(
      await ids({
        urn: urn("x"),
        type: "aws:cloudwatch/logGroup:LogGroup",
        inputs: { name: "/shipshape/shop/prod/v2" },
      }),
    ).toBe("/shipshape/shop/prod/v2");
    expect(
      await ids({ urn: urn("x"), type: "aws:iam/role:Role", inputs: { name: "shop-prod-v2-exec" } }),
    ).toBe("shop-prod-v2-exec");
    expect(
      await ids({
        urn: urn("x"),
        type: "aws:ecs/service:Service",
        inputs: { name: "shop-prod-v2", cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/apps" },
      }),
    ).toBe("apps/shop-prod-v2");
    expect(
      await ids({
        urn: urn("x"),
        type: "aws:lb/targetGroup:TargetGroup",
        inputs: { name: "shop-prod-v2-3f2a1b" },
      }),
    ).toBe("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/1");
    expect(lookedUp).toEqual(["shop-prod-v2-3f2a1b"]);
  });

  it("unknown: a target group AWS does not have, a security group, a resource without a name (cleared)", async () => {
    expect(
      await ids({ urn: urn("x"), type: "aws:lb/targetGroup:TargetGroup", inputs: { name: "never-made" } }),
    ).toBeUndefined();
    expect(
      await ids({
        urn: urn("x"),
        type: "aws:ec2/securityGroup:SecurityGroup",
        inputs: { name: "shop-tasks" },
      }),
    ).toBeUndefined();
    expect(
      await ids({ urn: urn("x"), type: "aws:ecs/taskDefinition:TaskDefinition", inputs: {} }),
    ).toBeUndefined();
  });
});
