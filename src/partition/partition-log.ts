/**
 * The log of one partition led by this broker.
 *
 * Offsets: the leader assigns them by patching each batch's base offset in place (the CRC does
 * not cover it). `nextOffset` is the next one to assign; `highWatermark` is one past the last
 * offset that is durable (fsynced in the WAL or in object storage, as the durability strategy
 * says: durability/) — only below it may consumers read, so nothing a consumer saw can be lost;
 * `uploadedEndOffset` is one past the last offset in the segment index; `logStartOffset` is the
 * first offset retention and DeleteRecords kept.
 *
 *   logStartOffset <= uploadedEndOffset <= highWatermark <= nextOffset
 *
 * Reads come from the in-memory tail (recent batches, uploaded or not) and, below it, from object
 * storage through the history reader.
 *
 * Appends are synchronous from validation to submission for durability — no `await` between the
 * sequence check and the offset assignment — so the event loop itself serialises them; the
 * awaits come after (durability) and re-check nothing that could have changed.
 *
 * A full WAL disk: the WAL rejects, with WalNoSpaceError, every entry not yet durable, in LSN
 * order, and refuses new ones until a later macrotask (storage/wal/group-commit.ts). So the
 * rejected batches of a partition are always the end of its tail, and the first rejection handler
 * cuts them off and takes their offsets back (and their producer sequences) before any new batch
 * can be given offsets: the log stays contiguous, and a retry is appended anew, not answered as a
 * duplicate of data that was never written. While the WAL refuses appends, produce gets the
 * retriable KAFKA_STORAGE_ERROR before any offset is assigned.
 */
import assert from 'node:assert/strict';
import type { BatchHeaderView } from '../../protocol/records/batch-header.js';
import {
  ATTR_LOG_APPEND_TIME, ATTRIBUTES_OFFSET, CRC_OFFSET, MAX_TIMESTAMP_OFFSET, patchBaseOffset,
  patchPartitionLeaderEpoch, readBatchHeader,
} from '../../protocol/records/batch-header.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { batchBytesMax } from '../../storage/limits.js';
import { WalNoSpaceError } from '../../storage/wal/errors.js';
import type { PartitionDurability } from './durability/durability.js';
import { ProducerStates, type SequenceCheck } from './producer-state.js';
import { PartitionTxns, isSequenced } from './txn-index.js';
import { encodeMarkerBatch, type MarkerType } from '../../protocol/records/control-batch.js';
import type { ProducerPartitionState } from '../metadata/records.js';
import { PartitionTail, type TailBatch } from './partition-tail.js';

/** Reads batches that have left the in-memory tail, from object storage. */
export interface HistoryReader {
  /**
   * Batches of the partition starting with the one holding `offset`, ending before `endOffset`,
   * about `maxBytes` in total (at least one batch if `minOneBatch`).
   */
  read(topicId: string, partition: number, offset: number, endOffset: number, maxBytes: number,
    minOneBatch: boolean): Promise<HistoryChunk>;
  /** Starts, without waiting, the object reads `read` with these arguments would make. */
  prefetch?(topicId: string, partition: number, offset: number, endOffset: number,
    maxBytes: number): void;
}

export interface HistoryChunk {
  /** Whole batches, concatenated per chunk. */
  chunks: Buffer[];
  sizeBytes: number;
  /** One past the last offset returned (`offset` if nothing was). */
  nextOffset: number;
}

/** The partition's leadership moved on: pending acknowledgements fail, appends are refused. */
export class PartitionFencedError extends Error {
  override readonly name = 'PartitionFencedError';
}

export interface TopicSettings {
  messageBytesMax: number;
  logAppendTime: boolean;
}

export type AppendOutcome =
  | { kind: 'appended'; baseOffset: number; logAppendTimeMs: number; durable: Promise<void> }
  | { kind: 'duplicate'; baseOffset: number; durable: Promise<void> }
  | { kind: 'error'; error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'INVALID_PRODUCER_EPOCH'
      | 'MESSAGE_TOO_LARGE' | 'NOT_LEADER_OR_FOLLOWER' | 'KAFKA_STORAGE_ERROR'; detail: string };

