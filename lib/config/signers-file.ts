// The signers file an environment names (approvals.signers): every line must
// be a key Shipshape can verify, and every approver must have a key in it —
// otherwise that approver could never sign an approval. Problems point into
// the signers file (file:line) or at the approver in shipshape.yaml.

import fs from "node:fs";
import path from "node:path";
import { parseAllowedSigners } from "../signing/allowed-signers";
import type { Locator } from "./issues";
import { formatPath, type PathSegment, type Problem } from "./problems";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export function checkSignersFiles(
  raw: unknown,
  baseDir: string,
  file: string,
  locate: Pick<Locator, "valueAt">,
): Problem[] {
  if (!isObj(raw) || !isObj(raw.environments)) return [];
  const out: Problem[] = [];
  for (const [name, env] of Object.entries(raw.environments)) {
    const approvals = isObj(env) ? env.approvals : undefined;
    if (!isObj(approvals) || typeof approvals.signers !== "string") continue;
    const signersFile = path.resolve(baseDir, approvals.signers);
    if (!fs.existsSync(signersFile) || !fs.statSync(signersFile).isFile()) continue; // reported by checkFileRef
    const parsed = parseAllowedSigners(fs.readFileSync(signersFile, "utf8"));
    for (const p of parsed.problems) {
      out.push({
        file: signersFile,
        line: p.line,
        column: 1,
        path: "",
        severity: "error",
        code: "signers-line",
        message: p.message,
        expected:
          '"<principals> [options] ssh-ed25519 <base64 key> [comment]", as ssh-keygen -Y verify reads it',
        fix: "generate an ed25519 key (ssh-keygen -t ed25519) and list its public key",
      });
    }
    const listed = new Set(parsed.entries.flatMap((e) => e.principals));
    const approvers = Array.isArray(approvals.approvers) ? approvals.approvers : [];
    approvers.forEach((approver, i) => {
      if (typeof approver !== "string" || listed.has(approver)) return;
      const segments: PathSegment[] = ["environments", name, "approvals", "approvers", i];
      out.push({
        file,
        ...locate.valueAt(segments),
        path: formatPath(segments),
        severity: "error",
        code: "approver-without-key",
        message: `approver ${JSON.stringify(approver)} has no key in the signers file ${approvals.signers}, so could never sign an approval`,
        fix: `add a line "${approver} ssh-ed25519 AAAA…" to ${signersFile}`,
      });
    });
  }
  return out;
}
