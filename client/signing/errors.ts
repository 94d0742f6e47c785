/** Anything that stops a signature from being made: no key, an unreadable key, an agent that refuses. Says how to fix it. */
export class SigningError extends Error {
  override name = "SigningError";
}
