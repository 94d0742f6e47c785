import { defineConfig } from "vitest/config";

// Temporal's native core-bridge misbehaves inside worker threads, so every test
// file runs in a forked child process (pool: "forks").
//
// Three projects so a developer can run the fast part alone:
//   unit        pure modules, no servers            (vitest run --project unit)
//   workflow    workflow logic on the time-skipping test server, fake drivers
//   integration real Temporal dev server, Pulumi CLI and PostgreSQL, started
//               once per run by test/support/integration-setup.ts
//   security    signed decisions (real keys, ssh-keygen, ssh-agent, the
//               workflow on the time-skipping server, the CLI) and the
//               refusals (secrets in history, check commands, path
//               traversal, oversized input); files start what they need
//   e2e         slow scenarios, run by `npm run test:e2e` after `npm test`:
//               the crash points on the real local target (one embedded
//               stack per file, its own Temporal server so it can restart
//               it) and the day- and week-long bakes on the time-skipping
//               server (thousands of analysis intervals each)
const shared = {
  pool: "forks" as const,
  testTimeout: 120_000,
  hookTimeout: 240_000,
};

export default defineConfig({
  test: {
    reporters: ["default"],
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { test: { ...shared, name: "workflow", include: ["test/workflow/**/*.test.ts"] } },
      { test: { ...shared, name: "security", include: ["test/security/**/*.test.ts"] } },
      {
        test: {
          ...shared,
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/integration-setup.ts"],
        },
      },
      { test: { ...shared, name: "e2e", include: ["test/e2e/**/*.test.ts"] } },
    ],
  },
});
