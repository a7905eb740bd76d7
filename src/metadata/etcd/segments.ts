/**
 * SegmentIndex on etcd: `segments/…/<lastOffset:020>` entries, `objects/` records with their
 * live counts, and the index columns of the partition keys.
 *
 * A commit is one transaction. Held leader epochs are fenced through the partition keys: the
 * compare on each partition key's mod_revision also pins its leader epoch, so a former leader's
 * commit fails, writes nothing, and becomes a FencedError once the re-read shows the new epoch.
 * Ops per commit, with E entries inserted over P partitions (etcd counts each branch on its own
 * against --max-txn-ops, default 128):
 *   compares: P (partition keys) + 1 (object key)
 *   success:  E (entry keys) + P (partition states) + P (producer lists, when given) + 1 (object)
 *   failure:  P + 1 (the re-reads)
 * so an object with one entry per partition costs 2P + 1 writes (3P + 1 with producer states).
 * `commitSegmentsTxnOpsMax` computes the bound; the uploader caps partitions per object to keep
 * it within `txnOpsMax`, which must not exceed the server's --max-txn-ops. Too large a commit is
 * refused before it is sent (EtcdTxnTooLargeError).
 */
import assert from 'node:assert/strict';
import type {
  EtcdCompare, EtcdKeyValue, EtcdRangeResponse, EtcdRequestOp,
} from '../../etcd/client.js';
import { prefixEnd } from '../../etcd/keys.js';
import {
  absent, deleteOp, deleteRangeOp, getOp, keyOf, modEquals, putOp, rangePages,
  rangesOf, versionedOf, type Versioned,
} from '../../etcd/txn.js';
import type {
  PartitionState, ProducerPartitionState, SegmentCommit, SegmentEntry,
} from '../records.js';
import {
  advancedLogStart, assertCommitShape, assertOffset, fenceCommit, parsePartitionKey,
  partitionKey, planIndexing, sortedEntries,
} from '../rules.js';
import type { SegmentIndex } from '../stores.js';
import {
  decodeObject, decodePartitionState, decodeSegment, encodeObject, encodePartitionState,
  encodeSegment, type ObjectRecord,
} from './codecs.js';
import {
  type BoundedProducerStates, type ProducerList, encodeProducerListsWithin,
} from './producer-states-budget.js';
import type { EtcdEngine, TxnPlan } from './engine.js';
import { etcdCoordinatorLimits, etcdKitLimits } from '../../limits.js';


/**
 * The most ops any branch of a commit's transaction needs for `commit` (see the file comment):
 * what the uploader checks against `txnOpsMax` when it packs partitions into an object.
 */
export function commitSegmentsTxnOpsMax(commit: SegmentCommit): number {
  const partitions = commit.leaderEpochs.size;
  return Math.max(commit.entries.length + 2 * partitions + 1, partitions + 1);
}

interface CommitView {
  partitions: Map<string, Versioned<PartitionState>>;
  object: Versioned<ObjectRecord>;
}

interface RetentionView {
  partition: Versioned<PartitionState>;
  /** Entries wholly below the target offset, oldest first, at most one chunk. */
  entries: SegmentEntry[];
  /** More entries below the target than one chunk. */
  more: boolean;
  objects: Map<string, Versioned<ObjectRecord>>;
}

export class EtcdSegmentIndex implements SegmentIndex {
  /** Partitions whose producer list was last cut to fit (logged when one starts being cut). */
  private readonly cutProducerLists = new Set<string>();

  constructor(private readonly e: EtcdEngine) {}

  /** One txn; see the file comment for its compares and ops. */
  async commit(commit: SegmentCommit): Promise<void> {
    assertCommitShape(commit);
    const entries = sortedEntries(commit.entries);
    const { keys, cache } = this.e;
    const partitions = [...commit.leaderEpochs.keys()].map(parsePartitionKey);
    const reads = [...partitions.map((p) => getOp(keys.partition(p.topicId, p.partition))),
      getOp(keys.object(commit.objectKey))];
    const decode = (ranges: EtcdRangeResponse[]): CommitView => ({
      partitions: new Map(partitions.map((p, i) => [partitionKey(p.topicId, p.partition),
        versionedOf(ranges[i], decodePartitionState)])),
      object: versionedOf(ranges[partitions.length], decodeObject),
    });
    const guess: CommitView = { object: absent, partitions: new Map(partitions.map((p) =>
      [partitionKey(p.topicId, p.partition), cache.partition(p.topicId, p.partition) ??
        absent])) };
    await this.e.writeLoop('commitSegments', this.e.keyReads(reads, decode),
      (view) => this.planCommit(commit, entries, view), guess);
  }

