import net from "node:net";

// HAProxy's Runtime API (the "stats socket", level admin) over its unix
// socket: one connection per command, as the non-interactive mode wants (the
// command, a newline, HAProxy answers and closes). Commands are sent one at a
// time so each answer is checked on its own; a change of the split is three
// `set map` commands, well under a millisecond each.

export class RuntimeApiError extends Error {
  constructor(
    readonly command: string,
    readonly answer: string,
  ) {
    super(`haproxy runtime API: \`${command}\` failed: ${answer.trim() || "(connection closed)"}`);
    this.name = "RuntimeApiError";
  }
}

/** Answers of commands that succeeded without printing anything useful. */
const SUCCESS = /^(|New server registered\.|Server deleted\.|Done\.)$/;

export class RuntimeApi {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** Sends one command and returns HAProxy's raw answer. */
  send(command: string): Promise<string> {
    if (/[\n;]/.test(command))
      throw new Error(`runtime API command must be one line without ';': ${command}`);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const sock = net.createConnection(this.socketPath);
      sock.setTimeout(this.timeoutMs, () =>
        sock.destroy(new Error(`no answer to \`${command}\` within ${this.timeoutMs} ms`)),
      );
      sock.on("connect", () => sock.end(`${command}\n`));
      sock.on("data", (c: Buffer) => chunks.push(c));
      sock.on("error", reject);
      sock.on("close", (hadError) => {
        if (!hadError) resolve(Buffer.concat(chunks).toString("utf8"));
      });
    });
  }

  /** A command that changes something: anything but HAProxy's success answers is an error. */
  async change(command: string): Promise<void> {
    const answer = await this.send(command);
    if (!SUCCESS.test(answer.trim())) throw new RuntimeApiError(command, answer);
  }

  async showMap(file: string): Promise<Map<string, string>> {
    const answer = await this.send(`show map ${file}`);
    const out = new Map<string, string>();
    for (const line of answer.split("\n")) {
      // "0x55d8c1adef40 green 2500"
      const m = /^0x[0-9a-f]+ (\S+) (.*)$/.exec(line.trim());
      if (m) out.set(m[1]!, m[2]!);
      else if (line.trim() && !line.startsWith("#")) throw new RuntimeApiError(`show map ${file}`, answer);
    }
    return out;
  }

  async showStat(): Promise<StatRow[]> {
    const answer = await this.send("show stat");
    if (!answer.startsWith("# ")) throw new RuntimeApiError("show stat", answer);
    return parseStatCsv(answer);
  }

  /**
   * Replaces a map's whole content atomically: HAProxy builds the new version
   * aside (`prepare map`) and swaps it in at `commit map`, so a request sees
   * either the old map or the new one, never a half-filled one.
   */
  async replaceMap(file: string, entries: Array<[string, string]>): Promise<void> {
    const prepared = await this.send(`prepare map ${file}`);
    const version = /New version created: (\d+)/.exec(prepared)?.[1];
    if (!version) throw new RuntimeApiError(`prepare map ${file}`, prepared);
    for (const [k, v] of entries) await this.change(`add map @${version} ${file} ${k} ${v}`);
    await this.change(`commit map @${version} ${file}`);
  }
}

/** One row of `show stat` (CSV with a `# pxname,svname,…` header), by column name. */
export type StatRow = Record<string, string>;

export function parseStatCsv(csv: string): StatRow[] {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const header = lines[0]?.replace(/^# /, "").split(",") ?? [];
  return lines.slice(1).map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""]).filter(([h]) => h !== ""));
  });
}
