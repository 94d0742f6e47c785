/**
 * The provider IDs of the AWS target's pending creates (infra/pulumi/
 * pending-operations.ts imports them rather than forgetting them). The
 * version environment's resources with fixed names are the ones a forgotten
 * create turns into "already exists" on the retry:
 *
 *   aws:cloudwatch/logGroup:LogGroup   ID = its name
 *   aws:iam/role:Role                  ID = its name
 *   aws:ecs/service:Service            ID = `<cluster name>/<service name>`
 *   aws:lb/targetGroup:TargetGroup     ID = its ARN, looked up by name (ELBv2 DescribeTargetGroups)
 *
 * Not covered (cleared as before): aws:ec2/securityGroup:SecurityGroup (its
 * ID, sg-…, needs an EC2 lookup by name and VPC; the project carries no EC2
 * client), and resources without a fixed name (task definitions add a
 * revision, role policies and attachments are named by AWS or idempotent).
 * An import whose resource AWS does not have is dropped by the refresh's
 * read, and the next `up` creates it.
 */
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { PendingCreateIds } from "../pulumi/pending-operations";

/** Looks a target group's ARN up by name; undefined when there is none. */
export type TargetGroupArnByName = (name: string) => Promise<string | undefined>;

export function targetGroupLookup(region: string | undefined): TargetGroupArnByName {
  const elb = new ElasticLoadBalancingV2Client(region ? { region } : {});
  return async (name) => {
    try {
      const r = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }));
      return r.TargetGroups?.[0]?.TargetGroupArn;
    } catch (err) {
      if ((err as { name?: string }).name === "TargetGroupNotFoundException") return undefined;
      throw err;
    }
  };
}

/** `arn:aws:ecs:<region>:<account>:cluster/<name>` or a bare name → the name. */
function clusterName(cluster: string): string {
  return cluster.includes(":cluster/") ? cluster.slice(cluster.lastIndexOf("/") + 1) : cluster;
}

export function awsPendingCreateIds(lookupTargetGroup: TargetGroupArnByName): PendingCreateIds {
  return async (r) => {
    const name = typeof r.inputs?.name === "string" ? r.inputs.name : undefined;
    if (!name) return undefined;
    switch (r.type) {
      case "aws:cloudwatch/logGroup:LogGroup":
      case "aws:iam/role:Role":
        return name;
      case "aws:ecs/service:Service": {
        const cluster = r.inputs?.cluster;
        return typeof cluster === "string" && cluster ? `${clusterName(cluster)}/${name}` : undefined;
      }
      case "aws:lb/targetGroup:TargetGroup":
        return lookupTargetGroup(name);
      default:
        return undefined;
    }
  };
}