  /** Entries whose lastOffset >= fromOffset: one ascending range from key(fromOffset). */
  async list(topicId: string, partition: number, fromOffset: number, limit: number):
    Promise<SegmentEntry[]> {
    assertOffset(fromOffset, 'fromOffset');
    assert.ok(Number.isSafeInteger(limit) && limit > 0, `limit ${limit}`);
    const start = this.e.keys.segment(topicId, partition, fromOffset);
    const end = prefixEnd(this.e.keys.segmentsOfPartition(topicId, partition));
    const entries: SegmentEntry[] = [];
    for await (const page of rangePages(this.e.client, Buffer.from(start), end, { limit })) {
      for (const kv of page) entries.push(decodeSegment(keyOf(kv), kv.value));
    }
    return entries;
  }

  /** Walks the partition in offset order to the first match: timestamps are not monotonic. */
  async findByTimestamp(topicId: string, partition: number, timestampMs: number):
    Promise<SegmentEntry | null> {
    for await (const page of this.pages(topicId, partition)) {
      for (const kv of page) {
        const entry = decodeSegment(keyOf(kv), kv.value);
        if (entry.maxTimestampMs >= timestampMs) return entry;
      }
    }
    return null;
  }

  async partitionSizeBytes(topicId: string, partition: number): Promise<number> {
    let sizeBytes = 0;
    for await (const page of this.pages(topicId, partition)) {
      for (const kv of page) sizeBytes += decodeSegment(keyOf(kv), kv.value).sizeBytes;
    }
    assert.ok(Number.isSafeInteger(sizeBytes));
    return sizeBytes;
  }

  async referencedObjects(): Promise<Set<string>> {
    const prefix = this.e.keys.objectsPrefix();
    const objectKeys = new Set<string>();
    for await (const page of rangePages(this.e.client, Buffer.from(prefix), prefixEnd(prefix),
      { keysOnly: true })) {
      for (const kv of page) objectKeys.add(this.e.keys.objectKeyOf(keyOf(kv)));
    }
    return objectKeys;
  }

  /**
   * Moves the log start and deletes the entries wholly below it. A move over more entries than
   * one txn can release is done in steps, each its own txn moving the log start part of the way
   * (every intermediate state is one retention could have produced).
   */
  async advanceLogStart(topicId: string, partition: number, offset: number): Promise<string[]> {
    assertOffset(offset, 'log start offset');
    const deadObjectKeys: string[] = [];
    for (;;) {
      const step = await this.e.writeLoop('advanceLogStartOffset', {
        read: () => this.readRetentionView(topicId, partition, offset),
      }, (view) => this.planRetentionStep(topicId, partition, offset, view));
      deadObjectKeys.push(...step.deadObjectKeys);
      if (step.done) return deadObjectKeys.sort();
    }
  }

  private pages(topicId: string, partition: number): AsyncGenerator<EtcdKeyValue[]> {
    const prefix = this.e.keys.segmentsOfPartition(topicId, partition);
    return rangePages(this.e.client, Buffer.from(prefix), prefixEnd(prefix));
  }

  private planCommit(commit: SegmentCommit, entries: SegmentEntry[], view: CommitView):
    TxnPlan<void> {
    const { keys } = this.e;
    const states = fenceCommit(commit.leaderEpochs,
      (topicId, partition) => view.partitions.get(partitionKey(topicId, partition))?.value ?? null);
    const compare: EtcdCompare[] = [...states.keys()].map((key) => {
      const { topicId, partition } = parsePartitionKey(key);
      return modEquals(keys.partition(topicId, partition), view.partitions.get(key)!.modRevision);
    });
    const plan = planIndexing(entries, states);
    const success: EtcdRequestOp[] = [];
    if (plan.inserts.length > 0) {
      const objectKey = keys.object(commit.objectKey);
      const existing = view.object.value;
      compare.push(modEquals(objectKey, view.object.modRevision));
      success.push(putOp(objectKey, encodeObject({
        sizeBytes: existing?.sizeBytes ?? commit.objectSizeBytes,
        liveEntries: (existing?.liveEntries ?? 0) + plan.inserts.length,
        createdAtMs: existing?.createdAtMs ?? this.e.nowMs() })));
    }
    for (const entry of plan.inserts) {
      success.push(putOp(keys.segment(entry.topicId, entry.partition, entry.lastOffset),
        encodeSegment(entry)));
    }
    for (const [key, indexedEndOffset] of plan.endOffsets) {
      const state = states.get(key)!;
      success.push(putOp(keys.partition(state.topicId, state.partition),
        encodePartitionState({ ...state, indexedEndOffset })));
    }
    success.push(...this.producerStateOps(commit.producerStates, plan.replayedPartitions));
    return { compare, success, result: undefined };
  }

