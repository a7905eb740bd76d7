/**
 * Durability by upload (walMode object): no local log. A batch may be uploaded as soon as it has
 * offsets, and is durable, and acknowledged, only once the uploader has put it in object storage
 * and committed its index entry. Nothing is trimmed: object storage is the log.
 *
 * Each partition log keeps its own queue of batches waiting for their upload, oldest first (a
 * log's batches are committed in offset order); a fenced log's queue fails, as the new leader
 * owns the partition and this broker will never upload it.
 */
import assert from 'node:assert/strict';
import type {
  Durability, DurabilityCallbacks, PartitionDurability, SubmitReceipt, SubmittedBatch,
} from './durability.js';

/** Every batch has this position: all may be uploaded at once, in offset order. */
const UPLOAD_POSITION = 0;

interface UploadWaiter {
  lastOffset: number;
  callbacks: DurabilityCallbacks;
}

export class ObjectUploadDurability implements Durability {
  /** Submissions waiting for their upload, over all partitions. */
  private waiting = 0;

  readonly uploadablePositionMax = Infinity;

  get awaitingUpload(): boolean {
    return this.waiting > 0;
  }

  /** Object storage is the log: there is nothing to trim. */
  async trim(): Promise<void> {}

  forPartition(): PartitionDurability {
    const queue: UploadWaiter[] = [];
    let endOffset = -1; // one past the last offset submitted, to assert the order
    const settle = (count: number) => {
      this.waiting -= count;
      assert.ok(this.waiting >= 0, 'waiting submissions stay counted');
    };
    return {
      stalledNoSpace: false,
      submit: (batch: SubmittedBatch, callbacks: DurabilityCallbacks): SubmitReceipt => {
        assert.ok(batch.baseOffset >= endOffset, 'a log submits its batches in offset order');
        endOffset = batch.lastOffset + 1;
        queue.push({ lastOffset: batch.lastOffset, callbacks });
        this.waiting++;
        return { position: UPLOAD_POSITION, positionFloor: UPLOAD_POSITION };
      },
      uploaded: (uploadedEnd: number) => {
        let n = 0;
        while (n < queue.length && queue[n]!.lastOffset < uploadedEnd) n++;
        const done = queue.splice(0, n);
        settle(done.length);
        for (const w of done) w.callbacks.durable(UPLOAD_POSITION);
      },
      abandon: (err: Error) => {
        const failed = queue.splice(0);
        settle(failed.length);
        for (const w of failed) w.callbacks.failed(err);
      },
    };
  }
}
