/**
 * The Slack incoming-webhook message for a notification (`{ text, blocks }`,
 * which Mattermost, Rocket.Chat and Discord's /slack endpoint accept too): a
 * readable summary, where the deployment stands, the analysis verdict as a
 * table, and the exact `shipshape` commands to approve or abort. `text` is
 * the fallback shown in notifications and by clients without blocks. Pure.
 */
import { formatTable } from "../text-table";
import type { Notification, VerdictRow } from "./payload";

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

const EMOJI: Partial<Record<Notification["event"], string>> = {
  started: ":rocket:",
  "step-reached": ":arrow_forward:",
  "approval-requested": ":raised_hand:",
  approved: ":white_check_mark:",
  rejected: ":no_entry:",
  paused: ":double_vertical_bar:",
  resumed: ":arrow_forward:",
  "rolled-back": ":rewind:",
  "needs-attention": ":rotating_light:",
  promoted: ":tada:",
};

/** Slack's mrkdwn treats &, < and > as markup. */
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const number = (v: number | null) => (v === null ? "–" : String(Number(v.toPrecision(4))));

/** The verdict rows as a fixed-width table (a code block keeps its columns). */
export function verdictTable(rows: readonly VerdictRow[]): string {
  return formatTable(
    [
      { header: "metric" },
      { header: "verdict" },
      { header: "green", align: "right" },
      { header: "blue", align: "right" },
      { header: "threshold" },
    ],
    rows.map((r) => [
      `${r.metric}${r.critical ? " *" : ""}`,
      r.verdict,
      number(r.value),
      number(r.baseline),
      r.threshold,
    ]),
    { rule: true },
  ).join("\n");
}

export function slackMessage(n: Notification): SlackMessage {
  const d = n.deployment;
  const emoji = EMOJI[n.event] ?? ":information_source:";
  const text = `${emoji} ${n.summary}`;
  const blocks: SlackMessage["blocks"] = [
    { type: "section", text: { type: "mrkdwn", text: `${emoji} *${esc(n.summary)}*` } },
    {
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: esc(
            `${d.service}/${d.environment} ${d.version}` +
              `${d.previousVersion ? ` (from ${d.previousVersion})` : ""} · phase ${d.phase}` +
              ` · step ${d.step.index}/${d.step.total} · green ${d.weights.green}% · by ${d.requestedBy}` +
              ` · event #${n.sequence} ${n.event}`,
          ),
        },
      ],
    },
  ];
  const { details } = n;
  const facts: string[] = [];
  if (details.reason) facts.push(`*Reason:* ${esc(details.reason)}`);
  if (details.trippingMetric) facts.push(`*Tripping metric:* ${esc(details.trippingMetric.line)}`);
  if (details.gate)
    facts.push(`*Gate:* ${esc(details.gate)} (approvers: ${esc(details.approvers?.join(", ") || "anyone")})`);
  if (details.compensation)
    facts.push(
      `*Failing:* ${esc(details.compensation)} since ${details.failingSince}: ${esc(details.lastError ?? "")}`,
    );
  if (facts.length > 0) blocks.push({ type: "section", text: { type: "mrkdwn", text: facts.join("\n") } });
  if (details.verdicts && details.verdicts.length > 0) {
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `*Analysis: ${details.decision ?? "verdict"}*${details.verdictLine ? ` — ${esc(details.verdictLine)}` : ""}\n\`\`\`${esc(verdictTable(details.verdicts))}\`\`\``,
      },
    });
  }
  const c = n.commands;
  const commands = [
    c.approve && `Approve: \`${c.approve}\``,
    c.reject && `Reject:  \`${c.reject}\``,
    c.resume && `Resume:  \`${c.resume}\``,
    c.abort && `Abort:   \`${c.abort}\``,
    c.status && `Status:  \`${c.status}\``,
  ].filter((x): x is string => Boolean(x));
  if (commands.length > 0)
    blocks.push({ type: "section", text: { type: "mrkdwn", text: commands.join("\n") } });
  return { text, blocks };
}
