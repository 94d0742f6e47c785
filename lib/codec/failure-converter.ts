// Loaded by path (DataConverter.failureConverterPath) on clients, in workers and
// inside the workflow bundle. Failure messages and stack traces go into the
// encoded attributes, so the payload codec encrypts them like every other
// payload instead of leaving them readable in history.
import { DefaultFailureConverter } from "@temporalio/common";

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
