/**
 * The timers of one classic group (group.ts): the join phase's timer (the rebalance timeout, or
 * group.initial.rebalance.delay.ms for a group's first members), the sync phase's, and the
 * members' session clocks. Each callback re-enters through the group's serial queue, so a timer
 * never interleaves with a request, and does not run once the group is dead.
 */
import type { Logger } from 'pino';

export class GroupTimers {
  private joinTimer: NodeJS.Timeout | null = null;
  private joinTimerIsInitialDelay = false;
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(private readonly runInQueue: (fn: () => void) => Promise<void>,
    private readonly isDead: () => boolean, private readonly log: Logger) {}

  get joinPending(): boolean { return this.joinTimer !== null; }
  /** The join timer is the initial delay: the join phase must not complete early. */
  get inInitialDelay(): boolean { return this.joinTimerIsInitialDelay; }
  get syncPending(): boolean { return this.syncTimer !== null; }

  /** A timer whose callback runs in the queue (and not at all once the group is dead). */
  start(delayMs: number, onFire: (timer: NodeJS.Timeout) => void): NodeJS.Timeout {
    const timer: NodeJS.Timeout = setTimeout(() => {
      this.runInQueue(() => {
        if (!this.isDead()) onFire(timer);
      }).catch((err: unknown) => this.log.error({ err }, 'group timer failed'));
    }, delayMs);
    timer.unref();
    return timer;
  }

  setJoin(delayMs: number, initialDelay: boolean, onFire: () => void): void {
    this.clearJoin();
    this.joinTimerIsInitialDelay = initialDelay;
    this.joinTimer = this.start(delayMs, (timer) => {
      if (this.joinTimer !== timer) return;
      this.joinTimer = null;
      onFire();
    });
  }

  clearJoin(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    this.joinTimerIsInitialDelay = false;
  }

  setSync(delayMs: number, onFire: () => void): void {
    this.clearSync();
    this.syncTimer = this.start(delayMs, (timer) => {
      if (this.syncTimer !== timer) return;
      this.syncTimer = null;
      onFire();
    });
  }

  clearSync(): void {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
  }
}
