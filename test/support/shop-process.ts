import path from "node:path";
import { freePort } from "../../lib/runtime/free-port";
import { PROJECT_ROOT } from "../../lib/runtime/paths";
import { type DetachedProcess, spawnDetached, tailLog } from "../../lib/runtime/process-group";
import { eventually } from "../integration/analysis/helpers";

export interface ShopProcess {
  url: string;
  proc: DetachedProcess;
}

/**
 * The sample shop (examples/shop/server.js) as one process on a free loopback
 * port, creating its tables in `databaseUrl` (SHOP_AUTO_SCHEMA); resolves once
 * /health answers 200. `env` goes over the defaults. Stop it with stopGroup.
 */
export async function startShopProcess(options: {
  version: string;
  databaseUrl: string;
  logDir: string;
  env?: Record<string, string>;
}): Promise<ShopProcess> {
  const { version } = options;
  const port = await freePort();
  const proc = spawnDetached(process.execPath, [path.join(PROJECT_ROOT, "examples/shop/server.js")], {
    logFile: path.join(options.logDir, `shop-${version}.log`),
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: options.databaseUrl,
      SHIPSHAPE_VERSION: version,
      SHOP_AUTO_SCHEMA: "1",
      SHOP_CONFIG: path.join(PROJECT_ROOT, "examples/shop/config/app.json"),
      ...options.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`shop ${version} exited:\n${tailLog(proc.logFile)}`);
      return fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
    `shop ${version} healthy`,
  );
  return { url, proc };
}
