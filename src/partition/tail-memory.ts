/**
 * Bounds the memory the in-memory tails hold across all partitions. Batches not yet uploaded
 * must stay (they are what the uploader sends); uploaded ones are a read cache for consumers that
 * keep up, evicted oldest-upload-first once their bytes pass `tailBytesMax` or their number
 * passes `tailBatchesMax` (each batch is heap objects that every full collection traces; see
 * limits.ts). Consumers further behind read from object storage, through the read cache.
 */
import assert from 'node:assert/strict';
import type { PartitionLog } from './partition-log.js';

interface Uploaded {
  log: PartitionLog;
  endOffset: number;
  sizeBytes: number;
  batches: number;
}

export class TailMemory {
  private readonly fifo: Uploaded[] = [];
  private uploadedBytes = 0;
  private uploadedBatches = 0;

  constructor(private readonly tailBytesMax: number, private readonly tailBatchesMax: number) {
    assert.ok(tailBytesMax > 0 && tailBatchesMax > 0, 'the tail bounds are positive');
  }

  /** Bytes of uploaded batches still held. */
  get cachedBytes(): number {
    return this.uploadedBytes;
  }

  /** Uploaded batches still held. */
  get cachedBatches(): number {
    return this.uploadedBatches;
  }

  /** `log` uploaded `batches` batches of `sizeBytes` in all, below `endOffset`. */
  uploaded(log: PartitionLog, endOffset: number, sizeBytes: number, batches: number): void {
    assert.ok(sizeBytes >= 0 && batches >= 0, 'uploaded counts are not negative');
    this.fifo.push({ log, endOffset, sizeBytes, batches });
    this.uploadedBytes += sizeBytes;
    this.uploadedBatches += batches;
    this.evict();
  }

  private evict(): void {
    while ((this.uploadedBytes > this.tailBytesMax || this.uploadedBatches > this.tailBatchesMax)
      && this.fifo.length > 0) {
      const oldest = this.fifo.shift()!;
      oldest.log.evictUploaded(oldest.endOffset);
      this.uploadedBytes -= oldest.sizeBytes;
      this.uploadedBatches -= oldest.batches;
    }
    assert.ok(this.fifo.length > 0 || (this.uploadedBytes === 0 && this.uploadedBatches === 0),
      'an empty cache counts nothing');
  }
}
