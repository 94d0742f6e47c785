import { resolveDebianBinary } from "./debian-binary";
import type { ResolvedTool } from "./temporal";

/**
 * Resolution: SHIPSHAPE_PROMETHEUS_BIN → `prometheus` on PATH → /usr/bin/prometheus
 * → apt-get install prometheus (Debian). Tests and the dev stack start their
 * own instance on a free loopback port with a generated config
 * (dev/services/prometheus-server.ts).
 */
export function resolvePrometheus(log: (line: string) => void): Promise<ResolvedTool> {
  return resolveDebianBinary(
    {
      tool: "prometheus",
      envVar: "SHIPSHAPE_PROMETHEUS_BIN",
      debianPath: "/usr/bin/prometheus",
      packages: ["prometheus"],
      versionArgs: ["--version"],
      // "prometheus, version 2.42.0+ds (branch: ...)"; stdout (2.x) or stderr (older).
      versionPattern: /version\s+(\S+)/,
      howToFix: "apt-get install prometheus, or set SHIPSHAPE_PROMETHEUS_BIN to a Prometheus 2.x binary",
    },
    log,
  );
}
