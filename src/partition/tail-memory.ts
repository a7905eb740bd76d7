/**
 * Bounds the memory the in-memory tails hold across all partitions. Batches not yet uploaded
 * must stay (they are what the uploader sends); uploaded ones are a read cache for consumers that
 * keep up, evicted oldest-upload-first once the total passes `tailBytesMax`.
 */
import type { PartitionLog } from './partition-log.js';

interface Uploaded {
  log: PartitionLog;
  endOffset: number;
  sizeBytes: number;
}

export class TailMemory {
  private readonly fifo: Uploaded[] = [];
  private uploadedBytes = 0;

  constructor(private readonly tailBytesMax: number) {}

  /** Bytes of uploaded batches still held. */
  get cachedBytes(): number {
    return this.uploadedBytes;
  }

  uploaded(log: PartitionLog, endOffset: number, sizeBytes: number): void {
    this.fifo.push({ log, endOffset, sizeBytes });
    this.uploadedBytes += sizeBytes;
    this.evict();
  }

  private evict(): void {
    while (this.uploadedBytes > this.tailBytesMax && this.fifo.length > 0) {
      const oldest = this.fifo.shift()!;
      oldest.log.evictUploaded(oldest.endOffset);
      this.uploadedBytes -= oldest.sizeBytes;
    }
  }
}
