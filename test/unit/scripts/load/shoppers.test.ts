/**
 * The demo's determinism rests on how often shoppers check out (the path of
 * v3's defect) and search: this drives the real load generator against an
 * in-process stand-in of the shop's API on loopback and counts what it sent.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../../../lib/random/seeded";
import { generateLoad, SHOPPER } from "../../../../scripts/load/generate-load";

const CATALOGUE = [
  { id: 1, name: "Espresso beans 1kg" },
  { id: 2, name: "Filter papers" },
  { id: 3, name: "Hand grinder" },
  { id: 4, name: "Milk jug" },
];
const searches: string[] = [];
let server: http.Server;
let url = "";

function answer(req: http.IncomingMessage, res: http.ServerResponse): http.ServerResponse {
  const u = new URL(req.url ?? "/", "http://shop");
  const json = (status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  req.resume();
  if (u.pathname === "/api/products") return json(200, { items: CATALOGUE });
  if (u.pathname === "/api/search") {
    const q = (u.searchParams.get("q") ?? "").toLowerCase();
    searches.push(q);
    return json(200, { items: CATALOGUE.filter((p) => p.name.toLowerCase().includes(q)) });
  }
  if (req.method === "POST" && u.pathname === "/api/checkout") return json(201, { orderId: 1 });
  if (req.method === "POST") return json(201, {});
  return json(200, {});
}

beforeAll(async () => {
  server = http.createServer(answer);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("shoppers", () => {
  it("browse, search, add to cart and check out in the proportions the demo's figures use", async () => {
    const report = await generateLoad({
      url,
      durationMs: 60_000,
      maxRequests: 4000,
      concurrency: 8,
      random: seededRandom(21),
    });
    const share = (kind: string) => (report.byKind[kind] ?? 0) / report.requests;
    expect(report.requests).toBe(4000);
    expect(report.errors).toBe(0);
    // per session: browse 1, search 1, product 0.3, add 0.9, cart 0.18, checkout 0.765 → 4.145 requests
    expect(share("checkout")).toBeGreaterThan(0.16);
    expect(share("checkout")).toBeLessThan(0.21);
    expect(share("add-to-cart")).toBeGreaterThan(0.2);
    expect(share("search")).toBeGreaterThan(0.22);
    expect(share("browse")).toBeCloseTo(share("search"), 2);
    expect(report.checkouts).toBe(report.byKind.checkout);
    // searches for what the shop does not sell: SHOPPER.unknownTerm of them
    const misses = searches.filter((q) => !CATALOGUE.some((p) => p.name.toLowerCase().includes(q))).length;
    expect(misses / searches.length).toBeGreaterThan(SHOPPER.unknownTerm / 2);
    expect(misses / searches.length).toBeLessThan(SHOPPER.unknownTerm * 1.6);
  });
});
