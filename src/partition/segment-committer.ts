/**
 * Build → PUT → commit, the one way data reaches the segment index: the uploader (each planned
 * object) and the takeover of a dead broker's WAL (cluster/recover-partition.ts) both go through
 * here. The order is what makes a crash anywhere safe for whoever calls:
 *
 *   the PUT fails, or the process dies before it   → nothing changed; the caller still holds
 *                                                    the batches (WAL, tail) and tries again.
 *   the PUT succeeded, the commit did not          → the object is an orphan (the collector
 *                                                    deletes it); nothing points at it.
 *   the commit succeeded                           → the index holds the batches, at the epochs
 *                                                    the caller gave; replay skips them.
 */
import assert from 'node:assert/strict';
import type { ProducerPartitionState, SegmentEntry } from '../metadata/records.js';
import type { SegmentIndex } from '../metadata/stores.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import type { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import {
  type SegmentPart, type SegmentParts, buildSegmentParts,
} from '../../storage/segment/writer.js';

/** What the commit records of a partition besides its index entries. */
export interface PartitionCommitState {
  /** Its producers as of the end of the committed range (ProducerStates.snapshot). */
  producerStates: ProducerPartitionState[];
  /** The epoch the committer leads at: the commit fails (FencedError) if it has moved on. */
  leaderEpoch: number;
}

export interface CommittedSegment {
  objectKey: string;
  objectSizeBytes: number;
}

/** An object PUT and not yet committed (an orphan until it is). */
export interface PutSegment extends CommittedSegment {
  ranges: SegmentParts['ranges'];
}

export class SegmentCommitter {
  constructor(
    private readonly store: ObjectStore,
    private readonly segments: SegmentIndex,
    private readonly keys: SegmentKeyAllocator,
    private readonly nowMs: () => number,
  ) {}

  /**
   * Builds one object of `parts`, PUTs it under a new key and commits its index entries in one
   * transaction, with each part's state as `stateAfterPut` gives it once the PUT is done (so it
   * describes the log as of the commit). Throws what the PUT or the commit threw.
   */
  async commit<P extends SegmentPart>(parts: readonly P[],
    stateAfterPut: (part: P) => PartitionCommitState): Promise<CommittedSegment> {
    return this.commitPut(await this.put(parts), parts, stateAfterPut);
  }

  /**
   * The first half of commit(): builds and PUTs the object. Until commitPut() it is an orphan,
   * so a caller that holds it back (uploader.ts: it waits for the commits started before it)
   * must do so for less than the orphan age (limits.ts orphanAgeMsFloor).
   */
  async put(parts: readonly SegmentPart[]): Promise<PutSegment> {
    assert.ok(parts.length > 0 && parts.every((p) => p.batches.length > 0), 'a segment holds data');
    const built = buildSegmentParts(parts);
    let objectKey = this.keys.next(this.nowMs());
    // Keys embed node id, time and a nonce; a collision is near impossible, but overwriting
    // another broker's object would lose data, so the create is conditional.
    while (!(await this.store.putIfAbsent(objectKey, built.parts))) {
      objectKey = this.keys.next(this.nowMs());
    }
    return { objectKey, objectSizeBytes: built.bytes, ranges: built.ranges };
  }

  /** The second half of commit(): indexes the object `put` holds, of these same `parts`. */
  async commitPut<P extends SegmentPart>(put: PutSegment, parts: readonly P[],
    stateAfterPut: (part: P) => PartitionCommitState): Promise<CommittedSegment> {
    const { objectKey, objectSizeBytes } = put;
    assert.equal(put.ranges.length, parts.length, 'the object holds one range per part');
    const entries: SegmentEntry[] = put.ranges.map((r) => ({ topicId: r.topicId,
      partition: r.partition, baseOffset: r.baseOffset, lastOffset: r.lastOffset, objectKey,
      position: r.position, sizeBytes: r.sizeBytes, maxTimestampMs: r.maxTimestampMs,
      leaderEpoch: r.leaderEpoch }));
    const producerStates = new Map<string, ProducerPartitionState[]>();
    const leaderEpochs = new Map<string, number>();
    for (const part of parts) {
      const id = `${part.topicId}:${part.partition}`;
      assert.ok(!leaderEpochs.has(id), `${id}: one part per partition in an object`);
      const state = stateAfterPut(part);
      producerStates.set(id, state.producerStates);
      leaderEpochs.set(id, state.leaderEpoch);
    }
    await this.segments.commit({ objectKey, objectSizeBytes, entries, producerStates,
      leaderEpochs });
    return { objectKey, objectSizeBytes };
  }
}
