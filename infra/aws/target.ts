/**
 * The `aws` target: versions run as ECS Fargate services behind their own
 * target groups (driver.ts, one Pulumi stack per version), traffic shifts on
 * the ALB's weighted rule (alb-traffic-router.ts), verification reaches green
 * through its version rule (header X-Shipshape-Version on the service's
 * URL), and `provider: cloudwatch` (and `provider: router`: the ALB is the
 * router here) reads the target groups' ALB metrics.
 *
 * Credentials, region defaults and endpoints come from the AWS SDK's standard
 * chain in the worker's environment (AWS_PROFILE, AWS_REGION, SSO, task
 * roles, AWS_ENDPOINT_URL…); `aws.region` of the environment wins.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { createCloudWatchProvider, targetsFromRouter } from "../../activities/metrics/cloudwatch-provider";
import { createMetricProviders } from "../../activities/metrics/registry";
import { createHttpVerifyDriver } from "../../activities/verify-http";
import type { AwsTarget } from "../../lib/config/schema";
import type { TargetSpec } from "../../lib/deployment/target-spec";
import { ArtifactError, type ArtifactStore } from "../../lib/drivers/artifact-store";
import type { InfraDriver } from "../../lib/drivers/infra-driver";
import type { Target } from "../../lib/drivers/target";
import type { TargetContext } from "../target-context";
import { type AlbRouteTarget, createAlbTrafficRouter } from "./alb-traffic-router";
import { createAwsInfraDriver } from "./driver";
import { resolveImage, VERSION_HEADER } from "./program/version-environment";

type Spec = Extract<TargetSpec, { kind: "aws" }>;

/** Everything but the infra driver can be replaced in tests; infra is the one override a test worker uses. */
export interface AwsTargetOptions {
  /** An InfraDriver instead of the Pulumi one (a test worker runs the program under Pulumi mocks). */
  infra?: (aws: AwsTarget) => InfraDriver;
}

/**
 * The image of a version: the deployment's artifact, or aws.image with
 * $version. Its digest is the `@sha256:` part of a pinned reference; a tag is
 * recorded as `image:<reference>` (resolving it would need the registry).
 */
export function createImageStore(aws: AwsTarget): ArtifactStore {
  return {
    async stage(ref, artifact) {
      const image = artifact === ref.version ? resolveImage(aws.image, ref.version) : artifact;
      if (!/^[a-z0-9][^\s]*$/i.test(image) || image.includes("://")) {
        throw new ArtifactError(
          "unsupported",
          `artifact ${JSON.stringify(artifact)} is not a container image reference (target: aws runs images, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:v2)`,
        );
      }
      const pinned = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
      return { location: image, digest: pinned ?? `image:${image}` };
    },
    async digestOf() {
      return null;
    },
  };
}

/** Finds the weighted rule of `aws.rule` (by its priority) on the listener, once per scope. */
function ruleResolver(elb: ElasticLoadBalancingV2Client, aws: AwsTarget) {
  let found: Promise<AlbRouteTarget> | undefined;
  const lookup = async (): Promise<AlbRouteTarget> => {
    if (!aws.rule) return { listenerArn: aws.listenerArn };
    const rules: Rule[] = [];
    let marker: string | undefined;
    do {
      const page = await elb.send(new DescribeRulesCommand({ ListenerArn: aws.listenerArn, Marker: marker }));
      rules.push(...(page.Rules ?? []));
      marker = page.NextMarker;
    } while (marker);
    const rule = rules.find((r) => r.Priority === String(aws.rule?.priority));
    if (!rule?.RuleArn) {
      throw new Error(
        `listener ${aws.listenerArn} has no rule with priority ${aws.rule.priority} (aws.rule): create the ` +
          "service's weighted rule first (the platform stack, infra/aws/program/platform.ts), or remove aws.rule " +
          "to shift the listener's default action",
      );
    }
    return { listenerArn: aws.listenerArn, ruleArn: rule.RuleArn };
  };
  return () => {
    found ??= lookup().catch((err) => {
      found = undefined;
      throw err;
    });
    return found;
  };
}

/** The URL users hit: aws.url, else the load balancer's DNS name on the listener's protocol and port. */
function endpointOf(elb: ElasticLoadBalancingV2Client, aws: AwsTarget): () => Promise<string> {
  let cached: string | undefined;
  return async () => {
    if (aws.url) return aws.url.replace(/\/$/, "");
    if (cached) return cached;
    const listener = (await elb.send(new DescribeListenersCommand({ ListenerArns: [aws.listenerArn] })))
      .Listeners?.[0];
    if (!listener?.LoadBalancerArn) throw new Error(`listener ${aws.listenerArn} not found`);
    const lb = (
      await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener.LoadBalancerArn] }))
    ).LoadBalancers?.[0];
    const scheme = listener.Protocol === "HTTPS" ? "https" : "http";
    const port = listener.Port;
    const defaultPort = (scheme === "https" && port === 443) || (scheme === "http" && port === 80);
    cached = `${scheme}://${lb?.DNSName}${defaultPort || !port ? "" : `:${port}`}`;
    return cached;
  };
}

export function createAwsTarget(ctx: TargetContext, spec: Spec, options: AwsTargetOptions = {}): Target {
  const aws = spec.aws;
  const elb = new ElasticLoadBalancingV2Client({ region: aws.region });
  const router = createAlbTrafficRouter({
    resolve: ruleResolver(elb, aws),
    client: elb,
    healthTimeoutMs: aws.targetHealthTimeout,
    log: ctx.log,
  });
  const endpoint = endpointOf(elb, aws);
  const cloudwatch = createCloudWatchProvider({
    client: new CloudWatchClient({ region: aws.region }),
    targets: targetsFromRouter(router, () => aws.listenerArn),
  });
  return {
    kind: "aws",
    infra: options.infra?.(aws) ?? createAwsInfraDriver({ target: () => aws, pulumi: ctx.pulumi }),
    router,
    verifier: createHttpVerifyDriver(),
    metrics: createMetricProviders({
      cloudwatch,
      ...(ctx.prometheusUrl ? { prometheus: { url: ctx.prometheusUrl } } : {}),
      httpJson: {},
      // On AWS the router is the load balancer: `provider: router` reads its own stats, the
      // same queries (error_rate, latency_pNN_ms, request_count), from CloudWatch — so one
      // release config judges green alike on the local target and on AWS.
      extra: { router: cloudwatch },
    }),
    artifacts: createImageStore(aws),
    // Green is reached through the load balancer: its version rule matches the version header.
    greenAddress: async (ref) => ({ urls: [await endpoint()], headers: { [VERSION_HEADER]: ref.version } }),
    endpoint: () => endpoint(),
  };
}
