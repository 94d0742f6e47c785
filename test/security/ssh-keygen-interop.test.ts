/**
 * Signatures are plain OpenSSH signatures (`ssh-keygen -Y sign/verify`,
 * namespace "shipshape"), tested both ways, so anyone can check a decision by
 * hand; the CLI signs with --key <file> or with a real ssh-agent.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { type CliContext, EXIT_OK } from "../../cli/context";
import { main } from "../../cli/main";
import { decisionStatement } from "../../lib/signing/statements";
import { statusQuery } from "../../workflows/deployment/messages";
import type { RunContext } from "../support/deployment-harness";
import { perTestServer, team } from "./fixtures";
import { approveWith, signedStarter, withSignedDeployment } from "./support";

const server = perTestServer();
const { root, alice, bob, signers, configPath, policyDir } = team();

/** At the gate of a signed deployment by alice; `body` acts, then the run is ended. */
async function atGate<T>(body: (ctx: RunContext) => Promise<T>): Promise<T> {
  return withSignedDeployment(
    server(),
    policyDir,
    async (ctx) => {
      await ctx.until((s) => s.phase === "awaiting-approval", "gate");
      return body(ctx);
    },
    signedStarter(configPath, alice),
  );
}

async function cli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const ctx: CliContext = {
    stdout: (t) => {
      out += `${t}\n`;
    },
    stderr: (t) => {
      err += `${t}\n`;
    },
    color: false,
    exitCode: EXIT_OK,
  };
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await main(["node", "shipshape", ...args], ctx);
    return { code, out, err };
  } finally {
    process.env = saved;
  }
}

/** `ssh-keygen -Y verify` over a statement and its signature: its exit code and what it printed. */
function sshKeygenVerify(
  identity: string,
  statement: string,
  signature: string,
): { code: number; out: string } {
  const dir = fs.mkdtempSync(path.join(root, "verify-"));
  fs.writeFileSync(path.join(dir, "allowed_signers"), signers);
  fs.writeFileSync(path.join(dir, "statement.sig"), signature);
  const r = spawnSync(
    "ssh-keygen",
    [
      "-Y",
      "verify",
      "-f",
      path.join(dir, "allowed_signers"),
      "-I",
      identity,
      "-n",
      "shipshape",
      "-s",
      path.join(dir, "statement.sig"),
    ],
    { input: statement, encoding: "utf8" },
  );
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe("OpenSSH compatibility", () => {
  it("a signature made by `ssh-keygen -Y sign` is accepted, and recorded with bob's fingerprint", async () => {
    const { answer, decision } = await atGate(async (ctx) => {
      const status = await ctx.handle.query(statusQuery);
      const time = new Date().toISOString();
      const nonce = randomBytes(16).toString("hex");
      const statement = decisionStatement({
        deploymentId: status.deploymentId,
        action: "approve",
        subject: "go-live",
        actor: "bob",
        reason: "signed by hand",
        time,
        nonce,
      });
      const file = path.join(root, `statement-${nonce}`);
      fs.writeFileSync(file, statement);
      execFileSync("ssh-keygen", ["-Y", "sign", "-f", bob.key, "-n", "shipshape", file], { stdio: "pipe" });
      const signature = fs.readFileSync(`${file}.sig`, "utf8");
      const answer = await approveWith(ctx.handle, {
        gate: "go-live",
        by: "bob",
        reason: "signed by hand",
        signed: { deploymentId: status.deploymentId, time, nonce, signature },
      });
      const decision = (await ctx.handle.query(statusQuery)).decisions.find((d) => d.kind === "approve");
      await ctx.handle.terminate("test over");
      return { answer, decision };
    });
    expect(answer).toBe("accepted");
    const bobFingerprint = execFileSync("ssh-keygen", ["-lf", `${bob.key}.pub`], { encoding: "utf8" }).split(
      " ",
    )[1];
    expect(decision?.signed?.fingerprint).toBe(bobFingerprint);
  });

  it("signatures made by the CLI (--key) verify with `ssh-keygen -Y verify`: the approve and the start", async () => {
    const { run, decisions } = await atGate(async (ctx) => {
      const env = { TEMPORAL_ADDRESS: server().env.address, TEMPORAL_NAMESPACE: "default" };
      const run = await cli(
        env,
        "approve",
        ctx.handle.workflowId,
        "--key",
        bob.key,
        "--reason",
        "checked dashboards",
      );
      const decisions = (await ctx.handle.query(statusQuery)).decisions;
      await ctx.handle.terminate("test over");
      return { run, decisions };
    });
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain("gate go-live approved by bob");
    const approve = decisions.find((d) => d.kind === "approve")?.signed;
    const start = decisions.find((d) => d.kind === "start")?.signed;
    if (!approve || !start) throw new Error(`signed decisions missing: ${JSON.stringify(decisions)}`);
    const approveCheck = sshKeygenVerify("bob", approve.statement, approve.signature);
    expect(approveCheck.out).toContain('Good "shipshape" signature for bob');
    expect(approveCheck.code).toBe(0);
    expect(sshKeygenVerify("alice", start.statement, start.signature).code).toBe(0);
    // and ssh-keygen does notice a changed statement, or another identity
    expect(
      sshKeygenVerify("bob", approve.statement.replace("checked", "skipped"), approve.signature).code,
    ).not.toBe(0);
    expect(sshKeygenVerify("alice", approve.statement, approve.signature).code).not.toBe(0);
  });

  it("the CLI signs through a real ssh-agent, and the key tells who is approving", async () => {
    const socket = path.join(root, `agent-${randomBytes(3).toString("hex")}.sock`);
    const agent: ChildProcess = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
    try {
      const deadline = Date.now() + 10_000;
      while (!fs.existsSync(socket)) {
        if (Date.now() > deadline) throw new Error("ssh-agent did not create its socket in 10 s");
        await new Promise((r) => setTimeout(r, 50));
      }
      execFileSync("ssh-add", [bob.key], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "pipe" });
      const { run, decision } = await atGate(async (ctx) => {
        const env = {
          TEMPORAL_ADDRESS: server().env.address,
          TEMPORAL_NAMESPACE: "default",
          SSH_AUTH_SOCK: socket,
        };
        const run = await cli(env, "approve", ctx.handle.workflowId, "--reason", "via agent");
        const decision = (await ctx.handle.query(statusQuery)).decisions.find((d) => d.kind === "approve");
        await ctx.handle.terminate("test over");
        return { run, decision };
      });
      expect(run.code, run.err).toBe(0);
      expect(decision).toMatchObject({ by: "bob", reason: "go-live: via agent" });
      expect(
        sshKeygenVerify("bob", decision?.signed?.statement ?? "", decision?.signed?.signature ?? "").code,
      ).toBe(0);
    } finally {
      agent.kill("SIGTERM");
    }
  });
});