export type ReadResult =
  | { kind: 'ok'; batches: Buffer[]; sizeBytes: number; highWatermark: number;
      logStartOffset: number }
  | { kind: 'offset-out-of-range'; highWatermark: number; logStartOffset: number };

export class PartitionLog {
  nextOffset: number;
  highWatermark: number;
  uploadedEndOffset: number;
  logStartOffset: number;
  /** Recent batches, uploaded or not; older ones are read through `history`. */
  private readonly tail = new PartitionTail();
  /** Bytes of tail batches at or past uploadedEndOffset: appended, not yet in object storage. */
  private notUploadedBytes = 0;
  private readonly waiters = new Set<() => void>();
  /** Set once this broker learned it no longer leads the partition. */
  fenced = false;
  /** Set while handing the partition to another broker: no appends, but uploads go on. */
  draining = false;
  /** Why batches were last rolled back, for duplicates that waited on them. */
  private rollBackError: WalNoSpaceError | null = null;
  /**
   * Set when the broker's lease was lost (cluster mode): like `draining`, and an append still
   * waiting for its fsync is then never acknowledged, even if the broker has a new lease by the
   * time the fsync completes: its epoch dates from the lost lease.
   */
  leaseLost = false;
  readonly producers: ProducerStates;
  /** Open and aborted transactions, the last stable offset (txn-index.ts). */
  readonly txns: PartitionTxns;

  constructor(
    readonly topicId: string,
    readonly topicName: string,
    readonly partition: number,
    public leaderEpoch: number,
    state: { logStartOffset: number; indexedEndOffset: number; producers: ProducerPartitionState[] },
    private readonly durability: PartitionDurability,
    private readonly history: HistoryReader,
  ) {
    this.logStartOffset = state.logStartOffset;
    this.uploadedEndOffset = Math.max(state.indexedEndOffset, state.logStartOffset);
    this.nextOffset = this.uploadedEndOffset;
    this.highWatermark = this.uploadedEndOffset;
    const loaded = PartitionTxns.fromProducerList(state.producers);
    this.producers = new ProducerStates(loaded.producers);
    this.txns = loaded.txns;
    this.assertOffsets();
  }

  private assertOffsets(): void {
    assert.ok(this.logStartOffset <= this.uploadedEndOffset,
      'retention and DeleteRecords move the uploaded end with the log start');
    assert.ok(this.uploadedEndOffset <= this.highWatermark, 'uploaded data is durable');
    assert.ok(this.highWatermark <= this.nextOffset, 'durable data was assigned offsets');
  }

  /**
   * Bytes appended here and not yet in object storage (the upload backlog); 0 once fenced, as
   * the new leader owns that data and this broker will never upload it.
   */
  get bytesNotUploaded(): number {
    return this.fenced ? 0 : this.notUploadedBytes;
  }

  /** When the oldest batch not yet in object storage was appended here; null if there is none. */
  get oldestNotUploadedAtMs(): number | null {
    if (this.fenced) return null;
    return this.tail.batchFrom(this.uploadedEndOffset)?.appendedAtMs ?? null;
  }

  /** Bytes held in the tail (uploaded or not). */
  get tailSizeBytes(): number {
    return this.tail.sizeBytes;
  }

