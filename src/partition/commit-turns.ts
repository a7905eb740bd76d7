/**
 * Commits in the order their uploads started, whatever order the PUTs finish in. The uploader
 * starts a PUT whenever the pacer lets it, even while earlier ones are in flight (a slow PUT
 * would otherwise hold back every batch behind it by its whole duration), but the segment index
 * of a partition may only grow by a prefix of what it holds pending, so the commits take turns:
 *
 *   an earlier turn is still running          → this one waits for it (its PUT may go on).
 *   every earlier turn committed              → this one runs.
 *   an earlier turn failed                    → this one fails with the same error, without
 *                                               running (its object is an orphan; the batches
 *                                               stay pending and go in a later upload).
 *   no turn left open                         → the next turn starts a new chain: a failure
 *                                               does not outlive the turns that saw it.
 */
import assert from 'node:assert/strict';

export class CommitTurns {
  /** Settles when the last turn taken has: resolved if it and all before it committed. */
  private tail: Promise<void> = Promise.resolve();
  private open = 0;

  /** Turns taken and not settled. */
  get openTurns(): number {
    return this.open;
  }

  /**
   * Runs `commit` once every turn taken before this one has run and succeeded; rejects with the
   * first failure before it otherwise (and `commit` never runs).
   */
  take<T>(commit: () => Promise<T>): Promise<T> {
    const result = this.tail.then(commit);
    this.tail = result.then(() => undefined);
    this.tail.catch(() => {}); // a failure reaches the caller through `result`, and later turns
    this.open++;
    const settle = () => {
      this.open--;
      assert.ok(this.open >= 0, 'every turn settles once');
      if (this.open === 0) this.tail = Promise.resolve();
    };
    // Registered before the caller's own reactions, so a caller that sees its turn settled sees
    // the count, and the chain's reset, already done.
    result.then(settle, settle);
    return result;
  }
}
