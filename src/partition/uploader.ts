/**
 * Moves durable data to object storage: every `uploadIntervalMs`, or as soon as
 * `uploadBytesMax` is waiting (or, by upload, a produce is), but never more than one PUT per
 * `putGapMs` (put-pacer.ts: what arrives meanwhile rides the next PUT), it packs the pending
 * batches of all partitions into objects of at most `objectBytesMax` batch bytes, oldest first
 * (upload-plan.ts). For each object in turn it PUTs it, commits the object's index to the
 * coordinator in ONE transaction, then trims the WAL (through the durability strategy,
 * durability/: with durability by upload there is no WAL, every batch may be taken at once, and
 * its produce is acknowledged by the commit); the first failure ends the pass, so per partition
 * the index only ever grows by a prefix of what is pending. The order is what makes every crash
 * window safe:
 *
 *   crash before the PUT completes     → WAL still has everything; replay re-uploads.
 *   crash after PUT, before the commit → the object is an orphan (collected later); replay
 *                                        re-uploads into a new object.
 *   crash after commit, before trim    → replay skips what the index already holds.
 */
import { withTxnIndex } from './txn-index.js';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Metadata } from '../metadata/stores.js';
import { FencedError } from '../metadata/records.js';
import { IndexContinuityError } from '../metadata/rules.js';
import type { Metrics } from '../metrics.js';
import { partitionLimits } from '../limits.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import type { Durability } from './durability/durability.js';
import type { PartitionLog, TailBatch } from './partition-log.js';
import type { PartitionManager } from './partition-manager.js';
import { PutPacer } from './put-pacer.js';
import { type CommittedSegment, SegmentCommitter } from './segment-committer.js';
import type { TailMemory } from './tail-memory.js';
import { type PendingPart, planUploadObjects } from './upload-plan.js';

export interface UploaderOptions {
  nodeId: number;
  uploadIntervalMs: number;
  uploadBytesMax: number;
  /**
   * Partitions per object, so one commit fits one coordinator transaction (etcd caps the ops of
   * a transaction; each partition costs about three). Further partitions go in the next object.
   */
  partitionsPerObjectMax: number;
  /** Batch bytes per object (limits.uploadObjectBytesMax, or lower by configuration). */
  objectBytesMax: number;
  /**
   * Least time between the starts of two PUTs (put-pacer.ts), except those of flush() (shutdown,
   * handoffs, DeleteRecords: rare, and waited on).
   */
  putGapMs: number;
  /** Wall-clock time: object keys, and how long an outage lasted. */
  nowMs: () => number;
  /** Monotonic time, for upload latency. */
  monotonicNowMs: () => number;
}

type Part = PendingPart<PartitionLog, TailBatch>;


export class Uploader {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private pendingBytes = 0;
  /**
   * Bytes appended and not yet in object storage, summed over the partitions at the end of each
   * pass and after each object, and raised by every append in between (so it may run ahead of
   * the truth until the next pass, never behind it).
   */
  private backlogBytes = 0;
  private stopped = false;
  /** Consecutive failures, for backoff. */
  private failures = 0;
  /** When the current run of failed uploads began (for the line that says they resumed). */
  private failingSinceMs = 0;
  private readonly committer: SegmentCommitter;
  private readonly pacer: PutPacer;

  constructor(
    private readonly partitions: PartitionManager,
    private readonly durability: Durability,
    store: ObjectStore,
    metadata: Metadata,
    private readonly tailMemory: TailMemory,
    private readonly options: UploaderOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.committer = new SegmentCommitter(store, metadata.segments,
      new SegmentKeyAllocator(options.nodeId), options.nowMs);
    this.pacer = new PutPacer(options.putGapMs, options.monotonicNowMs);
  }

  start(): void {
    this.refreshBacklog(); // WAL replay may have left a backlog from before a restart
    this.schedule(this.options.uploadIntervalMs);
  }

  /** Bytes appended and not yet in object storage (for Produce backpressure and /metrics). */
  get uploadBacklogBytes(): number {
    return this.backlogBytes;
  }

