/**
 * Moves durable data to object storage: every `uploadIntervalMs`, or as soon as
 * `uploadBytesMax` is waiting (or, by upload, a produce is), but never more than one PUT per
 * `putGapMs` (put-pacer.ts: what arrives meanwhile rides the next PUT), it packs the pending
 * batches of all partitions into objects of at most `objectBytesMax` batch bytes, oldest first
 * (upload-plan.ts), and uploads one object per PUT slot. Each upload PUTs its object, commits
 * the object's index to the coordinator in ONE transaction, then trims the WAL (through the
 * durability strategy, durability/: with durability by upload there is no WAL, every batch may
 * be taken at once, and its produce is acknowledged by the commit).
 *
 * Uploads overlap (at most partitionLimits.uploadsInFlightMax): the next PUT starts on its slot
 * even while the one before is in flight, so a slow PUT does not hold back every batch behind it.
 * The commits take turns in start order (commit-turns.ts), and after a failure the later turns
 * fail without committing, so per partition the index only ever grows by a prefix of what is
 * pending. An object that waited longer than `turnWaitMsMax` for its turn is not committed (the
 * orphan collector may already be free to take it). The order is what makes every crash
 * window safe:
 *
 *   crash before the PUT completes     → WAL still has everything; replay re-uploads.
 *   crash after PUT, before the commit → the object is an orphan (collected later); replay
 *                                        re-uploads into a new object.
 *   crash after commit, before trim    → replay skips what the index already holds.
 */
import { withTxnIndex } from './txn-index.js';
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import type { Metadata } from '../metadata/stores.js';
import { FencedError } from '../metadata/records.js';
import { IndexContinuityError } from '../metadata/rules.js';
import type { Metrics } from '../metrics.js';
import { partitionLimits } from '../limits.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import type { Durability } from './durability/durability.js';
import type { PartitionLog } from './partition-log.js';
import type { TailBatch } from './partition-tail.js';
import type { PartitionManager } from './partition-manager.js';
import { CommitTurns } from './commit-turns.js';
import { PutPacer } from './put-pacer.js';
import { type CommittedSegment, type PutSegment, SegmentCommitter } from './segment-committer.js';
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
  /**
   * Longest an object PUT may wait for the commits started before it (limits.ts
   * uploadTurnWaitMsMax, which the orphan age covers); one that waited longer is not committed.
   */
  turnWaitMsMax: number;
  /** Wall-clock time: object keys, and how long an outage lasted. */
  nowMs: () => number;
  /** Monotonic time, for upload latency. */
  monotonicNowMs: () => number;
}

type Part = PendingPart<PartitionLog, TailBatch>;

interface TimedPut {
  segment: PutSegment;
  doneMs: number;
}


