/**
 * `npm run setup -- --for <profile>` installs what the command needs: the
 * demo's profile resolves no test-only engine (time-skipping test server,
 * moto), and a later `test` profile adds them without losing what was there
 * (including entries another checkout's engines wrote). Real binaries, named
 * through the SHIPSHAPE_* overrides so nothing is downloaded, into an empty
 * cache folder.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runSetup, SETUP_PROFILES } from "../../../../dev/toolchain/setup";
import { readManifest } from "../../../../lib/runtime/toolchain-manifest";

const saved = { ...process.env };
let cache = "";

beforeAll(() => {
  const m = readManifest(); // the machine's, from `npm run setup`
  if (!m.temporalTestServer || !m.moto)
    throw new Error("run `npm run setup` first: the test profile's engines are needed");
  cache = fs.mkdtempSync(path.join(os.tmpdir(), "setup-profiles-"));
  Object.assign(process.env, {
    SHIPSHAPE_CACHE_DIR: cache,
    SHIPSHAPE_TEMPORAL_CLI: m.temporal.path,
    SHIPSHAPE_TEMPORAL_TEST_SERVER: m.temporalTestServer.path,
    SHIPSHAPE_PULUMI_CLI: m.pulumi.path,
    SHIPSHAPE_PG_BINDIR: m.postgres.bindir,
    SHIPSHAPE_MOTO_SERVER: m.moto.path,
  });
  vi.spyOn(console, "log").mockImplementation(() => {});
});

afterAll(() => {
  process.env = saved;
  vi.restoreAllMocks();
  if (cache) fs.rmSync(cache, { recursive: true, force: true });
});

const manifest = () => JSON.parse(fs.readFileSync(path.join(cache, "toolchain.json"), "utf8"));

describe("setup profiles", () => {
  it("demo: the engines the demo runs, and nothing only the tests use", async () => {
    expect(await runSetup("demo")).toBe(0);
    expect(Object.keys(manifest()).sort()).toEqual([
      "haproxy",
      "postgres",
      "prometheus",
      "pulumi",
      "temporal",
    ]);
  });

  it("test: adds the test-only engines and keeps what other checkouts recorded", async () => {
    const m = manifest();
    m.envoy = { path: "/bin/sh", version: "1.30", source: "another checkout" };
    fs.writeFileSync(path.join(cache, "toolchain.json"), JSON.stringify(m));
    expect(await runSetup("test")).toBe(0);
    expect(Object.keys(manifest()).sort()).toEqual([
      "chromium",
      "envoy",
      "haproxy",
      "moto",
      "nginx",
      "openssl",
      "postgres",
      "prometheus",
      "pulumi",
      "temporal",
      "temporalTestServer",
    ]);
  });

  it("an unknown profile is a usage error naming the known ones", async () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await runSetup("demos")).toBe(2);
    expect(err.mock.calls[0]?.[0]).toMatch(/unknown profile "demos"; known: demo, dev, chaos, test, all/);
    expect(SETUP_PROFILES.demo).not.toContain("moto");
  });
});
