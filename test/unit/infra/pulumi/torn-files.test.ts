import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { removeTornSidecars } from "../../../../infra/pulumi/torn-files";

describe("removeTornSidecars", () => {
  it("removes only the stack's empty or cut-short .attrs files, never a checkpoint or another stack's files", () => {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "torn-"));
    const stacks = path.join(backend, ".pulumi", "stacks", "proj");
    const history = path.join(backend, ".pulumi", "history", "proj", "s1");
    fs.mkdirSync(stacks, { recursive: true });
    fs.mkdirSync(history, { recursive: true });
    const write = (file: string, text: string) => fs.writeFileSync(file, text);
    write(path.join(stacks, "s1.json"), "");
    write(path.join(stacks, "s1.json.attrs"), ""); // torn: empty
    write(path.join(stacks, "s1.json.bak.attrs"), '{"user.content_type":"application/json"}'); // fine
    write(path.join(history, "s1-1.history.json.attrs"), '{"user.content'); // torn: cut short
    write(path.join(stacks, "s10.json.attrs"), ""); // another stack (shares the prefix "s1")
    const removed = removeTornSidecars(backend, "proj", "s1").map((f) => path.relative(backend, f));
    expect(removed.sort()).toEqual(
      [".pulumi/history/proj/s1/s1-1.history.json.attrs", ".pulumi/stacks/proj/s1.json.attrs"].sort(),
    );
    expect(fs.existsSync(path.join(stacks, "s1.json"))).toBe(true);
    expect(fs.existsSync(path.join(stacks, "s1.json.bak.attrs"))).toBe(true);
    expect(fs.existsSync(path.join(stacks, "s10.json.attrs"))).toBe(true);
    fs.rmSync(backend, { recursive: true, force: true });
  });
});
