// The published dev passphrase protects nothing: only a dev worker on a local
// file backend falls back to it; everything else needs a passphrase or a
// secrets provider, and the error names what to set.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEV_PASSPHRASE, pulumiSettingsFrom } from "../../../../infra/pulumi/settings";

const stateDir = path.join(os.tmpdir(), "shipshape-settings-test");
const settings = (env: Record<string, string>, dev: boolean, secretsProvider?: string) =>
  pulumiSettingsFrom({ stateDir, env, dev, ...(secretsProvider ? { secretsProvider } : {}) });

describe("Pulumi secrets outside dev", () => {
  it("a dev worker on the local file backend uses the dev passphrase", () => {
    expect(settings({}, true).passphrase).toBe(DEV_PASSPHRASE);
  });

  it("a worker without --dev refuses to start without a passphrase or secrets provider", () => {
    expect(() => settings({}, false)).toThrow(/PULUMI_CONFIG_PASSPHRASE.*--secrets-provider/s);
  });

  it("a shared backend never falls back to the dev passphrase, even in dev", () => {
    for (const url of ["s3://bucket/shipshape", "gs://bucket", "azblob://container"]) {
      expect(() => settings({ PULUMI_BACKEND_URL: url }, true)).toThrow(
        new RegExp(`backend ${url} needs a secrets provider: set PULUMI_CONFIG_PASSPHRASE`),
      );
    }
  });

  it("refuses an empty passphrase outside dev", () => {
    expect(() => settings({ PULUMI_CONFIG_PASSPHRASE: "" }, false)).toThrow(
      /PULUMI_CONFIG_PASSPHRASE is empty/,
    );
  });

  it("takes the passphrase, its file, or a secrets provider", () => {
    expect(settings({ PULUMI_CONFIG_PASSPHRASE: "s3cret" }, false).passphrase).toBe("s3cret");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ss-pp-")), "pp");
    fs.writeFileSync(file, "from-file\n", { mode: 0o600 });
    expect(settings({ PULUMI_CONFIG_PASSPHRASE_FILE: file }, false).passphrase).toBe("from-file");
    const kms = settings({ PULUMI_BACKEND_URL: "s3://b" }, false, "awskms://alias/shipshape");
    expect(kms.secretsProvider).toBe("awskms://alias/shipshape");
    expect(kms.passphrase).toBeUndefined();
    expect(settings({ PULUMI_BACKEND_URL: "https://api.pulumi.com" }, false).passphrase).toBeUndefined();
  });
});
