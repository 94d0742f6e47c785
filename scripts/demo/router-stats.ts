/**
 * The demo's loopback stats endpoint: the local router's own numbers as
 * `http-json` metrics, for a worker that has no router metric provider of its
 * own (workers/main.ts offers prometheus and http-json). It holds the router's
 * admin token, so the release config does not need it:
 *
 *   GET /router/<query>?backend=$backend&version=$version&window=$window_seconds
 *     → {"value": <number | null>, "requests": <n>}
 *
 * Values come from the same code as the `router` provider (routerValue), and
 * only numbers recorded for the version asked about count (null = no data →
 * inconclusive, never "0 % errors"). The window is one second longer than
 * asked so that consecutive measurements overlap instead of leaving gaps.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { isRouterQuery, routerValue } from "../../activities/metrics/router-provider";
import { RouterClient } from "../../infra/local/router/client";

export interface RouterStatsEndpoint {
  url: string;
  close(): Promise<void>;
}

export async function startRouterStatsEndpoint(
  router: { adminUrl: string; token: string },
  port: number,
): Promise<RouterStatsEndpoint> {
  const client = new RouterClient(router);
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url ?? "/", "http://127.0.0.1");
    const query = u.pathname.replace(/^\/router\//, "");
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (!u.pathname.startsWith("/router/") || !isRouterQuery(query)) {
      return send(404, { error: `unknown query ${query}` });
    }
    try {
      // +1 s: consecutive measurements overlap a little instead of leaving gaps between them
      const asked = Number(u.searchParams.get("window") ?? "10") || 10;
      const window = Math.min(300, Math.max(1, Math.ceil(asked)) + 1);
      const snapshot = await client.stats(window);
      const b = snapshot.backends[u.searchParams.get("backend") ?? ""];
      const version = u.searchParams.get("version");
      const mine = b && b.version === version ? b : undefined;
      send(200, { value: routerValue(query, mine), requests: mine?.requests ?? 0 });
    } catch (err) {
      send(502, { error: err instanceof Error ? err.message : String(err) });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
