/**
 * Group commit: at most one durable write (an O_DSYNC write, or write + fdatasync: io.ts) is in
 * flight; entries that arrive meanwhile queue up and all ride the next one. Under load the sync
 * rate stays near the disk's while the append rate grows with concurrency; with one appender it
 * degrades to one sync per append.
 *
 * Admission assigns the LSN, so LSN order = admission order = file order. Admission is FIFO and
 * bounded: bytes admitted but not yet durable stay <= pendingBytesMax; beyond it appends wait in
 * line (backpressure), which bounds memory however many producers push at once.
 *
 * Failure: if a durable write (or its fdatasync) fails, every queued, in-flight and later append
 * rejects with WalFailedError. We do not retry an fsync: after a failed fsync Linux may already
 * have dropped the dirty pages, and a retry that "succeeds" would acknowledge data that is not on
 * disk.
 *
 * A full disk is different (WalNoSpaceError from the sink, which has cut off any partial write):
 * nothing durable is in doubt. The group, every entry queued behind it and every waiting one are
 * rejected, in LSN order, and the next LSN goes back to lsnDurable + 1, so the LSNs handed out
 * again stay contiguous. Rejecting everything not durable, not just the group, is what lets a
 * caller roll back: for each caller the rejected entries are a suffix of what it submitted. Then
 * appends are refused at once ("stalled") until `retryAfterNoSpace()` (a segment was deleted) or
 * `noSpaceRetryMs` passes. The stall always outlasts the current microtask queue, so callers'
 * rejection handlers have run (and rolled back) before any new entry is admitted.
 */
import assert from 'node:assert/strict';
import { type EntryParts, stampEntryParts } from './entry.js';
import { WalClosedError, WalFailedError, WalNoSpaceError } from './errors.js';
import type { WalMetrics } from './metrics.js';
import type { GroupTiming } from './active-segment.js';

/** Where groups go: active-segment.ts, or a fake in tests. */
export interface GroupSink {
  /** Rolls if needed; returns the bytes a group starting at `lsnFirst` may use. */
  prepareGroup(lsnFirst: number, entryBytes: number): Promise<number>;
  /**
   * Writes the group (`entries` entries, as head and payload buffers in order) durably (O_DSYNC,
   * or write + fdatasync); resolves only when the bytes are durable.
   */
  writeGroup(buffers: Buffer[], bytes: number, entries: number): Promise<GroupTiming>;
}

interface Pending {
  entry: EntryParts;
  lsn: number;
  resolve: (lsn: number) => void;
  reject: (err: Error) => void;
}

export interface GroupCommitLimits {
  pendingBytesMax: number;
  groupEntriesMax: number;
  groupBytesMax: number;
  /** How long appends are refused after a full disk, unless space is freed sooner. */
  noSpaceRetryMs: number;
}

export class GroupCommit {
  /** Admitted (LSN assigned), not yet taken into a group. */
  private readonly queue: Pending[] = [];
  /** Not yet admitted: waiting for pending bytes to drop (FIFO). */
  private readonly waiting: Pending[] = [];
  /** Bytes admitted and not yet durable: the queue plus the group in flight. */
  private pendingBytes = 0;
  private flushing = false;
  private closing = false;
  private failure: Error | null = null;
  /** Set while appends are refused because the disk was full; cleared by a retry. */
  private noSpace: WalNoSpaceError | null = null;
  private noSpaceTimer: NodeJS.Timeout | undefined;
  private readonly idleWaiters: Array<() => void> = [];
  private lsnNext: number;
  /** Every entry with an LSN <= this is durable (and its append resolved or resolving). */
  lsnDurable: number;

  constructor(
    private readonly sink: GroupSink,
    private readonly limits: GroupCommitLimits,
    private readonly metrics: WalMetrics,
    lsnNext: number,
  ) {
    assert.ok(Number.isSafeInteger(lsnNext) && lsnNext >= 1, 'lsnNext is valid');
    const { pendingBytesMax, groupEntriesMax, groupBytesMax } = limits;
    assert.ok(pendingBytesMax > 0 && groupEntriesMax > 0 && groupBytesMax > 0, 'limits positive');
    assert.ok(limits.noSpaceRetryMs > 0, 'a full disk is retried after a positive delay');
    this.lsnNext = lsnNext;
    this.lsnDurable = lsnNext - 1;
  }

