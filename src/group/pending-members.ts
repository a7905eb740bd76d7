/**
 * Members a classic group told MEMBER_ID_REQUIRED (KIP-394): the id is handed out, and the group
 * waits for the member to join again with it. A rebalance does not complete while one is
 * pending, so each expires after its session timeout, as Kafka's pending members do.
 */
import type { GroupTimers } from './group-timers.js';

export class PendingMembers {
  /** Each pending id with its expiry timer. */
  private readonly expiries = new Map<string, NodeJS.Timeout>();

  constructor(private readonly timers: GroupTimers) {}

  get size(): number { return this.expiries.size; }

  has(memberId: string): boolean {
    return this.expiries.has(memberId);
  }

  /** Holds `memberId` for `sessionTimeoutMs`; `onExpired` runs (in the queue) if it is not back. */
  add(memberId: string, sessionTimeoutMs: number, onExpired: () => void): void {
    this.remove(memberId);
    this.expiries.set(memberId, this.timers.start(sessionTimeoutMs, (timer) => {
      if (this.expiries.get(memberId) !== timer) return;
      this.expiries.delete(memberId);
      onExpired();
    }));
  }

  /** The member joined with its id, left, or the group ended: its timer stops. */
  remove(memberId: string): void {
    const timer = this.expiries.get(memberId);
    if (timer !== undefined) clearTimeout(timer);
    this.expiries.delete(memberId);
  }

  clear(): void {
    for (const timer of this.expiries.values()) clearTimeout(timer);
    this.expiries.clear();
  }
}
