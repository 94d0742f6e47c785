/**
 * moto (the local AWS API emulator) in server mode on a free loopback port,
 * for the AWS target's integration tests. The binary comes from the toolchain
 * resolver (dev/toolchain/moto.ts: cached in the project's virtualenv;
 * installed from PyPI once when missing, as `npm run setup` would).
 *
 * Credentials are dummies set only in this process's env while moto runs, and
 * restored afterwards; clients must use `endpoint` (never a real AWS endpoint).
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { resolveMoto } from "../../dev/toolchain/moto";

export interface MotoServer {
  endpoint: string;
  region: string;
  /** SDK client config pointing at moto with dummy credentials. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  /** An EC2 Query API call (moto does not check signatures); returns the XML body. */
  ec2(action: string, params?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const DUMMY_ENV = {
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_SESSION_TOKEN: "test",
  AWS_EC2_METADATA_DISABLED: "true",
} as const;

export async function startMoto(region = "eu-west-1"): Promise<MotoServer> {
  const moto = await resolveMoto((line) => console.log(`[moto] ${line}`));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(DUMMY_ENV)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  const child: ChildProcess = spawn(moto.path, ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...DUMMY_ENV },
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`moto_server did not answer on ${endpoint} within 60s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    endpoint,
    region,
    clientConfig: {
      endpoint,
      region,
      credentials: {
        accessKeyId: DUMMY_ENV.AWS_ACCESS_KEY_ID,
        secretAccessKey: DUMMY_ENV.AWS_SECRET_ACCESS_KEY,
      },
      maxAttempts: 1,
    },
    async ec2(action, params = {}) {
      const body = new URLSearchParams({ Action: action, Version: "2016-11-15", ...params });
      const res = await fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `AWS4-HMAC-SHA256 Credential=test/20200101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=x`,
        },
        body,
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`EC2 ${action}: HTTP ${res.status} ${text.slice(0, 500)}`);
      return text;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(t);
      }
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}