  private refreshBacklog(): void {
    let bytes = 0;
    for (const log of this.partitions.allLogs()) bytes += log.bytesNotUploaded;
    this.backlogBytes = bytes;
    this.metrics.uploadBacklog.set(bytes);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  /** Called after each append; uploads early once enough is waiting. */
  noteAppended(sizeBytes: number): void {
    this.pendingBytes += sizeBytes;
    this.backlogBytes += sizeBytes;
    this.metrics.uploadBacklog.set(this.backlogBytes);
    // Durability by upload: produces wait for it, so it starts as soon as the pacer lets it —
    // and batches that arrive meanwhile ride the next one (group commit, one PUT and one commit
    // for many).
    const due = this.durability.awaitingUpload || this.pendingBytes >= this.options.uploadBytesMax;
    if (due && this.running === null) this.schedule(this.pacer.waitMs());
  }

  /** True while uploads fail (the object store is down, full or refusing). */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** Runs one upload now (or waits for the running one) — for shutdown and tests. */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
    await this.uploadOnce(false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.running !== null) await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running !== null) return;
    try {
      await this.uploadOnce(true);
      if (this.failures > 0) {
        const outageMs = this.options.nowMs() - this.failingSinceMs;
        this.log.info({ failures: this.failures, outageMs },
          'uploads resumed: the object store answers again');
      }
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.metrics.uploadErrors.inc();
      // One ERROR per outage, not a stack per retry: the retries are on the metric and at debug.
      const reason = err instanceof Error ? err.message : String(err);
      if (this.failures === 1) {
        this.failingSinceMs = this.options.nowMs();
        this.log.error({ reason, backlogBytes: this.pendingBytes }, 'uploads failing: the object store does not take objects; retrying with backoff');
      } else {
        this.log.debug({ reason, failures: this.failures }, 'upload failed again; will retry');
      }
    }
    const backoffMs = Math.min(partitionLimits.uploadRetryMsMax, this.options.uploadIntervalMs * 2 ** Math.min(this.failures, 8));
    const more = this.durability.awaitingUpload && this.pendingBytes > 0;
    this.schedule(this.failures > 0 ? backoffMs
      : more ? this.pacer.waitMs() : this.options.uploadIntervalMs);
  }

  /** One pass; `paced`: each PUT waits its turn (a flush's do not). */
  private uploadOnce(paced: boolean): Promise<void> {
    const run = this.upload(paced).finally(() => { this.running = null; });
    this.running = run;
    return run;
  }

  private async upload(paced: boolean): Promise<void> {
    // The cut is taken synchronously: every batch durable up to lsnMax is in `parts`.
    const lsnMax = this.durability.uploadablePositionMax;
    const pending: Part[] = [];
    let sizeBytes = 0;
    for (const log of this.partitions.allLogs()) {
      const batches = log.uploadable(lsnMax);
      if (batches.length === 0) continue;
      pending.push({ log, batches });
      for (const b of batches) sizeBytes += b.bytes.length;
    }
    this.pendingBytes = Math.max(0, this.pendingBytes - sizeBytes);
    const objects = planUploadObjects(pending, { objectBytesMax: this.options.objectBytesMax,
      partitionsMax: this.options.partitionsPerObjectMax });
    try {
      for (const parts of objects) {
        const waitMs = paced ? this.pacer.waitMs() : 0;
        if (waitMs > 0) await sleep(waitMs);
        await this.uploadParts(parts);
        this.refreshBacklog();
        // Trim after each object: a large backlog frees its WAL segments as it drains.
        await this.trim();
      }
      if (objects.length === 0) await this.trim();
    } finally {
      this.refreshBacklog();
    }
  }

  private async uploadParts(parts: Part[]): Promise<void> {
    this.pacer.started();
    const startMs = this.options.monotonicNowMs();
    let committed: CommittedSegment;
    try {
      committed = await this.committer.commit(parts.map((p) => ({ topicId: p.log.topicId,
        partition: p.log.partition, batches: p.batches.map((b) => b.bytes), log: p.log,
        endOffset: p.batches.at(-1)!.lastOffset + 1 })),
      (p) => ({ producerStates: withTxnIndex(p.log.producers.snapshot(p.endOffset), p.log.txns,
        p.endOffset), leaderEpoch: p.log.leaderEpoch }));
    } catch (err) {
      if (err instanceof FencedError) {
        // Another broker leads that partition now: stop serving it; the others retry next time.
        this.log.warn({ err }, 'segment commit fenced; giving up the partition');
        for (const p of parts) {
          if (p.log.topicId === err.topicId && p.log.partition === err.partition) p.log.fence('commit fenced');
        }
      }
      if (err instanceof IndexContinuityError) {
        const rest = this.adoptIndexed(parts, err);
        if (rest !== null) {
          // This object is an orphan now (collected later); what is left goes in a new one.
          if (rest.length > 0) await this.uploadParts(rest);
          return;
        }
      }
      throw err;
    }
    for (const p of parts) this.markUploaded(p.log, p.batches, p.batches.at(-1)!.lastOffset + 1);
    this.metrics.uploadBytes.inc(committed.objectSizeBytes);
    this.metrics.uploadLatency.observe((this.options.monotonicNowMs() - startMs) / 1000);
    this.log.debug({ key: committed.objectKey, partitions: parts.length,
      sizeBytes: committed.objectSizeBytes }, 'segment uploaded');
  }

  private markUploaded(log: PartitionLog, batches: readonly TailBatch[], endOffset: number): void {
    log.markUploaded(endOffset);
    this.tailMemory.uploaded(log, endOffset, batches.reduce((n, b) =>
      n + (b.lastOffset < endOffset ? b.bytes.length : 0), 0));
  }

  /**
   * A commit whose answer was lost (its call timed out, e.g. while etcd was paused) may still
   * have been applied — etcd runs a request it received once it resumes. The index then ends
   * inside what this broker still holds as pending, and every later commit of the same pending
   * batches overlaps it partially and fails (IndexContinuityError) for good: the partition could
   * never be uploaded again, nor drained. The coordinator checks every partition's epoch before
   * it checks continuity, so here the partition is still at this log's epoch, and only this log
   * commits at its epoch: the indexed part beyond `uploadedEndOffset` is this log's own earlier
   * commit of these very batches. It is marked uploaded, and the parts left are returned to be
   * committed in a new object. Null when the error is not that case (it is then thrown).
   */
  private adoptIndexed(parts: Part[], err: IndexContinuityError): Part[] | null {
    const part = parts.find((p) => p.log.topicId === err.topicId && p.log.partition === err.partition);
    if (part === undefined || part.log.fenced) return null;
    const { log, batches } = part;
    const indexedEnd = err.indexedEndOffset;
    const boundary = batches.findIndex((b) => b.lastOffset + 1 === indexedEnd);
    if (err.baseOffset !== log.uploadedEndOffset || batches[0]?.baseOffset !== log.uploadedEndOffset
      || boundary < 0) return null;
    this.log.warn({ topic: log.topicName, partition: log.partition, epoch: log.leaderEpoch,
      uploadedEndOffset: log.uploadedEndOffset, indexedEndOffset: indexedEnd },
    'the index holds an earlier commit of this partition whose answer was lost; taking it as uploaded');
    this.markUploaded(log, batches.slice(0, boundary + 1), indexedEnd);
    return parts.flatMap((p) => p !== part ? [p]
      : boundary + 1 < batches.length ? [{ log, batches: batches.slice(boundary + 1) }] : []);
  }

  /** Trims the WAL below the oldest LSN some partition still needs. */
  private async trim(): Promise<void> {
    let keepFrom = Infinity;
    for (const log of this.partitions.allLogs()) keepFrom = Math.min(keepFrom, log.lsnNeeded());
    keepFrom = Math.min(keepFrom, this.partitions.walPinnedFrom()); // another broker recovers
    assert.ok(keepFrom >= 0, 'positions are not negative');
    await this.durability.trim(keepFrom);
  }
}