  /**
   * Appends one validated client batch (`batch` is this log's own copy: it is patched in place).
   * The returned `durable` promise resolves once the batch is durable (the durability strategy
   * says when) and the high watermark has moved past it.
   */
  append(batch: Buffer, header: BatchHeaderView, settings: TopicSettings, nowMs: number): AppendOutcome {
    if (this.fenced || this.draining) {
      return { kind: 'error', error: 'NOT_LEADER_OR_FOLLOWER', detail: 'leadership is moving to another broker' };
    }
    if (batch.length > settings.messageBytesMax) {
      return { kind: 'error', error: 'MESSAGE_TOO_LARGE',
        detail: `batch of ${batch.length} bytes > max.message.bytes ${settings.messageBytesMax}` };
    }
    if (batch.length > batchBytesMax) {
      // Checked before offsets are assigned: a batch the WAL would refuse must not take any.
      return { kind: 'error', error: 'MESSAGE_TOO_LARGE',
        detail: `batch of ${batch.length} bytes > ${batchBytesMax}, the largest batch a broker stores (one WAL entry)` };
    }
    const recordCount = header.recordCount;
    const identity = isSequenced(header) ? {
      producerId: Number(header.producerId), producerEpoch: header.producerEpoch,
      firstSequence: header.baseSequence, lastSequence: header.baseSequence + recordCount - 1,
    } : null;
    if (identity !== null) {
      const check: SequenceCheck = this.producers.check(identity);
      if (check.kind === 'duplicate') {
        return { kind: 'duplicate', baseOffset: check.baseOffset, durable: this.whenDurable(check.lastOffset) };
      }
      if (check.kind === 'error') return { kind: 'error', error: check.error, detail: check.detail };
    }
    if (this.durability.stalledNoSpace) {
      return { kind: 'error', error: 'KAFKA_STORAGE_ERROR', detail: 'the WAL disk is full; retry later' };
    }
    const baseOffset = this.nextOffset;
    const lastOffset = baseOffset + recordCount - 1;
    patchBaseOffset(batch, 0, baseOffset);
    patchPartitionLeaderEpoch(batch, 0, this.leaderEpoch);
    let logAppendTimeMs = -1;
    if (settings.logAppendTime) {
      stampLogAppendTime(batch, nowMs);
      logAppendTimeMs = nowMs;
    }
    this.nextOffset = lastOffset + 1;
    if (identity !== null) this.producers.record(identity, baseOffset, lastOffset, nowMs);
    if (header.isTransactional) this.txns.apply(batch, readBatchHeader(batch, 0));
    const entry: TailBatch = { baseOffset, lastOffset, bytes: batch,
      maxTimestampMs: readBatchHeader(batch, 0).maxTimestamp, leaderEpoch: this.leaderEpoch, lsn: -1,
      lsnFloor: -1, appendedAtMs: nowMs };
    this.tail.push(entry);
    this.notUploadedBytes += batch.length;
    const durable = this.submit(entry);
    this.assertOffsets();
    return { kind: 'appended', baseOffset, logAppendTimeMs, durable };
  }

  /**
   * Hands `entry` to the durability strategy; the promise settles once it is durable (and the
   * high watermark past it) or never will be. The callbacks run synchronously from the event
   * that decides, so an upload's markUploaded finds the high watermark already moved.
   */
  private submit(entry: TailBatch): Promise<void> {
    let settle!: { resolve: () => void; reject: (err: Error) => void };
    const durable = new Promise<void>((resolve, reject) => { settle = { resolve, reject }; });
    const receipt = this.durability.submit(entry, {
      durable: (position) => {
        try {
          entry.lsn = position;
          this.advanceHighWatermark(entry.lastOffset + 1);
          // Stored, but not acknowledged under the lost lease's epoch.
          if (this.leaseLost) settle.reject(this.fencedError('lease lost'));
          else settle.resolve();
        } catch (err) {
          settle.reject(err as Error);
        }
      },
      failed: (err) => {
        // Runs before the WAL admits appends again (a later macrotask).
        if (err instanceof WalNoSpaceError) this.rollBackUnwritten(entry, err);
        settle.reject(err);
      },
    });
    entry.lsn = receipt.position;
    entry.lsnFloor = receipt.positionFloor;
    return durable;
  }

