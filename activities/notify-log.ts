/**
 * A Notifier that writes one line per event (worker log / stdout). Keyed
 * notifications are sent once per process (a retried activity does not
 * print twice; a new worker may print a line again — at-least-once, which
 * is all a log can promise).
 */
import type { Notifier } from "../lib/drivers/notifier";

export function createLogNotifier(
  write: (line: string) => void = (l) => console.log(l),
  maxKeys = 10_000,
): Notifier {
  const sent = new Set<string>();
  return {
    async send(m) {
      if (sent.has(m.key)) return { sent: false };
      if (sent.size >= maxKeys) sent.clear();
      sent.add(m.key);
      write(`[shipshape] ${m.deploymentId} ${m.event}: ${m.text}`);
      return { sent: true };
    },
  };
}
