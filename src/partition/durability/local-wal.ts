/**
 * Durability by the local WAL (walMode local or shared): a batch is durable, and acknowledged,
 * once the WAL has fsynced it; the uploader takes batches up to the WAL's durable LSN and trims
 * the WAL below the oldest LSN some partition still needs.
 *
 * A WAL failure (a failed fsync) leaves nothing safe to do but stop: restart recovers, so
 * `onWalFailed` (the broker exits) runs first. A full disk is not a failure: produce answers
 * KAFKA_STORAGE_ERROR, reads and uploads (which trim the WAL) go on, and appends resume once
 * there is room.
 */
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { wholeBatchCrc32c } from '../../../protocol/records/batch-header.js';
import { WalFailedError, WalNoSpaceError } from '../../../storage/wal/errors.js';
import type { PartitionEntryHeader } from '../../../storage/wal/partition-header.js';
import type {
  Durability, DurabilityCallbacks, PartitionDurability, SubmitReceipt, SubmittedBatch,
} from './durability.js';

/** The WAL as this strategy uses it (storage/wal/wal.ts; an in-memory one in tests). */
export interface WalWriter {
  append(header: PartitionEntryHeader, payload: Buffer, payloadCrc?: number): Promise<number>;
  /** Every LSN up to this one is durable. */
  readonly lsnDurable: number;
  /** True while the WAL refuses appends because its disk is full (append would reject). */
  readonly stalledNoSpace: boolean;
  truncateBefore(lsn: number): Promise<number>;
}

/** An entry the WAL holds, for start-up replay. */
export interface WalReplayEntry {
  lsn: number;
  header: PartitionEntryHeader;
  payload: Buffer;
}

export interface LocalWalOptions {
  log: Logger;
  /** A write failed: the WAL can take nothing more, and the process must stop (exit 70). */
  onWalFailed: (err: WalFailedError) => void;
}

export class LocalWalDurability implements Durability {
  /** Logged once when the disk fills, once when writes succeed again. */
  private full = false;

  constructor(private readonly wal: WalWriter, private readonly options: LocalWalOptions) {}

  get uploadablePositionMax(): number {
    return this.wal.lsnDurable;
  }

  /** Produces wait for the fsync, never for an upload. */
  get awaitingUpload(): boolean {
    return false;
  }

  async trim(keepFrom: number): Promise<void> {
    const lsn = Math.min(keepFrom, this.wal.lsnDurable + 1);
    assert.ok(Number.isSafeInteger(lsn) && lsn >= 1, `WAL trim position ${lsn}`);
    await this.wal.truncateBefore(lsn);
  }

  forPartition(topicId: string, partition: number): PartitionDurability {
    const wal = this.wal;
    return {
      get stalledNoSpace() { return wal.stalledNoSpace; },
      submit: (batch, callbacks) => this.submit(topicId, partition, batch, callbacks),
      uploaded: () => {}, // durable before it was uploadable: nothing waits on the upload
      abandon: () => {}, // the fsyncs in flight complete on their own
    };
  }

  private submit(topicId: string, partition: number, batch: SubmittedBatch,
    callbacks: DurabilityCallbacks): SubmitReceipt {
    const positionFloor = this.wal.lsnDurable + 1;
    // The batch's own CRC (checked when it was produced) gives the entry's: one pass, not two.
    this.wal.append({ topicId, partition, baseOffset: BigInt(batch.baseOffset) }, batch.bytes,
      wholeBatchCrc32c(batch.bytes))
      .then((lsn) => {
        if (this.full) this.options.log.info('WAL disk has room again; produce resumed');
        this.full = false;
        assert.ok(lsn >= positionFloor, 'an entry is durable past what was durable before it');
        callbacks.durable(lsn);
      }, (err: unknown) => {
        if (err instanceof WalNoSpaceError && !this.full) {
          this.full = true;
          this.options.log.warn({ err },
            'WAL disk full: produce answers KAFKA_STORAGE_ERROR until there is room');
        }
        if (err instanceof WalFailedError) {
          this.options.log.fatal({ err }, 'WAL write failed; exiting so recovery can run');
          this.options.onWalFailed(err);
        }
        callbacks.failed(err instanceof Error ? err : new Error(String(err)));
      });
    return { position: -1, positionFloor };
  }
}

/** Where replayed batches go (the partition manager): false when no log here takes it. */
export interface ReplayTarget {
  replay(topicId: string, partition: number, batch: Buffer, lsn: number, nowMs: number): boolean;
}

/**
 * Start-up recovery: re-adds every batch the WAL holds that object storage does not to the tail
 * of its partition (already durable; the uploader's first pass uploads it). Returns how many.
 */
export async function replayWal(entries: AsyncIterable<WalReplayEntry>, target: ReplayTarget,
  nowMs: number): Promise<number> {
  let replayed = 0;
  for await (const e of entries) {
    if (target.replay(e.header.topicId, e.header.partition, e.payload, e.lsn, nowMs)) replayed++;
  }
  return replayed;
}
