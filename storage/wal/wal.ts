/**
 * The write-ahead log: one per broker, shared by all partitions, in one folder.
 *
 *   const wal = await Wal.open({ dir, headerCodec: partitionHeaderCodec });
 *   for await (const e of wal.readFrom(lsnNotYetUploaded)) replay(e);   // after a restart
 *   const lsn = await wal.append(header, batchBytes);                   // durable when resolved
 *   await wal.truncateBefore(lsnUploaded);                              // after object-store PUT
 *
 * Opening takes the folder's lock (lock.ts), recovers (recovery.ts: validates every segment and
 * cuts a torn tail), then resumes appending to the last segment. This file only wires the parts
 * together; each part has one job in its own module.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { assertWalLimits, limits as storageLimits, walLimitsDefault, type WalLimits } from '../limits.js';
import { ActiveSegment, createSegmentFile } from './active-segment.js';
import { CheckpointTracker } from './checkpoint.js';
import { encodeEntryParts, entryFrameBytes } from './entry.js';
import { isNoSpace, WalClosedError, WalNoSpaceError } from './errors.js';
import { GroupCommit } from './group-commit.js';
import type { WalHeaderCodec } from './header-codec.js';
import { nodeWalIo, type WalIo } from './io.js';
import { WalLock } from './lock.js';
import { WalMetrics, type WalFsyncSample } from './metrics.js';
import { readEntries, type WalEntry } from './reader.js';
import { recoverWal, type SegmentRecovered, type WalRecoveryReport } from './recovery.js';
import { SegmentSet } from './segments.js';

export interface WalOptions<H> {
  dir: string;
  headerCodec: WalHeaderCodec<H>;
  /** Overrides of storage/limits.ts defaults; checked by the same relations. */
  limits?: Partial<WalLimits>;
  /** File operations; tests pass a fault-injecting wrapper. */
  io?: WalIo;
  /** Called after every fsync, e.g. to feed a latency histogram. */
  onFsync?: (sample: WalFsyncSample) => void;
  /** Time source for the lock file's timestamp (injected, like all time). */
  nowMs?: () => number;
  /** After a full disk, appends are refused this long unless a segment is deleted sooner. */
  noSpaceRetryMs?: number;
}

