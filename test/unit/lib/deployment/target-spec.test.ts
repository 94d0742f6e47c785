import { describe, expect, it } from "vitest";
import { ReleaseConfigSchema } from "../../../../lib/config/schema";
import { targetSpecOf } from "../../../../lib/deployment/target-spec";
import { ActivityKey } from "../../../../lib/deployment/types";

const base = {
  service: "notes",
  run: { command: "python3 app.py", healthPath: "/healthz" },
  release: { steps: [{ weight: 100 }] },
};
const aws = {
  region: "eu-west-1",
  cluster: "main",
  listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/edge/1/2",
  image: "notes:$version",
};

describe("an environment's target spec (what every activity key carries)", () => {
  it("local: the listen address and the health path the router probes", () => {
    const config = ReleaseConfigSchema.parse({
      ...base,
      environments: {
        staging: { target: "local", local: { listen: "127.0.0.1:8070" } },
        dev: { target: "local" },
      },
    });
    expect(targetSpecOf(config, "staging")).toEqual({
      kind: "local",
      listen: "127.0.0.1:8070",
      healthPath: "/healthz",
    });
    expect(targetSpecOf(config, "dev")).toEqual({ kind: "local", healthPath: "/healthz" });
  });

  it("aws: the environment's aws section", () => {
    const config = ReleaseConfigSchema.parse({
      ...base,
      environments: { production: { target: "aws", aws: { ...aws, url: "https://notes.example.com" } } },
    });
    const spec = targetSpecOf(config, "production");
    expect(spec.kind).toBe("aws");
    expect(spec.kind === "aws" && spec.aws.url).toBe("https://notes.example.com");
  });

  it("a key from before targets were in it means the local target", () => {
    const key = ActivityKey.parse({
      deploymentId: "d",
      service: "shop",
      environment: "production",
      version: "v2",
    });
    expect(key.target).toEqual({ kind: "local", healthPath: "/health" });
  });

  it("refuses a listen that is not host:port, an aws.url with a path, and a local section on aws", () => {
    const valid = (environments: unknown) => ReleaseConfigSchema.safeParse({ ...base, environments }).success;
    expect(valid({ staging: { target: "local", local: { listen: "8070" } } })).toBe(false);
    expect(valid({ staging: { target: "local", local: { listen: "[::1]:8070" } } })).toBe(true);
    expect(valid({ production: { target: "aws", aws: { ...aws, url: "https://x.example.com/app" } } })).toBe(
      false,
    );
    expect(valid({ production: { target: "aws", aws, local: { listen: "127.0.0.1:1" } } })).toBe(false);
  });
});