  /** Queues an encoded entry; resolves with its LSN once it is durable. */
  submit(entry: EntryParts): Promise<number> {
    assert.ok(entry.length <= this.limits.pendingBytesMax, 'limits admit any single entry');
    return new Promise<number>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (this.closing) return reject(new WalClosedError());
      if (this.noSpace) return reject(this.noSpace);
      const pending: Pending = { entry, lsn: 0, resolve, reject };
      if (this.waiting.length === 0 && this.fits(entry.length)) return this.admit(pending);
      this.metrics.appendsWaited += 1;
      this.waiting.push(pending);
    });
  }

  /**
   * Refuses new appends and waits until every append already made has settled (written, or
   * rejected by a failure), so a graceful shutdown loses nothing it accepted.
   */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.noSpaceTimer);
    if (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    assert.equal(this.queue.length, 0, 'the flush loop drained the queue');
    assert.equal(this.waiting.length, 0, 'waiting appends were admitted or rejected');
  }

  /** True while appends are refused because the WAL's disk was full. */
  get stalledNoSpace(): boolean {
    return this.noSpace !== null;
  }

  /** Space was freed (a segment deleted): let the next append try to write again. */
  retryAfterNoSpace(): void {
    clearTimeout(this.noSpaceTimer);
    this.noSpace = null;
  }

  private fits(bytes: number): boolean {
    // An entry always fits into an empty pipeline, so the head of the line can never starve.
    return this.pendingBytes === 0 || this.pendingBytes + bytes <= this.limits.pendingBytesMax;
  }

  private admit(pending: Pending): void {
    pending.lsn = this.lsnNext;
    this.lsnNext += 1;
    stampEntryParts(pending.entry, pending.lsn);
    this.pendingBytes += pending.entry.length;
    this.metrics.recordPendingBytes(this.pendingBytes);
    this.queue.push(pending);
    if (!this.flushing) {
      this.flushing = true;
      // A microtask, not a direct call: appends issued in the same tick join the first group.
      queueMicrotask(() => void this.flushLoop());
    }
  }

  private async flushLoop(): Promise<void> {
    assert.ok(this.flushing, 'one flush loop at a time');
    try {
      while (this.queue.length > 0) await this.flushGroup();
    } catch (err) {
      this.fail(err);
    }
    this.flushing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async flushGroup(): Promise<void> {
    const head = this.queue[0]!;
    let roomBytes: number;
    try {
      roomBytes = await this.sink.prepareGroup(head.lsn, head.entry.length);
    } catch (err) {
      if (err instanceof WalNoSpaceError) return this.stallNoSpace([], err);
      throw err;
    }
    const group = this.takeGroup(roomBytes);
    const bytes = group.reduce((sum, p) => sum + p.entry.length, 0);
    let timing: GroupTiming;
    try {
      timing = await this.sink.writeGroup(group.flatMap((p) => [p.entry.head, p.entry.payload]),
        bytes, group.length);
    } catch (err) {
      if (err instanceof WalNoSpaceError) return this.stallNoSpace(group, err);
      this.rejectAll(group, new WalFailedError(err));
      throw err;
    }
    const lsnLast = group[group.length - 1]!.lsn;
    assert.equal(lsnLast, this.lsnDurable + group.length, 'groups are contiguous');
    this.lsnDurable = lsnLast;
    this.pendingBytes -= bytes;
    this.metrics.recordFsync({ ...timing, entries: group.length, bytes });
    for (const p of group) p.resolve(p.lsn);
    this.admitWaiting();
  }

  /**
   * Takes entries from the queue head while they fit in the segment's `roomBytes` and the group
   * bounds. The head entry is always taken (prepareGroup made room for it), even if it alone is
   * larger than groupBytesMax.
   */
  private takeGroup(roomBytes: number): Pending[] {
    const { groupEntriesMax, groupBytesMax } = this.limits;
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < groupEntriesMax) {
      const next = this.queue[count]!.entry.length;
      if (bytes + next > roomBytes || (count > 0 && bytes + next > groupBytesMax)) break;
      bytes += next;
      count += 1;
    }
    assert.ok(count >= 1, 'prepareGroup guarantees the head entry fits');
    return this.queue.splice(0, count);
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0 && !this.failure && this.fits(this.waiting[0]!.entry.length)) {
      this.admit(this.waiting.shift()!);
    }
    assert.ok(this.pendingBytes <= this.limits.pendingBytesMax, 'pending bytes stay bounded');
  }

  /**
   * The disk is full and `group` was not written: reject it and everything behind it, hand out
   * its LSNs again, and refuse appends until a retry.
   */
  private stallNoSpace(group: Pending[], err: WalNoSpaceError): void {
    assert.equal(group[0]?.lsn ?? this.queue[0]?.lsn ?? this.lsnDurable + 1, this.lsnDurable + 1,
      'the rejected entries start right after the durable ones');
    this.noSpace = err;
    this.metrics.noSpaceStalls += 1;
    this.rejectAll(group, err);
    this.rejectAll(this.queue.splice(0), err);
    this.rejectAll(this.waiting.splice(0), err);
    this.pendingBytes = 0;
    this.lsnNext = this.lsnDurable + 1;
    clearTimeout(this.noSpaceTimer);
    // A timer, never a microtask: rejection handlers must all run before appends are admitted.
    this.noSpaceTimer = setTimeout(() => this.retryAfterNoSpace(), this.limits.noSpaceRetryMs);
    this.noSpaceTimer.unref();
  }

  private fail(err: unknown): void {
    this.failure = new WalFailedError(err);
    this.rejectAll(this.queue.splice(0), this.failure);
    this.rejectAll(this.waiting.splice(0), this.failure);
    this.pendingBytes = 0;
  }

  private rejectAll(pendings: Pending[], err: Error): void {
    for (const p of pendings) p.reject(err);
  }
}
