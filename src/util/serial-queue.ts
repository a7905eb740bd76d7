/**
 * Runs functions one at a time, in the order they were queued: one actor per object whose state
 * must change atomically across `await`s (a consumer group, a partition log). A function that
 * throws rejects only its own promise; the queue goes on with the next.
 */
import assert from 'node:assert/strict';

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pendingCount = 0;

  /** Functions queued or running, including the one running now. */
  get size(): number {
    return this.pendingCount;
  }

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.pendingCount += 1;
    const result = this.tail.then(fn).finally(() => {
      this.pendingCount -= 1;
      assert.ok(this.pendingCount >= 0, 'serial queue count below zero');
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
