import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { prometheusConfig } from "../../../../dev/services/prometheus-server";

describe("generated prometheus.yml", () => {
  it("scrapes every second with the given jobs, targets and labels", () => {
    const text = prometheusConfig(
      [
        {
          job: "shop",
          targets: ["127.0.0.1:3001", "127.0.0.1:3002"],
          labels: { service: "shop", env: 'a "b"' },
        },
        { job: "router", targets: ["127.0.0.1:8081"], metricsPath: "/metrics" },
      ],
      1,
    );
    expect(parse(text)).toEqual({
      global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
      scrape_configs: [
        {
          job_name: "shop",
          static_configs: [
            { targets: ["127.0.0.1:3001", "127.0.0.1:3002"], labels: { service: "shop", env: 'a "b"' } },
          ],
        },
        { job_name: "router", metrics_path: "/metrics", static_configs: [{ targets: ["127.0.0.1:8081"] }] },
      ],
    });
  });

  it("no jobs is a valid, empty scrape list", () => {
    expect(parse(prometheusConfig([], 5))).toEqual({
      global: { scrape_interval: "5s", scrape_timeout: "5s", evaluation_interval: "5s" },
      scrape_configs: [],
    });
  });
});
