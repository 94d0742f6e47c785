import { readFileSync } from "node:fs";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, portIsFree } from "../../../../lib/runtime/free-port";

const ephemeralLow = Number(
  readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
);

describe("freePort", () => {
  it("picks ports below the kernel's ephemeral range, so an outgoing connection never takes one", async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(10_000);
      expect(p).toBeLessThan(ephemeralLow);
    }
  });

  it("returns a port that can be bound, and portIsFree tells a bound port from a free one", async () => {
    const port = await freePort();
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(port, "127.0.0.1", resolve));
    try {
      expect(await portIsFree(port)).toBe(false);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    expect(await portIsFree(port)).toBe(true);
  });
});
