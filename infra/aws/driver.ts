/**
 * The `aws` infra target: one Pulumi stack (`<service>-<env>-<version>` of
 * project `shipshape-aws`) per version environment, run with the Automation
 * API on the configured backend (infra/pulumi/workspace.ts). The program is
 * Shipshape's own (program/version-environment.ts) or, "bring your own
 * stack", any Pulumi program that exports the outputs of outputs.ts; the
 * outputs are checked after every `up`.
 *
 * The provisioned environment's single "instance" is its target group ARN:
 * that is what the ALB router weighs (BackendSpec.instances). Values of
 * resolved `${env:…}` references (`spec.secretNames`) are passed as Pulumi
 * secrets, so they are encrypted in the state, and Shipshape's program
 * stores them as SSM SecureString parameters the task reads by reference.
 */

import * as pulumi from "@pulumi/pulumi";
import type { PulumiFn } from "@pulumi/pulumi/automation";
import type { Progress, VersionEnvironmentRef } from "../../lib/drivers/common";
import type { InfraDriver, ProvisionedEnvironment, RunSpec } from "../../lib/drivers/infra-driver";
import { resolvePendingOperations } from "../pulumi/pending-operations";
import type { PulumiSettings } from "../pulumi/settings";
import { openStack, stackExists } from "../pulumi/workspace";
import { AWS_PROJECT, versionStackName } from "./names";
import { checkVersionOutputs } from "./outputs";
import { awsPendingCreateIds, type TargetGroupArnByName, targetGroupLookup } from "./pending-creates";
import { type AwsTarget, versionEnvironmentProgram } from "./program/version-environment";

export interface AwsProgramInput {
  ref: VersionEnvironmentRef;
  run: RunSpec;
  /** run.env and the deploy-time env; deploy-time values are Pulumi secrets. */
  env: Record<string, pulumi.Input<string>>;
  /** Names of `env` that are secrets (resolved `${env:…}`): never a plain container environment variable. */
  secretNames: string[];
  aws: AwsTarget;
  /** The image to run (the deployment's artifact). */
  image: string;
}

export interface AwsInfraDriverOptions {
  /** The environment's `aws` section of the release config. */
  target: (ref: VersionEnvironmentRef) => AwsTarget | Promise<AwsTarget>;
  /** Bring your own stack: a program exporting targetGroupArn and serviceName. Default: Shipshape's program. */
  program?: (input: AwsProgramInput) => PulumiFn;
  /** Pulumi project name of the stacks. Default `shipshape-aws`. */
  project?: string;
  /** The worker's Pulumi backend and secrets (infra/pulumi/settings.ts). */
  pulumi: PulumiSettings;
  /** Target group ARN by name, to import a pending create (default: ELBv2 in the target's region). */
  targetGroupLookup?: (region: string | undefined) => TargetGroupArnByName;
}

export function createAwsInfraDriver(options: AwsInfraDriverOptions): InfraDriver {
  const project = options.project ?? AWS_PROJECT;
  const program =
    options.program ??
    ((input: AwsProgramInput) =>
      versionEnvironmentProgram({
        ...input.ref,
        aws: input.aws,
        healthPath: input.run.healthPath,
        instances: input.run.instances,
        env: input.env,
        secretEnvNames: input.secretNames,
        image: input.image,
      }));

  // A crash mid-update leaves pending creates of fixed-name resources: import them
  // (pending-creates.ts), or the retry fails with "already exists" and they leak.
  const resolvePending = async (
    stack: Parameters<typeof resolvePendingOperations>[0],
    ref: VersionEnvironmentRef,
    progress: Progress,
  ) => {
    // The target (and an ELBv2 client) only when a target group has to be looked up.
    let lookup: TargetGroupArnByName | undefined;
    const byName: TargetGroupArnByName = async (name) => {
      lookup ??= (options.targetGroupLookup ?? targetGroupLookup)((await options.target(ref)).region);
      return lookup(name);
    };
    const p = await resolvePendingOperations(stack, awsPendingCreateIds(byName));
    if (p.imported > 0) progress(`imported ${p.imported} pending create(s) left by an interrupted update`);
    if (p.cleared > 0) progress(`cleared ${p.cleared} pending operation(s) left by an interrupted update`);
    return p;
  };

  return {
    async provisionEnvironment(ref, spec, progress, signal): Promise<ProvisionedEnvironment> {
      const stackName = versionStackName(ref);
      const aws = await options.target(ref);
      // Without the names (an older caller), every value of the resolved env counts as a secret.
      const secretNames = spec.secretNames ?? Object.keys(spec.env);
      const env: Record<string, pulumi.Input<string>> = { ...spec.run.env, ...spec.env };
      for (const k of secretNames) if (k in env) env[k] = pulumi.secret(spec.env[k] ?? "");
      const { stack, clearedLocks } = await openStack(options.pulumi, {
        projectName: project,
        stackName,
        program: program({ ref, run: spec.run, env, secretNames, aws, image: spec.artifact.location }),
      });
      if (clearedLocks.length > 0)
        progress(`cleared ${clearedLocks.length} stale lock(s) left by a killed pulumi`);
      const pending = await resolvePending(stack, ref, progress);
      progress(`pulumi up ${project}/${stackName}`);
      const result = await stack.up({
        color: "never",
        ...(signal ? { signal } : {}),
        onOutput: (line: string) => {
          const t = line.trim();
          if (t) progress(t.slice(0, 500));
        },
      });
      const plain = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
      const outputs = checkVersionOutputs(stackName, plain);
      return {
        stackName,
        instances: [{ url: outputs.targetGroupArn }],
        outputs: Object.fromEntries(
          Object.entries(result.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]),
        ),
        clearedLocks: clearedLocks.length,
        clearedPendingOperations: pending.imported + pending.cleared,
        importedPendingCreates: pending.imported,
      };
    },

    async destroyEnvironment(ref: VersionEnvironmentRef, progress: Progress): Promise<{ existed: boolean }> {
      const stackName = versionStackName(ref);
      if (!(await stackExists(options.pulumi, project, stackName))) return { existed: false };
      const { stack, clearedLocks } = await openStack(options.pulumi, {
        projectName: project,
        stackName,
        program: async () => ({}),
      });
      if (clearedLocks.length > 0) progress(`cleared ${clearedLocks.length} stale lock(s)`);
      await resolvePending(stack, ref, progress);
      progress(`pulumi destroy ${project}/${stackName}`);
      await stack.destroy({ color: "never" });
      await stack.workspace.removeStack(stackName);
      return { existed: true };
    },
  };
}
