/*
 * Per-document debounce: each keystroke re-arms the document's timer, so a burst of edits costs one
 * run, and the run reads the document as it is when the timer fires: the latest version wins and
 * no stale result can overtake it. Timers are looked up at call time so tests can mock them.
 */
export class Debouncer {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly delayMs: number) {}

  /** Runs `work` after `delayMs` unless `key` is scheduled or cancelled again before then. */
  schedule(key: string, work: () => void): void {
    this.cancel(key);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        work();
      }, this.delayMs),
    );
  }

  cancel(key: string): void {
    const timer = this.timers.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(key);
    }
  }

  /** Keys with a run still to come. */
  get pending(): number {
    return this.timers.size;
  }

  dispose(): void {
    for (const timer of this.timers.values()) {
      clearTimeout(timer);
    }
    this.timers.clear();
  }
}
