// Errors of the client library that callers tell apart. Kept free of the
// Temporal SDK so the CLI can recognise them without loading it.

/** No Temporal server answered; the message says how to start one or where to point. */
export class TemporalUnreachableError extends Error {
  override name = "TemporalUnreachableError";
}
