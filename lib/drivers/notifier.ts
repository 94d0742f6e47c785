/** Deployment notifications (chat, email, stdout). `key` makes a resend a no-op. */
export interface Notifier {
  send(message: {
    key: string;
    deploymentId: string;
    event: string;
    text: string;
  }): Promise<{ sent: boolean }>;
}
