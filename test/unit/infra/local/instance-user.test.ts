// Who a root worker's instances run as: never root, never a user that does not exist.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { grantSearchPath, instanceUserFor } from "../../../../infra/local/instance-user";

describe("instanceUserFor", () => {
  it("is the worker's own user (undefined) when the worker is not root", () => {
    expect(instanceUserFor({ SHIPSHAPE_INSTANCE_USER: "nobody" }, 1000)).toBeUndefined();
  });

  it("is nobody by default for a root worker, or SHIPSHAPE_INSTANCE_USER", () => {
    expect(instanceUserFor({}, 0)).toMatchObject({ name: "nobody", uid: 65534 });
    expect(instanceUserFor({ SHIPSHAPE_INSTANCE_USER: "daemon" }, 0)).toMatchObject({ name: "daemon" });
  });

  it("refuses a user that does not exist, and root, naming what to set", () => {
    expect(() => instanceUserFor({ SHIPSHAPE_INSTANCE_USER: "no-such-user-x9" }, 0)).toThrow(
      /SHIPSHAPE_INSTANCE_USER=no-such-user-x9: no such user/,
    );
    expect(() => instanceUserFor({ SHIPSHAPE_INSTANCE_USER: "root" }, 0)).toThrow(/never run as root/);
  });
});

describe("grantSearchPath", () => {
  it("adds o+x from the root down to the target's parent only, never read", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ss-grant-"));
    const deep = path.join(root, "a", "b");
    fs.mkdirSync(deep, { recursive: true, mode: 0o700 });
    fs.chmodSync(path.join(root, "a"), 0o700);
    fs.chmodSync(deep, 0o700);
    grantSearchPath(root, path.join(deep, "app"));
    const mode = (p: string) => fs.statSync(p).mode & 0o777;
    expect([mode(root), mode(path.join(root, "a")), mode(deep)]).toEqual([0o701, 0o701, 0o701]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("leaves folders outside the root alone", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ss-grant-"));
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "ss-other-"));
    grantSearchPath(root, path.join(other, "app"));
    expect(fs.statSync(other).mode & 0o777).toBe(0o700);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(other, { recursive: true, force: true });
  });
});
