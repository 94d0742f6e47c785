import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSigningPolicyActivities } from "../../../activities/signing-policy";
import { ensureLocalSigning } from "../../../dev/signing";
import { loadReleaseConfig } from "../../../lib/config";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";
import { openPolicyDirectory } from "../../../lib/signing/policy-dir";
import { approvalsPolicy, sha256Hex } from "../../../lib/signing/statements";

function tempDirInRepository(): string {
  const parent = path.join(PROJECT_ROOT, ".shipshape", "tmp");
  fs.mkdirSync(parent, { recursive: true });
  return fs.mkdtempSync(path.join(parent, "local-signing-"));
}

describe("local signing for npm run dev and the demo", () => {
  it("keys per approver, a config naming their signers, and a policy the worker accepts for it", async () => {
    // Inside the repository: the signed copy names the example's migrations folder.
    const dir = tempDirInRepository();
    try {
      const config = path.join(PROJECT_ROOT, "examples", "shop", "shipshape.demo.yaml");
      const signing = await ensureLocalSigning(dir, config, "demo");
      expect(Object.keys(signing.keys)).toEqual(["alice", "bob"]);
      const loaded = await loadReleaseConfig(signing.configPath);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
      const approvals = loaded.config.environments.demo?.approvals;
      expect(approvals?.signers).toBe(signing.signersFile);
      // What preflight checks: the start's signers and approvals digests against the pinned ones.
      const confirm = createSigningPolicyActivities({
        signingPolicy: openPolicyDirectory(signing.policyDir),
      });
      await expect(
        confirm.confirmSigningPolicy({
          service: "shop",
          environment: "demo",
          signersDigest: sha256Hex(fs.readFileSync(signing.signersFile, "utf8")),
          approvalsDigest: approvals ? sha256Hex(approvalsPolicy(approvals)) : null,
        }),
      ).resolves.toEqual({
        pinned: true,
        source: path.join(signing.policyDir, "shop", "demo", "allowed_signers"),
      });
      // A second run keeps the keys.
      const before = fs.readFileSync(signing.keys.alice as string, "utf8");
      await ensureLocalSigning(dir, config, "demo");
      expect(fs.readFileSync(signing.keys.alice as string, "utf8")).toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a folder outside the config's repository, where the signed copy could not name its files", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-signing-"));
    try {
      const config = path.join(PROJECT_ROOT, "examples", "shop", "shipshape.demo.yaml");
      await expect(ensureLocalSigning(dir, config, "demo")).rejects.toThrow(/outside .* the repository of/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
