/**
 * The outputs contract of AWS stacks. Shipshape's own programs export these;
 * a "bring your own stack" program must export the same (extra outputs are
 * kept but ignored). The infra driver checks them with these schemas after
 * `pulumi up`, so a stack that forgets one fails provisioning with its name.
 */
import { z } from "zod";

const arn = (kind: string) =>
  z
    .string()
    .regex(new RegExp(`^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:${kind}/`), `an ELBv2 ${kind} ARN`);

/** One version environment (per service, environment and version). */
export const VersionEnvironmentOutputsSchema = z.looseObject({
  /** The target group the router weighs (BackendSpec.instances = [targetGroupArn]). */
  targetGroupArn: arn("targetgroup"),
  /** The ECS service (or anything with that name in your own stack), for logs and status. */
  serviceName: z.string().min(1),
  /** Optional: the rule that reaches this version directly (header X-Shipshape-Version: <version>). */
  testRuleArn: arn("listener-rule").optional(),
});

/** The platform stack (per service and environment) that owns the weighted listener rule. */
export const PlatformOutputsSchema = z.looseObject({
  listenerArn: arn("listener"),
  ruleArn: arn("listener-rule"),
});

export type VersionEnvironmentOutputs = z.infer<typeof VersionEnvironmentOutputsSchema>;
export type PlatformOutputs = z.infer<typeof PlatformOutputsSchema>;

/** Plain stack outputs (`{ name: value }`) → checked outputs, or an error naming what is missing. */
export function checkVersionOutputs(
  stack: string,
  outputs: Record<string, unknown>,
): VersionEnvironmentOutputs {
  const r = VersionEnvironmentOutputsSchema.safeParse(outputs);
  if (r.success) return r.data;
  const why = r.error.issues.map((i) => `${i.path.join(".") || "(outputs)"}: ${i.message}`).join("; ");
  throw new Error(`stack ${stack} does not export the AWS version-environment outputs: ${why}`);
}