export class Uploader {
  private timer: NodeJS.Timeout | undefined;
  /** Uploads started and not settled (each one object: PUT, then its commit's turn). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Passes of flush() running: no paced upload starts meanwhile. */
  private flushes = 0;
  private readonly flushRuns = new Set<Promise<void>>();
  /**
   * Per log, the end offset of what uploads in flight have taken: the next cut starts there.
   * Emptied once none is in flight (what they did not commit is pending again).
   */
  private readonly takenEnd = new Map<PartitionLog, number>();
  private readonly turns = new CommitTurns();
  /** Uploads (paced or of a flush) taken and not settled: takenEnd is kept while any is. */
  private uploadsRunning = 0;
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
    this.timer = setTimeout(() => this.tick(), delayMs);
  }

  /** Called after each append; uploads early once enough is waiting. */
  noteAppended(sizeBytes: number): void {
    this.pendingBytes += sizeBytes;
    this.backlogBytes += sizeBytes;
    this.metrics.uploadBacklog.set(this.backlogBytes);
    // Durability by upload: produces wait for it, so it starts as soon as the pacer lets it —
    // and batches that arrive meanwhile ride the next one (group commit, one PUT and one commit
    // for many).
    if (this.due && this.mayStart) this.schedule(this.pacer.waitMs());
  }

  private get due(): boolean {
    return (this.durability.awaitingUpload && this.pendingBytes > 0)
      || this.pendingBytes >= this.options.uploadBytesMax;
  }

  /**
   * A paced upload may start: a slot in the pipeline is free, no flush runs, and after a failure
   * the uploads that saw it have all settled (each new one would fail its turn).
   */
  private get mayStart(): boolean {
    return this.inFlight.size < partitionLimits.uploadsInFlightMax && this.flushes === 0
      && !(this.failures > 0 && this.inFlight.size > 0);
  }

  /** True while uploads fail (the object store is down, full or refusing). */
  get failing(): boolean {
    return this.failures > 0;
  }

  /**
   * Uploads everything pending now, unpaced, one object after another, once the uploads in flight
   * have settled — for shutdown, handoffs and tests. Throws the first failure.
   */
  async flush(): Promise<void> {
    const run = this.flushOnce();
    this.flushRuns.add(run);
    try {
      await run;
    } finally {
      this.flushRuns.delete(run);
    }
  }

  private async flushOnce(): Promise<void> {
    this.flushes++;
    try {
      await this.settled();
      const objects = this.cut();
      for (const parts of objects) await this.upload(parts);
      if (objects.length === 0) await this.trim();
    } finally {
      this.flushes--;
      this.refreshBacklog();
      // Ticks that fired meanwhile started nothing: what arrived since goes at the next slot.
      if (this.flushes === 0 && this.due) this.scheduleNext(false);
    }
  }

  /** Stops the timer; resolves once no upload and no flush runs any more. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.flushRuns.size > 0) await Promise.allSettled(this.flushRuns);
    await this.settled();
  }

  /** Resolves once no upload is in flight (whether they succeeded or not). */
  private async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
  }

  /** A timer fired: starts one paced upload if it may, and sets the timer for the next. */
  private tick(): void {
    if (!this.mayStart) return; // the upload that settles next sets the timer again
    const waitMs = this.pacer.waitMs();
    if (waitMs > 0) {
      this.schedule(waitMs);
      return;
    }
    const objects = this.cut();
    // One object per PUT slot: what else is pending is cut again at the next slot, with what
    // arrived meanwhile. With nothing pending, the WAL is trimmed (once nothing is in flight:
    // trims run in the commits' order).
    const morePlanned = objects.length > 1;
    if (objects.length > 0) this.track(this.upload(objects[0]!), morePlanned);
    else if (this.inFlight.size === 0) this.track(this.trim(), false);
    this.scheduleNext(morePlanned);
  }

  /** Counts `work` in flight until it settles, then sets the timer again. */
  private track(work: Promise<void>, morePlanned: boolean): void {
    const run = work.then(() => this.noteSuccess(), (err: unknown) => this.noteFailure(err));
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      this.refreshBacklog();
      this.scheduleNext(morePlanned);
    });
  }

  /** Sets the timer after an upload started or settled. */
  private scheduleNext(morePlanned: boolean): void {
    if (this.failures > 0) {
      // Backoff once every upload that saw the failure has settled.
      if (this.inFlight.size === 0) {
        this.schedule(Math.min(partitionLimits.uploadRetryMsMax,
          this.options.uploadIntervalMs * 2 ** Math.min(this.failures, 8)));
      }
      return;
    }
    if (!this.mayStart) return;
    this.schedule(morePlanned || this.due ? this.pacer.waitMs() : this.options.uploadIntervalMs);
  }

  private noteSuccess(): void {
    if (this.failures > 0) {
      const outageMs = this.options.nowMs() - this.failingSinceMs;
      this.log.info({ failures: this.failures, outageMs }, 'uploads resumed');
    }
    this.failures = 0;
  }

  private noteFailure(err: unknown): void {
    this.failures++;
    this.metrics.uploadErrors.inc();
    // One ERROR per outage, not a stack per retry: the retries are on the metric and at debug.
    const reason = err instanceof Error ? err.message : String(err);
    if (this.failures === 1) {
      this.failingSinceMs = this.options.nowMs();
      // The reason says which step failed: the object store's PUT, or the metadata commit.
      this.log.error({ reason, backlogBytes: this.pendingBytes },
        'uploads failing: an object was not stored or not committed; retrying with backoff');
    } else {
      this.log.debug({ reason, failures: this.failures }, 'upload failed again; will retry');
    }
  }

  /**
   * The pending batches no upload in flight has taken, planned into objects. The cut is taken
   * synchronously: every batch durable up to the uploadable position is in it.
   */
  private cut(): Part[][] {
    const lsnMax = this.durability.uploadablePositionMax;
    const pending: Part[] = [];
    let sizeBytes = 0;
    for (const log of this.partitions.allLogs()) {
      const takenEnd = this.takenEnd.get(log) ?? -1;
      const batches = log.uploadable(lsnMax).filter((b) => b.baseOffset >= takenEnd);
      if (batches.length === 0) continue;
      pending.push({ log, batches });
      for (const b of batches) sizeBytes += b.bytes.length;
    }
    this.pendingBytes = Math.max(0, this.pendingBytes - sizeBytes);
    return planUploadObjects(pending, { objectBytesMax: this.options.objectBytesMax,
      partitionsMax: this.options.partitionsPerObjectMax });
  }

  /**
   * One object: takes its batches, PUTs it at once, and commits it in its turn (after every
   * upload started before it committed), then trims. Its batches are free for a later cut again
   * once no upload is running.
   */
  private async upload(parts: Part[]): Promise<void> {
    for (const p of parts) {
      const end = p.batches.at(-1)!.lastOffset + 1;
      assert.ok(p.batches[0]!.baseOffset >= (this.takenEnd.get(p.log) ?? -1),
        'an upload takes batches no other upload holds');
      this.takenEnd.set(p.log, end);
    }
    this.uploadsRunning++;
    try {
      this.pacer.started();
      const startMs = this.options.monotonicNowMs();
      const put = this.putNow(parts);
      put.catch(() => {}); // its failure is its turn's: not unhandled while earlier turns run
      await this.turns.take(() => this.commitInTurn(parts, put, startMs));
    } finally {
      if (--this.uploadsRunning === 0) this.takenEnd.clear();
    }
  }

  /** An upload's turn: commit, mark what it holds uploaded (acknowledging it), trim. */
  private async commitInTurn(parts: Part[], put: Promise<TimedPut>, startMs: number):
    Promise<void> {
    let committed: CommittedSegment;
    try {
      const { segment, doneMs } = await put;
      const waitedMs = this.options.monotonicNowMs() - doneMs;
      if (waitedMs > this.options.turnWaitMsMax) {
        // The orphan collector may take it any time now: its batches go in a new object.
        throw new Error(`object ${segment.objectKey} waited ${Math.round(waitedMs)} ms for ` +
          'the commits before it; not committing it');
      }
      committed = await this.committer.commitPut(segment, segmentParts(parts), (p) => ({
        producerStates: withTxnIndex(p.log.producers.snapshot(p.endOffset), p.log.txns,
          p.endOffset), leaderEpoch: p.log.leaderEpoch }));
    } catch (err) {
      const rest = this.recoverCommit(parts, err);
      if (rest === null) throw err;
      if (rest.length === 0) return;
      // This object is an orphan now (collected later); what is left goes in a new one, in this
      // same turn: the uploads after it continue where it ends.
      this.pacer.started();
      return this.commitInTurn(rest, this.putNow(rest), startMs);
    }
    for (const p of parts) this.markUploaded(p.log, p.batches, p.batches.at(-1)!.lastOffset + 1);
    this.metrics.uploadBytes.inc(committed.objectSizeBytes);
    this.metrics.uploadLatency.observe((this.options.monotonicNowMs() - startMs) / 1000);
    this.log.debug({ key: committed.objectKey, partitions: parts.length,
      sizeBytes: committed.objectSizeBytes }, 'segment uploaded');
    this.refreshBacklog();
    // Trim after each object: a large backlog frees its WAL segments as it drains.
    await this.trim();
  }

  /** PUTs the object of `parts`, noting when it was done (monotonic ms). */
  private async putNow(parts: Part[]): Promise<TimedPut> {
    const segment = await this.committer.put(segmentParts(parts));
    return { segment, doneMs: this.options.monotonicNowMs() };
  }

  /**
   * A failed commit: a fenced partition stops being served (the others retry next time); a
   * commit this log already applied is adopted (adoptIndexed), and what is left of `parts`
   * returned. Null: the error stands.
   */
  private recoverCommit(parts: Part[], err: unknown): Part[] | null {
    if (err instanceof FencedError) {
      this.log.warn({ err }, 'segment commit fenced; giving up the partition');
      for (const p of parts) {
        if (p.log.topicId === err.topicId && p.log.partition === err.partition) p.log.fence('commit fenced');
      }
    }
    return err instanceof IndexContinuityError ? this.adoptIndexed(parts, err) : null;
  }

  private markUploaded(log: PartitionLog, batches: readonly TailBatch[], endOffset: number): void {
    log.markUploaded(endOffset);
    let sizeBytes = 0;
    let count = 0;
    for (const b of batches) {
      if (b.lastOffset >= endOffset) continue;
      sizeBytes += b.bytes.length;
      count += 1;
    }
    this.tailMemory.uploaded(log, endOffset, sizeBytes, count);
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

/** The object of `parts`, as the committer builds it. */
function segmentParts(parts: readonly Part[]) {
  return parts.map((p) => ({ topicId: p.log.topicId, partition: p.log.partition,
    batches: p.batches.map((b) => b.bytes), log: p.log, endOffset: p.batches.at(-1)!.lastOffset + 1 }));
}
