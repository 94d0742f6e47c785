import { describe, expect, it } from "vitest";
import { localStackName, routerName, versionSchemaName } from "../../../lib/resource-names";

const STATE = "/var/lib/shipshape";
const stack = (service: string, environment: string, version: string, stateDir = STATE) =>
  localStackName({ service, environment, version }, stateDir);

/** Pulumi stack names: alphanumerics, '-', '_', '.', at most 100 characters. */
const PULUMI_STACK = /^[A-Za-z0-9._-]{1,100}$/;
/** A file name on every file system the state folder may live on (and a router folder name). */
const FILE_NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;
/** An unquoted PostgreSQL identifier that never needs quoting, at most 63 bytes. */
const PG_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

describe("the names that collided before", () => {
  it("shop/prod-eu and shop-prod/eu get different stacks, routers, instance keys and schemas", () => {
    expect(stack("shop", "prod-eu", "v1")).not.toBe(stack("shop-prod", "eu", "v1"));
    expect(routerName({ service: "shop", environment: "prod-eu" })).not.toBe(
      routerName({ service: "shop-prod", environment: "eu" }),
    );
    expect(versionSchemaName({ service: "shop", environment: "prod_eu", migration: "0002_x" })).not.toBe(
      versionSchemaName({ service: "shop_prod", environment: "eu", migration: "0002_x" }),
    );
  });

  it("versions 1.2, 1-2, 1_2 and 1+2 get four stacks", () => {
    const names = ["1.2", "1-2", "1_2", "1+2"].map((v) => stack("shop", "prod", v));
    expect(new Set(names).size).toBe(4);
  });

  it("migrations 0002.x and 0002_x get two schemas", () => {
    const a = versionSchemaName({ service: "shop", environment: "prod", migration: "0002.x" });
    const b = versionSchemaName({ service: "shop", environment: "prod", migration: "0002_x" });
    expect(a).not.toBe(b);
  });

  it("names of 150 characters that share their first 100 are not cut into one", () => {
    const long = "v".repeat(140);
    const a = stack("shop", "prod", `${long}-aaaaaaaaa`);
    const b = stack("shop", "prod", `${long}-bbbbbbbbb`);
    expect(a).not.toBe(b);
    expect(a).toMatch(PULUMI_STACK);
    const sa = versionSchemaName({ service: "shop", environment: "prod", migration: `${long}a` });
    const sb = versionSchemaName({ service: "shop", environment: "prod", migration: `${long}b` });
    expect(sa).not.toBe(sb);
    expect(Buffer.byteLength(sa)).toBeLessThanOrEqual(63);
  });

  it("the same stack in two state folders has two names (instance keys are host-wide)", () => {
    expect(stack("shop", "prod", "v1", "/a/state")).not.toBe(stack("shop", "prod", "v1", "/b/state"));
  });
});

describe("readable and stable", () => {
  it("starts with what it names", () => {
    expect(stack("Shop", "prod", "1.4.0+build/7")).toMatch(/^shop-prod-1-4-0-build-7-[0-9a-f]{16}$/);
    expect(routerName({ service: "shop", environment: "prod" })).toMatch(/^shop-prod-[0-9a-f]{16}$/);
    expect(
      versionSchemaName({ service: "shop", environment: "prod", migration: "0002_Rename price" }),
    ).toMatch(/^shop_prod_0002_rename_price_[0-9a-f]{16}$/);
  });

  it("is the same for the same input (a retry finds what the first attempt made)", () => {
    expect(stack("shop", "prod", "v1")).toBe(stack("shop", "prod", "v1"));
    // Pinned: changing the encoding orphans every stack and schema made by the previous one.
    expect(routerName({ service: "shop", environment: "prod" })).toBe("shop-prod-afbc775c7d65d97c");
  });

  it("names without a single readable character are the hash (or v_ + hash in SQL)", () => {
    expect(routerName({ service: "ß", environment: "漢" })).toMatch(/^[0-9a-f]{16}$/);
    expect(versionSchemaName({ service: "ß", environment: "", migration: "1" })).toMatch(
      /^v_1_[0-9a-f]{16}$/,
    );
  });
});

/** A deterministic generator of awkward inputs: separators, case, unicode, lengths up to 150. */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const alphabet = ["a", "b", "A", "0", "1", "-", "_", ".", "+", "/", " ", "é", "漢", "😀", "--", "__"];
  return (maxLength: number): string => {
    const n = Math.floor(next() * next() * maxLength);
    let out = "";
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(next() * alphabet.length)];
    return out;
  };
}

describe("property: distinct inputs never share an encoding; every output is valid", () => {
  const text = generator(20261202);
  const inputs = new Map<string, [string, string, string, string]>();
  // Many short inputs (where readable forms collide most) and some long ones.
  while (inputs.size < 20_000) {
    const parts: [string, string, string, string] = [
      text(inputs.size % 10 === 0 ? 150 : 6),
      text(6),
      text(inputs.size % 7 === 0 ? 150 : 5),
      inputs.size % 3 === 0 ? "/state/a" : "/state/b",
    ];
    inputs.set(JSON.stringify(parts), parts);
  }

  it("stack names (and so instance keys, run and log folders)", () => {
    const seen = new Map<string, string>();
    for (const [key, [service, environment, version, state]] of inputs) {
      const name = stack(service, environment, version, state);
      expect(name).toMatch(PULUMI_STACK);
      expect(name).toMatch(FILE_NAME);
      expect(seen.get(name) ?? key, name).toBe(key);
      seen.set(name, key);
    }
  });

  it("router names", () => {
    const seen = new Map<string, string>();
    for (const [service, environment] of inputs.values()) {
      const key = JSON.stringify([service, environment]);
      const name = routerName({ service, environment });
      expect(name).toMatch(FILE_NAME);
      expect(seen.get(name) ?? key, name).toBe(key);
      seen.set(name, key);
    }
  });

  it("version schema names", () => {
    const seen = new Map<string, string>();
    for (const [service, environment, migration] of inputs.values()) {
      const key = JSON.stringify([service, environment, migration]);
      const name = versionSchemaName({ service, environment, migration });
      expect(name).toMatch(PG_IDENTIFIER);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
      expect(seen.get(name) ?? key, name).toBe(key);
      seen.set(name, key);
    }
  });
});
