/**
 * Requests waiting for a partition this broker leads but has not opened yet: in cluster mode a
 * new leader is named (in Metadata) as soon as the controller moves a dead broker's partition,
 * while it still waits out the old leader's acknowledgement window and replays its WAL
 * (cluster/leadership.ts). A produce that reaches it then waits here, instead of being refused
 * with NOT_LEADER_OR_FOLLOWER and retried after the client's backoff.
 *
 * The partition manager calls `changed` whenever a partition's slot changes (a log opened or
 * closed, the topic installed or forgotten); every waiter of it wakes and looks again. A wait
 * never outlasts its bound, so a partition that never opens costs a request that much at most.
 */
import assert from 'node:assert/strict';
import { partitionLimits } from '../limits.js';

interface Waiter {
  wake: () => void;
  timer: NodeJS.Timeout;
}

export class OpenWaiters {
  private readonly byPartition = new Map<string, Set<Waiter>>();
  private count = 0;

  /**
   * Resolves (never rejects) at the partition's next slot change or after `timeoutMs`, whichever
   * comes first; at once when `partitionLimits.openWaitersMax` requests already wait.
   */
  next(topicId: string, partition: number, timeoutMs: number): Promise<void> {
    assert.ok(timeoutMs >= 0, `timeoutMs ${timeoutMs}`);
    if (timeoutMs === 0 || this.count >= partitionLimits.openWaitersMax) return Promise.resolve();
    const key = `${topicId}:${partition}`;
    return new Promise<void>((resolve) => {
      const waiters = this.byPartition.get(key) ?? new Set<Waiter>();
      this.byPartition.set(key, waiters);
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(waiter.timer);
          if (waiters.delete(waiter)) this.count--;
          const last = waiters.size === 0 && this.byPartition.get(key) === waiters;
          if (last) this.byPartition.delete(key);
          resolve();
        },
        timer: setTimeout(() => waiter.wake(), timeoutMs),
      };
      waiters.add(waiter);
      this.count++;
    });
  }

  /** The partition's slot changed: every request waiting for it looks again (in arrival order). */
  changed(topicId: string, partition: number): void {
    const waiters = this.byPartition.get(`${topicId}:${partition}`);
    if (waiters === undefined) return;
    for (const waiter of [...waiters]) waiter.wake();
    assert.ok(this.count >= 0, 'waiter count');
  }

  /** Every partition of a topic changed (installed or forgotten). */
  topicChanged(topicId: string): void {
    for (const key of [...this.byPartition.keys()]) {
      if (!key.startsWith(`${topicId}:`)) continue;
      for (const waiter of [...this.byPartition.get(key) ?? []]) waiter.wake();
    }
  }

  /** Requests waiting now (for tests and metrics). */
  get waiting(): number {
    return this.count;
  }
}
