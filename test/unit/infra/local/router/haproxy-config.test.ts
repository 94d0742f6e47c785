import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  greenBasisPoints,
  haproxyFiles,
  mapFileText,
  overrideMapEntries,
  renderConfig,
  routingMapEntries,
  serverName,
  tokensMapEntries,
} from "../../../../../infra/local/router/haproxy-config";
import { DEFAULT_HEALTH } from "../../../../../infra/local/router/health";
import { emptyTable, type RoutingTable } from "../../../../../infra/local/router/routing-table";
import { requireHaproxy } from "../../../../../lib/runtime/toolchain-manifest";
import { removeDir, tempDir } from "./helpers";

const table = (
  blue: number | null,
  green: number | null,
  extra: Partial<RoutingTable> = {},
): RoutingTable => ({
  ...emptyTable("token-0123456789abcdef"),
  version: 3,
  backends: {
    ...(blue === null ? {} : { blue: { version: "v1", instances: ["http://127.0.0.1:4001"], weight: blue } }),
    ...(green === null
      ? {}
      : {
          green: {
            version: "v2.0+b7",
            instances: ["http://localhost:4002"],
            weight: green,
            healthPath: "/ready",
          },
        }),
  },
  ...extra,
});

describe("the split in HAProxy's routing map", () => {
  it("is green's share in basis points, exact to 0.01% whatever the weights", () => {
    expect(greenBasisPoints(table(90, 10))).toBe(1000);
    expect(greenBasisPoints(table(99.99, 0.01))).toBe(1);
    expect(greenBasisPoints(table(2, 1))).toBe(3333);
    expect(greenBasisPoints(table(100, 0))).toBe(0);
    expect(greenBasisPoints(table(0, 100))).toBe(10_000);
    expect(greenBasisPoints(table(100, null))).toBe(0);
    expect(greenBasisPoints(table(null, 0))).toBe(10_000);
    expect(greenBasisPoints(table(0, 0))).toBe(5000); // nobody weighted: an even split of who is healthy
  });

  it("writes the table version last, so seeing it means the rest is in place", () => {
    expect(routingMapEntries(table(75, 25, { sticky: true }))).toEqual([
      ["green", "2500"],
      ["sticky", "1"],
      ["version", "3"],
    ]);
  });

  it("override targets: backend names and each version label that names exactly one backend", () => {
    expect(overrideMapEntries(table(1, 1))).toEqual([
      ["blue", "blue"],
      ["green", "green"],
      ["v1", "blue"],
      ["v2.0+b7", "green"],
    ]);
    const same = table(1, 1);
    same.backends.green!.version = "v1";
    expect(overrideMapEntries(same)).toEqual([
      ["blue", "blue"],
      ["green", "green"],
    ]);
    expect(tokensMapEntries(table(1, 1))).toEqual([["token-0123456789abcdef", "1"]]);
  });
});

describe("renderConfig", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await removeDir(dir);
  });

  // The real binary checks what we generate: every variant must be a config HAProxy accepts.
  it.each([
    ["two backends, health checks", table(90, 10), true],
    ["blue only, an instance down", table(100, null), true],
    ["empty table, no health checks", emptyTable("token-0123456789abcdef"), false],
  ])("%s: haproxy -c accepts it", async (_name, t, withHealth) => {
    dir = await tempDir();
    const files = haproxyFiles(dir);
    writeFileSync(files.routingMap, mapFileText(routingMapEntries(t)));
    writeFileSync(files.overrideMap, mapFileText(overrideMapEntries(t)));
    writeFileSync(files.tokensMap, mapFileText(tokensMapEntries(t)));
    const text = renderConfig({
      files,
      port: 18080,
      logSinkPort: 18081,
      health: withHealth ? DEFAULT_HEALTH : false,
      proxyTimeoutMs: 30_000,
      drainTimeoutMs: 10_000,
      threads: 1,
      table: t,
      down: new Set(["http://127.0.0.1:4001"]),
    });
    writeFileSync(files.config, text);
    const r = spawnSync(requireHaproxy().path, ["-c", "-f", files.config], { encoding: "utf8" });
    expect(r.stdout + r.stderr).not.toMatch(/ALERT|WARNING/);
    expect(r.status).toBe(0);
    if (t.backends.blue) {
      expect(text).toContain(
        "server 127.0.0.1:4001 127.0.0.1:4001 pool-max-conn -1 pool-purge-delay 5s check",
      );
      expect(text).toMatch(/server 127\.0\.0\.1:4001 .* disabled$/m);
    }
    if (t.backends.green) expect(text).toContain("option httpchk GET /ready");
  });

  it("names servers by host:port", () => {
    expect(serverName("http://127.0.0.1:4001")).toBe("127.0.0.1:4001");
    expect(serverName("http://localhost")).toBe("localhost:80");
    expect(serverName("http://[::1]:9")).toBe("_::1_:9");
  });

  it("puts a socket that would be too long for a unix socket path in the temp folder", () => {
    expect(haproxyFiles("/short").socket).toBe(join("/short", "admin.sock"));
    // 97 bytes is HAProxy's limit: a path of 98 would make it refuse its config.
    const deep = `/${"x".repeat(86)}`;
    expect(`${deep}/admin.sock`).toHaveLength(98);
    expect(haproxyFiles(deep).socket).toMatch(/shipshape-haproxy-[0-9a-f]{16}-admin\.sock$/);
    expect(haproxyFiles(deep).socket.startsWith(tmpdir())).toBe(true);
    expect(haproxyFiles(deep).flushSocket).toMatch(/-flush\.sock$/);
    expect(haproxyFiles(`/${"x".repeat(85)}`).socket).toBe(`/${"x".repeat(85)}/admin.sock`);
  });
});
