/**
 * The form's check as the user types, without React: a check of the latest values only,
 * ``delayMs`` after the last change, and an end to waiting after ``timeoutMs`` (a
 * check that never answers must not keep Create disabled: it is settled as failed, and
 * its answer, should it come later and still be the latest, settles it again).
 */

/** How a check of ``key`` ended: the answer, or why there is none. */
export type Settled<A> = (key: string, answer: A | null, error: string | null) => void;

export class LatestCheck<A> {
  private seq = 0;
  private timers: ReturnType<typeof setTimeout>[] = [];

  constructor(
    private readonly run: (key: string) => Promise<A>,
    private readonly settled: Settled<A>,
    private readonly delayMs: number,
    private readonly timeoutMs: number
  ) {}

  /** Check ``key`` (the values, as JSON) after the delay; earlier checks no longer count. */
  request(key: string): void {
    this.cancel();
    const mine = ++this.seq;
    let answered = false;
    const done = (answer: A | null, error: string | null) => {
      if (mine === this.seq) {
        this.settled(key, answer, error);
      }
    };
    this.timers.push(
      setTimeout(() => {
        this.run(key).then(
          answer => {
            answered = true;
            done(answer, null);
          },
          error => {
            answered = true;
            done(null, error instanceof Error ? error.message : String(error));
          }
        );
      }, this.delayMs),
      setTimeout(() => {
        if (!answered) {
          done(null, `no answer within ${this.timeoutMs / 1000} s`);
        }
      }, this.delayMs + this.timeoutMs)
    );
  }

  /** Stop the timers (the form is closed); an answer on its way is ignored. */
  dispose(): void {
    this.cancel();
    this.seq++;
  }

  private cancel(): void {
    this.timers.forEach(clearTimeout);
    this.timers = [];
  }
}