  /**
   * Writes a transaction marker (WriteTxnMarkers) for `producerId`, through the same path as a
   * client batch; a marker of a coordinator epoch already written here is not written again.
   */
  appendMarker(producerId: number, producerEpoch: number, type: MarkerType,
    coordinatorEpoch: number,
    settings: TopicSettings, nowMs: number): AppendOutcome {
    if (!this.fenced && !this.draining && this.txns.markerWritten(producerId, coordinatorEpoch)) {
      return { kind: 'duplicate', baseOffset: -1, durable: this.whenDurable(this.nextOffset - 1) };
    }
    const batch = encodeMarkerBatch({ producerId, producerEpoch, type, coordinatorEpoch,
      timestampMs: nowMs });
    return this.append(batch, readBatchHeader(batch, 0), settings, nowMs);
  }

  /** Re-adds a batch recovered from the WAL at start-up (already durable, offsets assigned). */
  replay(batch: Buffer, lsn: number, nowMs: number): void {
    const h = readBatchHeader(batch, 0);
    const baseOffset = h.baseOffset;
    if (h.lastOffset < this.nextOffset) return; // already indexed in object storage
    assert.equal(baseOffset, this.nextOffset,
      `${this.topicName}-${this.partition}: WAL replay gap at ${this.nextOffset}, next batch ${baseOffset}`);
    this.txns.apply(batch, h);
    if (isSequenced(h)) {
      this.producers.record({ producerId: Number(h.producerId), producerEpoch: h.producerEpoch,
        firstSequence: h.baseSequence, lastSequence: h.baseSequence + h.recordCount - 1 },
      baseOffset, h.lastOffset, nowMs);
    }
    this.tail.push({ baseOffset, lastOffset: h.lastOffset, bytes: batch, maxTimestampMs: h.maxTimestamp,
      leaderEpoch: h.partitionLeaderEpoch, lsn, lsnFloor: lsn, appendedAtMs: nowMs });
    this.notUploadedBytes += batch.length;
    this.nextOffset = h.lastOffset + 1;
    this.highWatermark = this.nextOffset;
    this.assertOffsets();
  }

  /**
   * The WAL did not write `entry` (disk full), nor anything submitted after it: drop them from
   * the tail and give their offsets back. A later batch of this partition, rejected too, finds
   * itself already gone. Duplicates waiting on the dropped offsets are failed, not left to be
   * acknowledged by whatever data gets those offsets next.
   */
  private rollBackUnwritten(entry: TailBatch, err: WalNoSpaceError): void {
    const index = this.tail.indexOf(entry.baseOffset);
    if (this.tail.at(index) !== entry) return;
    for (const b of this.tail.cutFrom(index)) {
      assert.ok(b.lsn < 0, 'only batches the WAL has not written are rolled back');
    }
    assert.ok(entry.baseOffset >= this.highWatermark, 'nothing durable is rolled back');
    this.nextOffset = entry.baseOffset;
    this.producers.rollBack(entry.baseOffset);
    this.txns.rollBack(entry.baseOffset);
    this.assertOffsets();
    this.rollBackError = err;
    for (const wake of this.waiters) wake();
  }

  private advanceHighWatermark(offset: number): void {
    if (offset <= this.highWatermark) return;
    this.highWatermark = offset;
    this.assertOffsets();
    for (const wake of this.waiters) wake();
  }

