import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";
import { PROJECT_ROOT } from "../../../lib/runtime/paths";

/**
 * `npm test` already ran setup (pretest), so a second run here must find
 * everything cached: nothing installed, nothing built.
 */
it("npm run setup is idempotent: a second run installs and builds nothing", () => {
  const r = spawnSync(path.join(PROJECT_ROOT, "node_modules", ".bin", "tsx"), ["scripts/setup.ts"], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/✓ Temporal CLI/);
  expect(r.stdout).toMatch(/✓ Pulumi CLI/);
  expect(r.stdout).toMatch(/✓ PostgreSQL/);
  expect(r.stdout).not.toMatch(/installed now|built now|pip install|go build|apt-get/);
});
