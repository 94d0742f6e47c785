/**
 * POSTs a JSON body to another system (a notification webhook, a hook),
 * signed with the one scheme in ./signature.ts, with a hard deadline: a
 * receiver that hangs costs at most `timeoutMs`, never a stuck activity.
 */
import { SIGNATURE_HEADER, signBody } from "./signature";

export interface SignedPost {
  url: string;
  /** The exact JSON text sent (signed as is). */
  body: string;
  /** HMAC secret; unsigned when absent (a receiver that does not check). */
  secret?: string;
  timeoutMs: number;
  headers?: Record<string, string>;
  /** Aborts the request early (an activity's cancellation). */
  signal?: AbortSignal;
}

export interface PostAnswer {
  status: number;
  ok: boolean;
  /** The first 4,000 characters of the answer, for messages and logs. */
  text: string;
}

const MAX_ANSWER_CHARS = 4_000;

export async function postSigned(p: SignedPost): Promise<PostAnswer> {
  const deadline = AbortSignal.timeout(p.timeoutMs);
  const signal = p.signal ? AbortSignal.any([deadline, p.signal]) : deadline;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "shipshape",
    ...p.headers,
  };
  if (p.secret) headers[SIGNATURE_HEADER] = signBody(p.secret, p.body);
  try {
    const res = await fetch(p.url, { method: "POST", body: p.body, headers, signal, redirect: "error" });
    const text = (await res.text()).slice(0, MAX_ANSWER_CHARS);
    return { status: res.status, ok: res.ok, text };
  } catch (err) {
    if (deadline.aborted) throw new Error(`${p.url} did not answer within ${p.timeoutMs} ms`);
    throw new Error(`POST ${p.url} failed: ${(err as Error).cause ?? (err as Error).message}`);
  }
}
