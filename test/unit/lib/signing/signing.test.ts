import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ed25519 } from "@noble/curves/ed25519";
import { describe, expect, it } from "vitest";
import { loadReleaseConfig } from "../../../../lib/config";
import { parseAllowedSigners, signerRefusal } from "../../../../lib/signing/allowed-signers";
import {
  armorSignature,
  publicKeyFromRaw,
  publicKeyLine,
  SHIPSHAPE_NAMESPACE,
  signedData,
  verifySignature,
} from "../../../../lib/signing/sshsig";
import { checkSignature } from "../../../../lib/signing/verify";
import { fromBase64, toBase64, utf8 } from "../../../../lib/signing/wire";

function keyPair(seedByte: number) {
  const seed = new Uint8Array(32).fill(seedByte);
  const publicKey = publicKeyFromRaw(ed25519.getPublicKey(seed));
  const sign = (message: string, namespace = SHIPSHAPE_NAMESPACE) =>
    armorSignature(publicKey, ed25519.sign(signedData(utf8(message), namespace), seed), namespace);
  return { publicKey, line: publicKeyLine(publicKey), sign };
}

describe("wire and SSHSIG", () => {
  it("base64 round-trips every length", () => {
    for (let n = 0; n < 8; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => i * 37);
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
    }
  });

  it("verifies its own signatures and refuses altered text, another namespace and garbage", () => {
    const k = keyPair(1);
    const sig = k.sign("hello");
    expect(verifySignature(sig, "hello", "shipshape").ok).toBe(true);
    expect(verifySignature(sig, "hellO", "shipshape")).toMatchObject({ ok: false, reason: /does not match/ });
    expect(verifySignature(k.sign("hello", "git"), "hello", "shipshape")).toMatchObject({
      ok: false,
      reason: /namespace "git", not "shipshape"/,
    });
    expect(verifySignature("nonsense", "hello", "shipshape")).toMatchObject({
      ok: false,
      reason: /cannot be read/,
    });
  });
});

describe("allowed signers", () => {
  const alice = keyPair(2);
  const bob = keyPair(3);

  it("reads principals, options and comments; reports bad lines by number", () => {
    const text = [
      "# team",
      `alice,al ${alice.line} laptop`,
      `bob namespaces="git,shipshape",valid-after="20200101",valid-before="20300101Z" ${bob.line}`,
      "carol ssh-rsa AAAAB3NzaC1yc2E=",
      `dave cert-authority ${bob.line}`,
    ].join("\n");
    const parsed = parseAllowedSigners(text);
    expect(parsed.entries.map((e) => e.principals)).toEqual([["alice", "al"], ["bob"]]);
    expect(parsed.entries[1]).toMatchObject({
      namespaces: ["git", "shipshape"],
      validAfterMs: Date.UTC(2020, 0, 1),
    });
    expect(parsed.problems).toEqual([
      { line: 4, message: expect.stringMatching(/ssh-rsa is not supported/) },
      { line: 5, message: expect.stringMatching(/cert-authority lines are not supported/) },
    ]);
    const at = Date.UTC(2025, 0, 1);
    expect(signerRefusal(parsed.entries, "al", alice.publicKey, "shipshape", at)).toBeNull();
    expect(signerRefusal(parsed.entries, "bob", alice.publicKey, "shipshape", at)).toMatch(
      /belongs to alice, al/,
    );
    expect(signerRefusal(parsed.entries, "bob", bob.publicKey, "shipshape", Date.UTC(2031, 0, 1))).toMatch(
      /not valid for namespace shipshape at that time/,
    );
  });

  it("checkSignature: stale, future, replayed", () => {
    const entries = parseAllowedSigners(`bob ${bob.line}`).entries;
    const time = "2025-01-01T00:00:00.000Z";
    const t = Date.parse(time);
    const base = {
      statement: "s",
      actor: "bob",
      time,
      nonce: "0123456789abcdef",
      signature: bob.sign("s"),
      signers: entries,
      seenNonce: () => false,
    };
    expect(checkSignature({ ...base, nowMs: t + 60_000 })).toMatchObject({ identity: "bob" });
    expect(checkSignature({ ...base, nowMs: t + 11 * 60_000 })).toMatchObject({ refused: /stale/ });
    expect(checkSignature({ ...base, nowMs: t - 5 * 60_000 })).toMatchObject({ refused: /in the future/ });
    expect(checkSignature({ ...base, nowMs: t, seenNonce: () => true })).toMatchObject({
      refused: /already used/,
    });
  });
});

describe("the config names a signers file", () => {
  it("reports a bad line of it and an approver without a key", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "signers-config-"));
    fs.writeFileSync(path.join(dir, "allowed_signers"), `alice ${keyPair(4).line}\nbob ssh-dss AAAA\n`);
    fs.writeFileSync(
      path.join(dir, "shipshape.yaml"),
      [
        "service: shop",
        "run: { command: node server.js }",
        "environments:",
        "  production:",
        "    target: local",
        "    approvals:",
        "      approvers: [alice, bob]",
        "      signers: ./allowed_signers",
        "release:",
        "  steps: [{ weight: 100 }]",
        "  postPromotion: { watch: 1m, keepPrevious: 1m }",
        "",
      ].join("\n"),
    );
    const loaded = await loadReleaseConfig(path.join(dir, "shipshape.yaml"));
    expect(loaded.ok).toBe(false);
    const problems = loaded.ok ? [] : loaded.problems;
    expect(problems).toContainEqual(
      expect.objectContaining({ file: path.join(dir, "allowed_signers"), line: 2, code: "signers-line" }),
    );
    expect(problems).toContainEqual(
      expect.objectContaining({
        line: 7,
        path: "environments.production.approvals.approvers[1]",
        code: "approver-without-key",
      }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
