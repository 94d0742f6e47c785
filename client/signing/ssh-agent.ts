/**
 * A small ssh-agent client (draft-miller-ssh-agent): list the agent's keys
 * (SSH2_AGENTC_REQUEST_IDENTITIES) and sign with one of them
 * (SSH2_AGENTC_SIGN_REQUEST) over the $SSH_AUTH_SOCK socket. Only ed25519
 * keys are offered, since only they verify inside the workflow.
 */

import net from "node:net";
import { ED25519, type Ed25519PublicKey, publicKeyFromBlob } from "../../lib/signing/sshsig";
import { concatBytes, fromUtf8, sshString, uint32, WireReader } from "../../lib/signing/wire";
import { SigningError } from "./errors";

const FAILURE = 5;
const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;

export class AgentError extends SigningError {
  override name = "AgentError";
}

export interface AgentKey {
  publicKey: Ed25519PublicKey;
  comment: string;
}

/** One request, one answer (a fresh connection each time keeps this stateless). */
function exchange(socket: string, payload: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socket);
    const chunks: Buffer[] = [];
    let received = 0;
    conn.setTimeout(10_000, () =>
      conn.destroy(new AgentError(`ssh-agent at ${socket} did not answer in 10 s`)),
    );
    conn.on("connect", () => conn.write(concatBytes(uint32(payload.length), payload)));
    conn.on("data", (d) => {
      chunks.push(d);
      received += d.length;
      const all = Buffer.concat(chunks);
      if (received >= 4 && received >= 4 + all.readUInt32BE(0)) {
        conn.end();
        resolve(new Uint8Array(all.subarray(4, 4 + all.readUInt32BE(0))));
      }
    });
    conn.on("error", (e) =>
      reject(
        e instanceof AgentError ? e : new AgentError(`cannot talk to ssh-agent at ${socket}: ${e.message}`),
      ),
    );
  });
}

export async function agentKeys(socket: string): Promise<AgentKey[]> {
  const r = new WireReader(await exchange(socket, new Uint8Array([REQUEST_IDENTITIES])));
  const type = r.raw(1, "answer type")[0];
  if (type !== IDENTITIES_ANSWER) throw new AgentError(`ssh-agent refused to list its keys (answer ${type})`);
  const out: AgentKey[] = [];
  for (let n = r.uint32("key count"); n > 0; n--) {
    const blob = r.string("key blob");
    const comment = fromUtf8(r.string("comment"));
    if (fromUtf8(new WireReader(blob).string("key type")) !== ED25519) continue;
    out.push({ publicKey: publicKeyFromBlob(blob), comment });
  }
  return out;
}

/** The raw ed25519 signature of `data` by the agent's key. */
export async function agentSign(
  socket: string,
  key: Ed25519PublicKey,
  data: Uint8Array,
): Promise<Uint8Array> {
  const request = concatBytes(
    new Uint8Array([SIGN_REQUEST]),
    sshString(key.blob),
    sshString(data),
    uint32(0),
  );
  const r = new WireReader(await exchange(socket, request));
  const type = r.raw(1, "answer type")[0];
  if (type === FAILURE)
    throw new AgentError(
      "ssh-agent refused to sign (is the key still loaded? confirm-only keys need a confirmation)",
    );
  if (type !== SIGN_RESPONSE) throw new AgentError(`unexpected answer ${type} from ssh-agent`);
  const sig = new WireReader(r.string("signature"));
  if (sig.text("signature type") !== ED25519)
    throw new AgentError("ssh-agent answered with a non-ed25519 signature");
  return sig.string("signature").slice();
}
