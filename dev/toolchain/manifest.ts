import fs from "node:fs";
import path from "node:path";
import { toolchainManifestPath } from "../../lib/runtime/paths";
import type { ToolchainManifest } from "../../lib/runtime/toolchain-manifest";

/** Records what setup resolved, atomically: a reader never sees a half-written manifest. */
export function writeManifest(manifest: ToolchainManifest): void {
  const file = toolchainManifestPath();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
