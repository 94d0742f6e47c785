// Why a TLS connection to Temporal failed, in words a person can act on. The
// gRPC client only reports "failed to connect before the deadline"; a plain
// TLS handshake with the same settings names the cause (an untrusted
// certificate, a name mismatch, a server that does not speak TLS).

import tls from "node:tls";

export interface TlsSettings {
  serverNameOverride?: string;
  serverRootCACertificate?: Uint8Array;
}

const UNTRUSTED = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
]);

/** A sentence for what went wrong, or undefined when the handshake itself works. */
export function diagnoseTls(
  address: string,
  settings: TlsSettings,
  timeoutMs = 3000,
): Promise<string | undefined> {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(at + 1));
  const servername = settings.serverNameOverride ?? (/^[\d.:]+$/.test(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ALPNProtocols: ["h2"],
      ...(servername ? { servername } : {}),
      ...(settings.serverRootCACertificate ? { ca: Buffer.from(settings.serverRootCACertificate) } : {}),
    });
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once("secureConnect", () => done(undefined));
    socket.once("error", (e: NodeJS.ErrnoException) => {
      const code = e.code ?? "";
      if (UNTRUSTED.has(code))
        done(
          `the server's certificate is not trusted (${code}) — set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it`,
        );
      else if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
        done(
          `the certificate is not for ${host} (${e.message}) — set TEMPORAL_TLS_SERVER_NAME to the name it is for`,
        );
      else if (/wrong version number|packet length too long/i.test(e.message))
        done(
          "the server does not speak TLS there — unset TEMPORAL_TLS / TEMPORAL_API_KEY or fix the address",
        );
      else done(undefined);
    });
  });
}
