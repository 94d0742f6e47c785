/**
 * `npm run setup` — idempotent toolchain check/installation.
 *
 * Prints what it found or installed and records resolved paths in the user-level
 * toolchain manifest (see scripts/toolchain/locations.ts). Exits non-zero naming
 * the missing piece and how to install it by hand; never falls back to a fake.
 */
import { toolchainManifestPath } from "./toolchain/locations";
import { writeManifest } from "./toolchain/manifest";
import { resolveMoto } from "./toolchain/moto";
import { resolvePostgres } from "./toolchain/postgres";
import { resolvePrometheus } from "./toolchain/prometheus";
import { resolvePulumi } from "./toolchain/pulumi";
import { ToolchainError } from "./toolchain/run";
import { resolveTemporal } from "./toolchain/temporal";

function main(): void {
  const started = Date.now();
  const log = (line: string) => console.log(`  · ${line}`);
  try {
    console.log("shipshape setup: checking toolchain");
    const temporal = resolveTemporal(log);
    console.log(`  ✓ Temporal CLI ${temporal.cli.version} — ${temporal.cli.path} [${temporal.cli.source}]`);
    console.log(
      `  ✓ Temporal test server ${temporal.testServer.version} — ${temporal.testServer.path} [${temporal.testServer.source}]`,
    );
    const postgres = resolvePostgres(log);
    console.log(`  ✓ PostgreSQL ${postgres.version} — ${postgres.bindir} [${postgres.source}]`);
    const pulumi = resolvePulumi(log);
    console.log(`  ✓ Pulumi CLI ${pulumi.version} — ${pulumi.path} [${pulumi.source}]`);
    const prometheus = resolvePrometheus(log);
    console.log(`  ✓ Prometheus ${prometheus.version} — ${prometheus.path} [${prometheus.source}]`);
    const moto = resolveMoto(log);
    console.log(`  ✓ moto (AWS API emulator) ${moto.version} — ${moto.path} [${moto.source}]`);
    writeManifest({
      temporal: temporal.cli,
      temporalTestServer: temporal.testServer,
      pulumi,
      postgres,
      prometheus,
      moto,
    });
    console.log(`  manifest: ${toolchainManifestPath()}`);
    console.log(`setup done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    if (err instanceof ToolchainError) {
      console.error(`\n✗ setup failed — ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

main();
