/**
 * What a campaign started, stopped in reverse order at its end — and on
 * Ctrl-C or CI's timeout (SIGINT/SIGTERM) mid-campaign, which then exits 130,
 * so no process, port or stack of the campaign outlives it.
 */
export class CampaignCleanups {
  private readonly steps: Array<() => Promise<unknown>> = [];
  /** A signal arrived: whatever follows a run stops following it. */
  stopping = false;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.stopping = true;
    this.log(`\n${signal}: stopping the campaign's processes…`);
    void (async () => {
      for (const step of this.steps) await step().catch(() => undefined);
      process.exit(130);
    })();
  };

  constructor(private readonly log: (line: string) => void) {
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
  }

  /** Registers a cleanup; the last one registered runs first. */
  add(step: () => Promise<unknown>): void {
    this.steps.unshift(step);
  }

  /**
   * Registers a cleanup that runs after all others (and after earlier final
   * ones): for what a process stopped by an earlier cleanup (the worker)
   * could have started again meanwhile.
   */
  addFinal(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  /** The end of the campaign: every cleanup, each one's failure logged and the next one still run. */
  async runAll(): Promise<void> {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
    for (const step of this.steps) {
      try {
        await step();
      } catch (err) {
        this.log(`  · cleanup: ${String(err)}`);
      }
    }
  }
}
