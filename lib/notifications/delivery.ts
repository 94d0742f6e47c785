/**
 * The deliverNotification activity's input (workflow → worker boundary): the
 * sink as the config has it (secrets still `${env:NAME}`), which sink it is,
 * and the payload. Pure zod.
 */
import { z } from "zod";
import { ActivityKey } from "../deployment/types";
import { NotificationSchema } from "./payload";

/** Error type of a delivery that can never succeed (a 4xx answer, a missing secret): not retried. */
export const NOTIFICATION_REFUSED = "NotificationRefused";

const timeout = z.number().int().positive().max(60_000);

export const DeliverySinkSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("log") }),
  z.object({ type: z.literal("webhook"), url: z.string(), secret: z.string().optional(), timeout }),
  z.object({ type: z.literal("slack"), url: z.string(), timeout }),
  z.object({ type: z.literal("command"), command: z.string().min(1), timeout }),
]);
export type DeliverySink = z.infer<typeof DeliverySinkSchema>;

export const DeliveryInputSchema = z.object({
  key: ActivityKey,
  /** -1: the worker log; else the index in the environment's `notifications`. */
  sinkIndex: z.number().int().min(-1),
  sink: DeliverySinkSchema,
  payload: NotificationSchema,
});
export type DeliveryInput = z.input<typeof DeliveryInputSchema>;
