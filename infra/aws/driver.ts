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
import type { PulumiSettings } from "../pulumi/settings";
import { clearPendingOperations, openStack, stackExists } from "../pulumi/workspace";
import { AWS_PROJECT, versionStackName } from "./names";
import { checkVersionOutputs } from "./outputs";
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

  return {
    async provisionEnvironment(ref, spec, progress): Promise<ProvisionedEnvironment> {
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
      const clearedPending = await clearPendingOperations(stack);
      if (clearedPending > 0)
        progress(`cleared ${clearedPending} pending operation(s) from an interrupted update`);
      progress(`pulumi up ${project}/${stackName}`);
      const result = await stack.up({
        color: "never",
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
        clearedPendingOperations: clearedPending,
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
      const cleared = await clearPendingOperations(stack);
      if (cleared > 0) progress(`cleared ${cleared} pending operation(s)`);
      progress(`pulumi destroy ${project}/${stackName}`);
      await stack.destroy({ color: "never" });
      await stack.workspace.removeStack(stackName);
      return { existed: true };
    },
  };
}