export class Wal<H> {
  private closed = false;
  /** Serializes truncateBefore calls so segments are deleted strictly oldest first. */
  private truncating: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private readonly codec: WalHeaderCodec<H>,
    readonly limits: WalLimits,
    private readonly io: WalIo,
    private readonly lock: WalLock,
    private readonly segments: SegmentSet,
    private readonly active: ActiveSegment,
    private readonly groupCommit: GroupCommit,
    /** What recovery found at open: segments, LSN range, any torn tail it cut. */
    readonly recovery: WalRecoveryReport,
    readonly metrics: WalMetrics,
    /** Records where the un-uploaded part begins, for a peer's replay (checkpoint.ts). */
    private readonly checkpoint: CheckpointTracker,
    private readonly nowMs: () => number,
  ) {}

  /**
   * Opens (and recovers) the WAL in `options.dir`. A disk too full to take the lock or create the
   * first segment rejects with WalNoSpaceError, which names the folder.
   */
  static async open<H>(options: WalOptions<H>): Promise<Wal<H>> {
    try {
      return await Wal.openLocked(options);
    } catch (err) {
      if (isNoSpace(err)) throw new WalNoSpaceError(options.dir, err);
      throw err;
    }
  }

  private static async openLocked<H>(options: WalOptions<H>): Promise<Wal<H>> {
    const limits = { ...walLimitsDefault(), ...options.limits };
    assertWalLimits(limits);
    const io = options.io ?? nodeWalIo;
    await mkdir(options.dir, { recursive: true });
    const lock = await WalLock.acquire(options.dir, io, (options.nowMs ?? Date.now)());
    try {
      const recovery = await recoverWal({ dir: options.dir, mode: 'writable', limits, io });
      const found = recovery.segments;
      const last = found.at(-1) ?? (await createFirstSegment(options.dir, io));
      const segments = new SegmentSet(found.length > 0 ? found : [last]);
      const metrics = new WalMetrics(options.onFsync);
      const { dir } = options;
      const deps = { dir, io, segmentBytesMax: limits.segmentBytesMax, segments, metrics };
      const active = await ActiveSegment.resume(deps, last);
      const noSpaceRetryMs = options.noSpaceRetryMs ?? storageLimits.walNoSpaceRetryMs;
      const groupCommit = new GroupCommit(active, { ...limits, noSpaceRetryMs }, metrics,
        recovery.lsnNext);
      const codec = options.headerCodec;
      const checkpoint = new CheckpointTracker(dir, {
        checkpointIntervalMs: storageLimits.walCheckpointIntervalMs,
        checkpointMarksMax: storageLimits.walCheckpointMarksMax });
      const parts = [lock, segments, active, groupCommit, recovery, metrics, checkpoint] as const;
      return new Wal(dir, codec, limits, io, ...parts, options.nowMs ?? Date.now);
    } catch (err) {
      // The open failed: free the folder, but report the failure, not a release error.
      await lock.release().catch(() => undefined);
      throw err;
    }
  }

  /** Every LSN <= this is durable. */
  get lsnDurable(): number {
    return this.groupCommit.lsnDurable;
  }

  /**
   * True while appends are refused because the disk was full (they reject with WalNoSpaceError
   * at once). Callers check it before doing work an append would have to undo.
   */
  get stalledNoSpace(): boolean {
    return this.groupCommit.stalledNoSpace;
  }

  /** The oldest LSN still readable (the oldest segment's base); > lsnDurable if none is. */
  get lsnOldest(): number {
    return this.segments.oldest().baseLsn;
  }

  /**
   * Appends one entry; resolves with its LSN once it is durable (group commit). Waits first if
   * pendingBytesMax is reached. `payload` is written as given, not copied: it must not change
   * until the append settles (entry.ts, EntryParts). Rejects with RangeError for an oversized
   * entry (the caller's input, e.g. Kafka's MESSAGE_TOO_LARGE), WalFailedError after an I/O
   * failure, WalNoSpaceError when the disk is full (not written, retriable; see
   * group-commit.ts), WalClosedError after close. `payloadCrc`, the payload's CRC-32C if the
   * caller knows it, spares a pass over the payload (entry.ts, EntryParts).
   */
  append(header: H, payload: Buffer, payloadCrc?: number): Promise<number> {
    if (this.closed) return Promise.reject(new WalClosedError());
    const headerBytes = this.codec.encodedBytes(header);
    const entryBytes = entryFrameBytes + headerBytes + payload.length;
    if (headerBytes > this.limits.headerBytesMax || entryBytes > this.limits.entryBytesMax) {
      const { headerBytesMax, entryBytesMax } = this.limits;
      const why =
        `header ${headerBytes} (max ${headerBytesMax}), entry ${entryBytes} (max ${entryBytesMax})`;
      return Promise.reject(new RangeError(`WAL entry too large: ${why}`));
    }
    const entry = encodeEntryParts(this.codec, header, payload, payloadCrc);
    assert.equal(entry.length, entryBytes, 'encoded size matches the codec');
    return this.groupCommit.submit(entry);
  }

  /**
   * Entries with LSN >= `lsn`, in LSN order, up to what was durable when iteration started.
   * Throws if `lsn` was already truncated away.
   */
  readFrom(lsn: number): AsyncGenerator<WalEntry<H>, void, undefined> {
    assert.ok(!this.closed, 'read from an open WAL');
    const range = { segments: this.segments.snapshot(), lsnFrom: lsn, lsnLast: this.lsnDurable };
    return readEntries(range, { codec: this.codec, limits: this.limits, io: this.io });
  }

  /**
   * Deletes, oldest first, every segment all of whose entries are < `lsn` (call after those
   * entries are safely in object storage), and records in the upload checkpoint a position at or
   * below `lsn` (checkpoint.ts). The active segment is kept. Returns segments deleted.
   */
  truncateBefore(lsn: number): Promise<number> {
    assert.ok(!this.closed, 'truncate an open WAL');
    assert.ok(lsn <= this.lsnDurable + 1, `cannot truncate entries not yet durable: ${lsn}`);
    const run = this.truncating.then(() => this.deleteSegmentsBefore(lsn));
    this.truncating = run.catch(() => undefined);
    return run;
  }

  /** Waits for accepted appends to finish, then closes files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.groupCommit.close();
    await this.truncating;
    await this.active.close();
    await this.lock.release();
  }

  private async deleteSegmentsBefore(lsn: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const oldest = this.segments.oldestBefore(lsn);
      if (oldest === null) break;
      // One at a time, dir fsync after each: a crash or error can only leave a contiguous suffix,
      // never a gap that recovery would (rightly) reject.
      await this.io.unlink(oldest.path);
      await this.io.syncDir(this.dir);
      this.segments.dropOldest(oldest);
      this.metrics.segmentsDeleted += 1;
      deleted += 1;
    }
    // Space was freed: a full disk may have room again, so let the next append try.
    if (deleted > 0) this.groupCommit.retryAfterNoSpace();
    assert.ok(this.segments.snapshot().length >= 1, 'the active segment remains');
    // Whole segments stay until every entry in them is uploaded; the checkpoint lets a replay
    // skip the uploaded part of the ones that stay.
    await this.checkpoint.advance(lsn, this.active.endPosition(), this.segments.oldest().baseLsn,
      this.nowMs());
    return deleted;
  }
}

async function createFirstSegment(dir: string, io: WalIo): Promise<SegmentRecovered> {
  const { path, file } = await createSegmentFile(dir, 1, io);
  await file.close();
  return { baseLsn: 1, path, entryCount: 0, sizeBytes: 0 };
}
