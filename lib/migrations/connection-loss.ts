/**
 * Whether an error means the database connection went away (server stopped,
 * restarted, unreachable) rather than that a statement was wrong. Such an
 * error says nothing about the migration: the same command, run again once
 * the server is back, resumes where it stopped (every step is recorded).
 */

/** SQLSTATEs of a lost or refused connection: class 08, and the server shutting down or starting up. */
const LOST_SQLSTATE = /^(08...|57P01|57P02|57P03)$/;
/** Socket errors of a server that is down or went away. */
const LOST_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);
/** What node-postgres says (without a code) when the socket closed under a client. */
const LOST_MESSAGE =
  /Connection terminated|connection error and is not queryable|Connection ended unexpectedly/i;

export function isConnectionLoss(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && (LOST_SQLSTATE.test(code) || LOST_ERRNO.has(code))) return true;
  // `pg` can report a refused connection as an AggregateError (one per address tried).
  if (err instanceof AggregateError && err.errors.some(isConnectionLoss)) return true;
  return LOST_MESSAGE.test(err.message);
}