  /**
   * Resolves once offsets up to `lastOffset` are durable: a retried duplicate is acknowledged only
   * when the original is, never before. Rejects if the partition is fenced first.
   */
  whenDurable(lastOffset: number): Promise<void> {
    if (lastOffset < this.highWatermark) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.fenced) {
          cancel();
          reject(new PartitionFencedError(`${this.topicName}-${this.partition}: fenced`));
        } else if (lastOffset >= this.nextOffset) {
          // The original was rolled back (disk full): these offsets now belong to no batch.
          cancel();
          reject(this.rollBackError ?? new Error('offsets rolled back'));
        } else if (lastOffset < this.highWatermark) {
          cancel();
          resolve();
        }
      };
      const cancel = this.onAppend(check);
    });
  }

  /**
   * Resolves once the partition is fenced (its leadership moved on) or after `waitMs`, whichever
   * comes first; never rejects. A produce refused while a handoff drains waits on this, so the
   * client's Metadata refresh, which follows the refusal, finds the new leader (see
   * append-partition.ts).
   */
  whenFenced(waitMs: number): Promise<void> {
    assert.ok(Number.isSafeInteger(waitMs) && waitMs >= 0, 'waitMs');
    if (this.fenced) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        cancel();
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      const cancel = this.onAppend(() => { if (this.fenced) done(); });
    });
  }

  /** Calls `wake` when the high watermark next advances; returns a function that cancels. */
  onAppend(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }

  /**
   * Batches from `offset` below the high watermark, or below `endOffset` if lower (a
   * read_committed fetch passes the last stable offset, a batch boundary).
   */
  async read(offset: number, maxBytes: number, minOneBatch: boolean,
    endOffset = Infinity): Promise<ReadResult> {
    const hw = this.highWatermark;
    if (offset < this.logStartOffset || offset > hw) {
      return { kind: 'offset-out-of-range', highWatermark: hw, logStartOffset: this.logStartOffset };
    }
    const batches: Buffer[] = [];
    let sizeBytes = 0;
    let next = offset;
    const tailStart = this.tail.startOffset(hw);
    if (next < tailStart && next < endOffset) {
      const older = await this.history.read(this.topicId, this.partition, next, Math.min(tailStart,
        endOffset),
        maxBytes, minOneBatch);
      batches.push(...older.chunks);
      sizeBytes += older.sizeBytes;
      next = older.nextOffset;
      if (sizeBytes >= maxBytes) {
        return { kind: 'ok', batches, sizeBytes, highWatermark: this.highWatermark,
          logStartOffset: this.logStartOffset };
      }
    }
    // After the await the tail may have moved on; only continue where it still joins up.
    let i = this.tail.indexOf(next);
    const limit = Math.min(this.highWatermark, endOffset);
    const oldest = this.tail.at(0);
    if (oldest !== undefined && next < oldest.baseOffset) i = this.tail.length;
    for (; i < this.tail.length; i++) {
      const b = this.tail.at(i)!;
      if (b.lastOffset >= limit) break;
      const first = batches.length === 0 && minOneBatch;
      if (!first && sizeBytes + b.bytes.length > maxBytes) break;
      batches.push(b.bytes);
      sizeBytes += b.bytes.length;
    }
    return { kind: 'ok', batches, sizeBytes, highWatermark: this.highWatermark,
      logStartOffset: this.logStartOffset };
  }

  /** Starts the object-store reads `read` would need (none if the tail holds `offset`). */
  prefetch(offset: number, maxBytes: number, endOffset = Infinity): void {
    const end = Math.min(this.tail.startOffset(this.highWatermark), endOffset);
    if (offset < this.logStartOffset || offset >= end) return;
    this.history.prefetch?.(this.topicId, this.partition, offset, end, maxBytes);
  }

  /** Durable batches not yet in object storage, oldest first, all with LSN <= lsnMax. */
  uploadable(lsnMax: number): TailBatch[] {
    const out: TailBatch[] = [];
    if (this.fenced) return out; // its commits would fail; the new leader owns the data now
    for (let i = this.tail.indexOf(this.uploadedEndOffset); i < this.tail.length; i++) {
      const b = this.tail.at(i)!;
      if (b.lsn < 0 || b.lsn > lsnMax) break;
      out.push(b);
    }
    return out;
  }

  /**
   * The lowest LSN the WAL must keep for this partition: that of its first batch not yet in
   * object storage (or a lower bound of it), or Infinity if everything is uploaded.
   */
  lsnNeeded(): number {
    const b = this.tail.batchFrom(this.uploadedEndOffset);
    if (b === undefined) return Infinity;
    return b.lsn >= 0 ? b.lsn : b.lsnFloor;
  }

  /** Records that offsets below `endOffset` are in the segment index. */
  markUploaded(endOffset: number): void {
    this.durability.uploaded(endOffset); // durability by upload: acknowledges what waited on it
    assert.ok(endOffset <= this.highWatermark, 'only durable data is uploaded');
    this.advanceUploadedEnd(endOffset);
    this.assertOffsets();
  }

  /** Moves uploadedEndOffset forward, and the backlog count with it (before any eviction). */
  private advanceUploadedEnd(endOffset: number): void {
    if (endOffset <= this.uploadedEndOffset) return;
    for (let i = this.tail.indexOf(this.uploadedEndOffset); i < this.tail.length; i++) {
      const b = this.tail.at(i)!;
      if (b.lastOffset >= endOffset) break;
      this.notUploadedBytes -= b.bytes.length;
    }
    assert.ok(this.notUploadedBytes >= 0, 'backlog count stays non-negative');
    this.uploadedEndOffset = endOffset;
  }

  /** A handoff starts: refuse appends; what was appended is still made durable and uploaded. */
  stopAppends(): void {
    this.draining = true;
  }

  /** The broker lost its lease: as stopAppends, and appends in flight are not acknowledged. */
  holdForLostLease(): void {
    this.draining = true;
    this.leaseLost = true;
  }

  /** Leadership moved on: refuse appends, fail produces still waiting to be acknowledged. */
  fence(reason: string): void {
    this.fenced = true;
    this.durability.abandon(this.fencedError(reason));
    for (const wake of this.waiters) wake();
  }

  private fencedError(reason: string): PartitionFencedError {
    return new PartitionFencedError(`${this.topicName}-${this.partition}: ${reason}`);
  }

  /** Drops uploaded batches below `endOffset` from memory; returns bytes freed. */
  evictUploaded(endOffset: number): number {
    return this.tail.dropBelow(Math.min(endOffset, this.uploadedEndOffset));
  }

  /**
   * KIP-854: forgets idempotent producers that appended nothing here for `expirationMs`
   * (producer.id.expiration.ms) and have no transaction open; returns how many. Their next batch
   * is a new producer's (sequence 0), and a retry of an old batch is no longer recognised.
   */
  expireProducers(nowMs: number, expirationMs: number): number {
    assert.ok(expirationMs > 0);
    return this.producers.expire(nowMs - expirationMs, (id) => this.txns.isOpen(id));
  }

  /** Moves the log start offset forward (retention, DeleteRecords). */
  advanceLogStart(offset: number): void {
    assert.ok(offset <= this.highWatermark, 'log start stays within durable data');
    if (offset <= this.logStartOffset) return;
    this.logStartOffset = offset;
    this.txns.trimBelow(offset);
    this.advanceUploadedEnd(offset);
    this.evictUploaded(offset);
  }

  /** Offset of the first batch whose max timestamp is >= ts, if it is in the tail. */
  findInTailByTimestamp(timestampMs: number): { offset: number; timestampMs: number } | null {
    return this.tail.findByTimestamp(timestampMs, this.highWatermark);
  }

  /** Epoch of the batch holding the last offset below the high watermark, or -1. */
  latestEpochBefore(offset: number): number {
    return this.tail.batchFrom(offset - 1)?.leaderEpoch ?? this.leaderEpoch;
  }

  /** For OffsetForLeaderEpoch: the end offset of `epoch` as seen in the tail, or null if unknown. */
  tailEpochEnd(epoch: number): number | null {
    return this.tail.epochEnd(epoch);
  }

  get tailStartOffset(): number {
    return this.tail.startOffset(this.highWatermark);
  }
}

/** LogAppendTime: the broker's clock replaces maxTimestamp; the CRC covers it, so recompute. */
function stampLogAppendTime(batch: Buffer, nowMs: number): void {
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET) | ATTR_LOG_APPEND_TIME;
  batch.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  batch.writeBigInt64BE(BigInt(nowMs), MAX_TIMESTAMP_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
}
