/**
 * The in-memory tail of a partition's log: its most recent batches, oldest first, whole and
 * contiguous (each batch's baseOffset is one past the previous one's lastOffset). Batches join
 * at the end when appended (or replayed), leave at the start once uploaded and evicted, and
 * leave at the end only when the WAL did not write them (a full disk: rolled back).
 *
 * What the batches mean (durable, uploaded, which offsets a consumer may read) is the log's
 * business (partition-log.ts); this keeps them in order and answers lookups by offset,
 * timestamp and leader epoch.
 */
import assert from 'node:assert/strict';

export interface TailBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
  maxTimestampMs: number;
  leaderEpoch: number;
  /**
   * Its position for the uploader (durability/): the WAL sequence number once durable, -1 before;
   * 0 from submission on when durability is by upload.
   */
  lsn: number;
  /**
   * A lower bound of the batch's LSN, known at submission (the WAL's durable LSN + 1 then), so
   * the uploader can tell how far the WAL may be trimmed even before `lsn` is known.
   */
  lsnFloor: number;
  /** When this broker appended (or replayed) it, for the age of the upload backlog. */
  appendedAtMs: number;
}

export class PartitionTail {
  private readonly batches: TailBatch[] = [];
  private bytes = 0;

  /** Batches held. */
  get length(): number {
    return this.batches.length;
  }

  /** Bytes held. */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** The batch at `index` (0 is the oldest), if there is one. */
  at(index: number): TailBatch | undefined {
    return this.batches[index];
  }

  /** The oldest batch's base offset, or `orElse` when the tail is empty. */
  startOffset(orElse: number): number {
    return this.batches[0]?.baseOffset ?? orElse;
  }

  push(batch: TailBatch): void {
    const last = this.batches[this.batches.length - 1];
    assert.ok(last === undefined || batch.baseOffset === last.lastOffset + 1,
      'the tail is contiguous');
    this.batches.push(batch);
    this.bytes += batch.bytes.length;
  }

  /** Index of the first batch with lastOffset >= offset (binary search); `length` if none. */
  indexOf(offset: number): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid]!.lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first batch with lastOffset >= offset (the one holding it, if any does). */
  batchFrom(offset: number): TailBatch | undefined {
    return this.batches[this.indexOf(offset)];
  }

  /** Removes and returns the batches from `index` to the end (a roll-back). */
  cutFrom(index: number): TailBatch[] {
    const cut = this.batches.splice(index);
    for (const b of cut) this.bytes -= b.bytes.length;
    assert.ok(this.bytes >= 0, 'the byte count stays non-negative');
    return cut;
  }

  /** Drops the batches that end below `endOffset`; returns the bytes freed. */
  dropBelow(endOffset: number): number {
    let freed = 0;
    while (this.batches.length > 0 && this.batches[0]!.lastOffset < endOffset) {
      freed += this.batches.shift()!.bytes.length;
    }
    this.bytes -= freed;
    return freed;
  }

  /**
   * The first batch below `endOffset` whose max timestamp is >= `timestampMs`: its base offset
   * and that timestamp; null if no such batch is here.
   */
  findByTimestamp(timestampMs: number, endOffset: number):
    { offset: number; timestampMs: number } | null {
    for (const b of this.batches) {
      if (b.lastOffset >= endOffset) break;
      if (b.maxTimestampMs >= timestampMs) {
        return { offset: b.baseOffset, timestampMs: b.maxTimestampMs };
      }
    }
    return null;
  }

  /** The base offset of the first batch of an epoch after `epoch`, or null if none is here. */
  epochEnd(epoch: number): number | null {
    for (const b of this.batches) if (b.leaderEpoch > epoch) return b.baseOffset;
    return null;
  }
}