  /** Replaces each partition's producer list, except after a pure replay: its states are as of
   *  a range already indexed and would move the state backwards. Lists too large for one value,
   *  or together for one request, are cut to their most recently active producers
   *  (producer-states-budget.ts). */
  private producerStateOps(producerStates: Map<string, ProducerPartitionState[]>,
    replayedPartitions: Set<string>): EtcdRequestOp[] {
    const ops: EtcdRequestOp[] = [];
    const lists: ProducerList[] = [];
    for (const [key, states] of producerStates) {
      if (replayedPartitions.has(key)) continue;
      if (states.length > 0) {
        lists.push({ partition: key, states });
        continue;
      }
      const { topicId, partition } = parsePartitionKey(key);
      ops.push(deleteOp(this.e.keys.producers(topicId, partition)));
    }
    const encoded = encodeProducerListsWithin(lists, etcdCoordinatorLimits.producerStatesBytesMax,
      etcdCoordinatorLimits.producerListsPerCommitBytesMax);
    for (const [key, list] of encoded) {
      const { topicId, partition } = parsePartitionKey(key);
      this.noteCut(key, list);
      ops.push(putOp(this.e.keys.producers(topicId, partition), list.value));
    }
    return ops;
  }

  /** Logs when a partition's producer list starts being cut, and when it fits again. */
  private noteCut(key: string, list: BoundedProducerStates): void {
    if (list.leftOut > 0 && !this.cutProducerLists.has(key)) {
      this.cutProducerLists.add(key);
      this.e.log(`producer states of ${key}: ${list.leftOut} least recently active producers ` +
        `left out of its list (${list.kept} kept, ${Buffer.byteLength(list.value)} bytes); ` +
        'after a failover a new leader takes them as new producers (a lower ' +
        'producer.id.expiration.ms keeps fewer)', null);
    } else if (list.leftOut === 0 && this.cutProducerLists.delete(key)) {
      this.e.log(`producer states of ${key}: every producer fits the list again`, null);
    }
  }

  /** The partition, and at most one txn's worth of entries wholly below `offset` with their
   *  objects. Entries are keyed by last offset, so they are the range [partition, key(offset)). */
  private async readRetentionView(topicId: string, partition: number, offset: number):
    Promise<RetentionView> {
    const { keys } = this.e;
    const entriesMax = Math.min(this.e.txnOpsMax - 2, etcdKitLimits.rangePageKeysMax);
    const segmentsPrefix = keys.segmentsOfPartition(topicId, partition);
    const response = await this.e.txn([], [getOp(keys.partition(topicId, partition)),
      { request_range: { key: Buffer.from(segmentsPrefix), limit: entriesMax,
        range_end: Buffer.from(keys.segment(topicId, partition, offset)) } }], []);
    const [partitionRange, segmentRange] = rangesOf(response);
    assert.ok(segmentRange !== undefined);
    const entries = segmentRange.kvs.map((kv) => decodeSegment(keyOf(kv), kv.value));
    const objects = await this.e.readObjects(new Set(entries.map((e) => e.objectKey)));
    return { partition: versionedOf(partitionRange, decodePartitionState), entries,
      more: segmentRange.more, objects };
  }

  private planRetentionStep(topicId: string, partition: number, offset: number,
    view: RetentionView): TxnPlan<{ done: boolean; deadObjectKeys: string[] }> {
    const state = view.partition.value;
    if (advancedLogStart(state, topicId, partition, offset) === null) {
      return { compare: [], success: [], result: { done: true, deadObjectKeys: [] } };
    }
    assert.ok(state !== null);
    const last = view.entries.at(-1);
    const target = view.more && last !== undefined ? last.lastOffset + 1 : offset;
    assert.ok(target > state.logStartOffset && target <= offset, 'retention moves forward');
    const { keys } = this.e;
    const partitionStateKey = keys.partition(topicId, partition);
    const compare = [modEquals(partitionStateKey, view.partition.modRevision)];
    for (const [objectKey, record] of view.objects) {
      compare.push(modEquals(keys.object(objectKey), record.modRevision));
    }
    const released = this.e.objectReleaseOps(view.entries, view.objects);
    const success = [putOp(partitionStateKey,
      encodePartitionState({ ...state, logStartOffset: target })), ...released.ops];
    if (view.entries.length > 0) {
      success.push(deleteRangeOp(keys.segmentsOfPartition(topicId, partition),
        keys.segment(topicId, partition, target)));
    }
    return { compare, success,
      result: { done: target === offset, deadObjectKeys: released.deadObjectKeys } };
  }
}
