/**
 * The platform stack of one service+environment on AWS: the weighted listener
 * rule whose forward action lists the blue and green target groups.
 *
 * Pulumi creates the rule (conditions from `aws.rule`, priority, the first
 * blue/green target groups and weights) and the router's table tags that
 * describe it; from then on the ALB traffic router (alb-traffic-router.ts)
 * shifts weights and swaps target groups with ModifyRule many times per
 * deployment, so the program ignores later changes of the forward action and
 * of those tags instead of fighting the router on the next `pulumi up`.
 * Conditions, priority and the other tags stay Pulumi's.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TAG_SIDE, TAG_VERSION, TAG_WEIGHTS } from "../alb-traffic-router";
import { platformStackName } from "../names";
import { splitToWeights } from "../weights";
import type { AwsTarget } from "./version-environment";

export interface PlatformBackend {
  version: string;
  targetGroupArn: pulumi.Input<string>;
}

export interface PlatformArgs {
  service: string;
  environment: string;
  aws: AwsTarget;
  blue: PlatformBackend;
  green?: PlatformBackend;
  /** Percent of traffic on green (0–100). Default 0. */
  greenPercent?: number;
}

/** Property paths the program leaves to the router after creation. */
export const ROUTER_OWNED = [
  "actions",
  `tags["${TAG_VERSION}"]`,
  `tags["${TAG_WEIGHTS}"]`,
  `tags["${TAG_SIDE.blue}"]`,
  `tags["${TAG_SIDE.green}"]`,
  `tagsAll["${TAG_VERSION}"]`,
  `tagsAll["${TAG_WEIGHTS}"]`,
  `tagsAll["${TAG_SIDE.blue}"]`,
  `tagsAll["${TAG_SIDE.green}"]`,
];

export class ServicePlatform extends pulumi.ComponentResource {
  readonly rule: aws.lb.ListenerRule;
  readonly outputs: { listenerArn: pulumi.Output<string>; ruleArn: pulumi.Output<string> };

  constructor(name: string, args: PlatformArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("shipshape:aws:ServicePlatform", name, {}, opts);
    const a = args.aws;
    if (!a.rule) {
      throw new Error(
        `${args.service}/${args.environment}: aws.rule (priority and hosts/paths) is needed for a platform stack; ` +
          "without it the router shifts the listener's default action and no platform stack is needed",
      );
    }
    const greenPercent = args.green ? (args.greenPercent ?? 0) : 0;
    const weights = splitToWeights({ blue: 100 - greenPercent, green: greenPercent });
    const groups: aws.types.input.lb.ListenerRuleActionForwardTargetGroup[] = [
      { arn: args.blue.targetGroupArn, weight: weights.blue },
    ];
    if (args.green) groups.push({ arn: args.green.targetGroupArn, weight: weights.green });

    const conditions: aws.types.input.lb.ListenerRuleCondition[] = [];
    if (a.rule.hosts?.length) conditions.push({ hostHeader: { values: a.rule.hosts } });
    if (a.rule.paths?.length) conditions.push({ pathPattern: { values: a.rule.paths } });

    const side = (b: PlatformBackend | undefined) =>
      b ? pulumi.interpolate`${b.version} ${b.targetGroupArn}` : pulumi.output("");
    this.rule = new aws.lb.ListenerRule(
      "weighted-rule",
      {
        listenerArn: a.listenerArn,
        priority: a.rule.priority,
        conditions,
        actions: [
          {
            type: "forward",
            forward: { targetGroups: groups, stickiness: { enabled: false, duration: 1 } },
          },
        ],
        tags: {
          ...a.tags,
          "shipshape:service": args.service,
          "shipshape:environment": args.environment,
          "shipshape:managed-by": "shipshape",
          [TAG_VERSION]: "1",
          [TAG_WEIGHTS]: `${weights.blue}:${args.green ? weights.green : 0}`,
          [TAG_SIDE.blue]: side(args.blue),
          [TAG_SIDE.green]: side(args.green),
        },
      },
      { parent: this, ignoreChanges: ROUTER_OWNED },
    );
    this.outputs = { listenerArn: pulumi.output(a.listenerArn), ruleArn: this.rule.arn };
    this.registerOutputs(this.outputs);
  }
}

/** The Pulumi program of the platform stack (`platformStackName(scope)` of project AWS_PLATFORM_PROJECT). */
export function platformProgram(args: PlatformArgs) {
  return async () => {
    const provider = new aws.Provider("aws", { region: args.aws.region as aws.Region });
    const platform = new ServicePlatform(platformStackName(args), args, { providers: [provider] });
    return platform.outputs;
  };
}
