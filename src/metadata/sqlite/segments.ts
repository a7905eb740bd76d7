/**
 * SegmentIndex on SQLite: the `segments` and `objects` tables, the index columns of
 * `partitions`, and the producer states a commit carries. Fencing, contiguity and refcounts are
 * rules.ts's; this file reads and writes rows.
 */
import assert from 'node:assert/strict';
import type { ProducerPartitionState, SegmentCommit, SegmentEntry } from '../records.js';
import {
  advancedLogStart, assertCommitShape, assertOffset, fenceCommit, parsePartitionKey, planIndexing,
  sortedEntries, type IndexPlan,
} from '../rules.js';
import type { SegmentIndex } from '../stores.js';
import type { SqliteDatabase } from './database.js';

export class SqliteSegmentIndex implements SegmentIndex {
  constructor(private readonly d: SqliteDatabase) {}

  /**
   * One transaction: fence, index, record the object, replace producer states. An object left
   * with no live entry is not recorded: it is an orphan for the orphan sweep, since this method
   * has no way to return its key.
   */
  async commit(commit: SegmentCommit): Promise<void> {
    assertCommitShape(commit);
    this.d.transaction(() => {
      const states = fenceCommit(commit.leaderEpochs, (t, p) => this.d.partition(t, p));
      const plan = planIndexing(sortedEntries(commit.entries), states);
      this.applyIndexPlan(plan, commit);
      this.replaceProducerStates(commit.producerStates, plan.replayedPartitions);
    });
  }

  async list(topicId: string, partition: number, fromOffset: number, limit: number):
    Promise<SegmentEntry[]> {
    assertOffset(fromOffset, 'fromOffset');
    assert.ok(Number.isSafeInteger(limit) && limit > 0, `limit ${limit}`);
    return this.d.s.selectSegmentsFrom.all(topicId, partition, fromOffset, limit);
  }

  async findByTimestamp(topicId: string, partition: number, timestampMs: number):
    Promise<SegmentEntry | null> {
    return this.d.s.selectSegmentByTimestamp.get(topicId, partition, timestampMs) ?? null;
  }

  async partitionSizeBytes(topicId: string, partition: number): Promise<number> {
    const sizeBytes = this.d.s.selectPartitionBytes.get(topicId, partition);
    assert.ok(sizeBytes !== undefined && Number.isSafeInteger(sizeBytes));
    return sizeBytes;
  }

  async referencedObjects(): Promise<Set<string>> {
    return new Set(this.d.s.selectObjectKeys.all());
  }

  async advanceLogStart(topicId: string, partition: number, offset: number): Promise<string[]> {
    return this.d.transaction(() => {
      const target = advancedLogStart(this.d.partition(topicId, partition), topicId, partition,
        offset);
      if (target === null) return [];
      this.d.s.updateLogStart.run(target, topicId, partition);
      return this.d.releaseObjects(this.d.s.deleteSegmentsBelow.all(topicId, partition, target));
    });
  }

  private applyIndexPlan(plan: IndexPlan, commit: SegmentCommit): void {
    const { s } = this.d;
    // The object row goes first: segments reference it (a foreign key checked per statement).
    if (plan.inserts.length > 0) {
      s.upsertObject.run(commit.objectKey, commit.objectSizeBytes, plan.inserts.length,
        this.d.nowMs());
    }
    for (const entry of plan.inserts) s.insertSegment.run(entry);
    for (const [key, endOffset] of plan.endOffsets) {
      const { topicId, partition } = parsePartitionKey(key);
      s.updateIndexedEnd.run(endOffset, topicId, partition);
    }
  }

  /**
   * Replaces the producer states of each partition given, except where the commit was a pure
   * replay: its states are as of a range already indexed, so they would move state backwards.
   */
  private replaceProducerStates(producerStates: Map<string, ProducerPartitionState[]>,
    replayedPartitions: Set<string>): void {
    const { s } = this.d;
    for (const [key, states] of producerStates) {
      if (replayedPartitions.has(key)) continue;
      const { topicId, partition } = parsePartitionKey(key);
      s.deleteProducerStates.run(topicId, partition);
      for (const state of states) {
        s.insertProducerState.run(topicId, partition, state.producerId, JSON.stringify(state));
      }
    }
  }
}
