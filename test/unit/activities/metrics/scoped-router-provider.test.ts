import { afterAll, describe, expect, it } from "vitest";
import { createScopedRouterProvider } from "../../../../activities/metrics/scoped-router-provider";
import {
  killAllBackends,
  removeDir,
  startBackend,
  startTestRouter,
  TOKEN,
} from "../../infra/local/router/helpers";

const request = (service: string) => ({
  metric: { name: "error-rate", query: "error_rate" },
  canary: { version: "v2", backend: "green" as const },
  baseline: { version: "v1", backend: "blue" as const },
  windowSeconds: 30,
  service,
  environment: "production",
});

afterAll(killAllBackends);

describe("router provider per service+environment (worker wiring)", () => {
  it("reads the stats of the router that serves the request's service", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green", { status: () => 500 });
    const router = await startTestRouter();
    try {
      await router.update({
        backends: {
          blue: { version: "v1", instances: [blue.url], weight: 50 },
          green: { version: "v2", instances: [green.url], weight: 50 },
        },
      });
      for (const weights of [
        { blue: 100, green: 0 },
        { blue: 0, green: 100 },
      ]) {
        await router.update({ weights });
        for (let i = 0; i < 10; i++) await (await fetch(`${router.url}/`)).arrayBuffer();
      }
      const asked: string[] = [];
      const provider = createScopedRouterProvider((scope) => {
        asked.push(`${scope.service}/${scope.environment}`);
        return { adminUrl: router.adminUrl, token: TOKEN };
      });
      const m = await provider.measure(request("shop"));
      expect(asked).toEqual(["shop/production"]);
      expect(m.canary).toBe(1);
      expect(m.baseline).toBe(0);
      expect(m.requests).toEqual({ canary: 10, baseline: 10 });
    } finally {
      await router.close();
      await removeDir(router.dir);
    }
  });

  it("a service without a router is an error measurement, not an exception", async () => {
    const provider = createScopedRouterProvider(() => {
      throw new Error("no local router for cart/production");
    });
    const m = await provider.measure(request("cart"));
    expect(m.error).toContain("router for cart/production not found");
    expect(m.canary).toBeNull();
  });
});
