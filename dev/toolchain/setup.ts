/**
 * Idempotent toolchain check/installation (`npm run setup`).
 *
 * Prints what it found or installed and records resolved paths in the user-level
 * toolchain manifest (lib/runtime/paths.ts says where). Returns non-zero after
 * naming the missing piece and how to install it by hand; never falls back to a fake.
 */
import { toolchainManifestPath } from "../../lib/runtime/paths";
import { resolveHaproxy, resolveNginx } from "./haproxy";
import { writeManifest } from "./manifest";
import { resolveMoto } from "./moto";
import { resolveOpenSsh } from "./openssh";
import { resolvePostgres } from "./postgres";
import { resolvePrometheus } from "./prometheus";
import { resolvePulumi } from "./pulumi";
import { ToolchainError } from "./run";
import { resolveTemporal } from "./temporal";

/** Resolves every engine and writes the manifest; the exit code (0 ok, 1 missing engine). */
export function runSetup(): number {
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
    const openssh = resolveOpenSsh(log);
    console.log(`  ✓ OpenSSH ${openssh.version} (ssh-keygen, ssh-agent, ssh-add) — ${openssh.path}`);
    const haproxy = resolveHaproxy(log);
    console.log(`  ✓ HAProxy ${haproxy.version} — ${haproxy.path} [${haproxy.source}]`);
    const nginx = resolveNginx(log);
    console.log(`  ✓ nginx ${nginx.version} (benchmark reference) — ${nginx.path} [${nginx.source}]`);
    const moto = resolveMoto(log);
    console.log(`  ✓ moto (AWS API emulator) ${moto.version} — ${moto.path} [${moto.source}]`);
    writeManifest({
      temporal: temporal.cli,
      temporalTestServer: temporal.testServer,
      pulumi,
      postgres,
      prometheus,
      moto,
      haproxy,
      nginx,
    });
    console.log(`  manifest: ${toolchainManifestPath()}`);
    console.log(`setup done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    if (err instanceof ToolchainError) {
      console.error(`\n✗ setup failed — ${err.message}`);
      return 1;
    }
    throw err;
  }
}
