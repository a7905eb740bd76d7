/**
 * Takeover of a partition whose previous leader may have acknowledged batches that never reached
 * object storage (walMode=shared). Before the new leader serves, it reads the previous leader's
 * WAL folder, uploads that partition's batches beyond the segment index in objects of at most
 * `objectBytesMax` batch bytes, oldest first (build → PUT → commit, partition/segment-committer.ts,
 * as the uploader does), and commits each under its OWN epoch — so a commit
 * fails if leadership moved again meanwhile. Each object continues where the previous commit
 * ended, so the index stays contiguous after any failure, and a retry resumes from the index.
 * Then it clears `recoverFrom`. Nothing is copied between brokers: the WAL is on a volume all
 * brokers reach, and the data goes to object storage.
 *
 * Decision table, per WAL entry of the partition:
 *   lastOffset <  indexedEndOffset      → already in object storage: skip
 *   baseOffset == next expected offset  → take it
 *   baseOffset >  next expected offset  → a gap: only possible if the WAL lost an acknowledged
 *                                         entry, which recovery guarantees it cannot; abort loudly
 */
import { PartitionTxns, isSequenced, withTxnIndex } from '../partition/txn-index.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readBatchHeader } from '../../protocol/records/batch-header.js';
import type { PartitionState } from '../metadata/records.js';
import type { Metadata } from '../metadata/stores.js';
import { ProducerStates } from '../partition/producer-state.js';
import { SegmentCommitter } from '../partition/segment-committer.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import type { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import { WalReadOnly, partitionHeaderCodec } from '../../storage/wal/index.js';

export interface RecoveryDeps {
  metadata: Metadata;
  store: ObjectStore;
  keys: SegmentKeyAllocator;
  sharedWalDir: string;
  nowMs: () => number;
  /** Batch bytes per object (the uploader's limit): a dead broker's backlog may be any size. */
  objectBytesMax: number;
}

/** Returns the number of batches recovered (0 when the WAL held nothing beyond the index). */
export async function recoverPartition(deps: RecoveryDeps, state: PartitionState): Promise<number> {
  assert.ok(state.recoverFrom >= 0, 'a partition to recover names the broker to recover from');
  const wal = await WalReadOnly.open({
    dir: join(deps.sharedWalDir, String(state.recoverFrom)), headerCodec: partitionHeaderCodec,
    ownerFencedByCoordinator: true,
  });
  let batches: Buffer[] = [];
  let batchBytes = 0;
  let recovered = 0;
  let producers: { states: ProducerStates; txns: PartitionTxns } | null = null;
  const committer = new SegmentCommitter(deps.store, deps.metadata.segments, deps.keys, deps.nowMs);
  const commit = async () => {
    // Producer state continues from the snapshot the index holds, through the recovered batches,
    // so a producer retrying one of them is answered as a duplicate by the new leader; so does
    // the transaction index (open and aborted transactions).
    if (producers === null) {
      const loaded = PartitionTxns.fromProducerList(
        await deps.metadata.producers.loadStates(state.topicId, state.partition));
      producers = { states: new ProducerStates(loaded.producers), txns: loaded.txns };
    }
    await commitRecovered(committer, deps.nowMs, state, batches, producers);
    recovered += batches.length;
    batches = [];
    batchBytes = 0;
  };
  let next = state.indexedEndOffset;
  const first = wal.recovery.lsnFirst;
  if (first !== null) {
    for await (const e of wal.readFrom(first)) {
      if (e.header.topicId !== state.topicId || e.header.partition !== state.partition) continue;
      const h = readBatchHeader(e.payload, 0);
      if (h.lastOffset < next) continue;
      assert.equal(h.baseOffset, next, `WAL of broker ${state.recoverFrom} has a gap at ${next}`);
      if (batches.length > 0 && batchBytes + e.payload.length > deps.objectBytesMax) await commit();
      batches.push(e.payload);
      batchBytes += e.payload.length;
      next = h.lastOffset + 1;
    }
  }
  if (batches.length > 0) await commit();
  await deps.metadata.leadership.completeRecovery(state.topicId, state.partition, state.leaderEpoch);
  return recovered;
}

async function commitRecovered(committer: SegmentCommitter, nowMs: () => number,
  state: PartitionState, batches: Buffer[],
  producers: { states: ProducerStates; txns: PartitionTxns }): Promise<void> {
  const { topicId, partition } = state;
  const endOffset = readBatchHeader(batches.at(-1)!, 0).lastOffset + 1;
  await committer.commit([{ topicId, partition, batches }], () => {
    for (const b of batches) {
      const h = readBatchHeader(b, 0);
      producers.txns.apply(b, h);
      if (!isSequenced(h)) continue;
      producers.states.record({ producerId: Number(h.producerId), producerEpoch: h.producerEpoch,
        firstSequence: h.baseSequence, lastSequence: h.baseSequence + h.recordCount - 1 },
      h.baseOffset, h.lastOffset, nowMs());
    }
    return { producerStates: withTxnIndex(producers.states.snapshot(endOffset), producers.txns,
      endOffset), leaderEpoch: state.leaderEpoch };
  });
}
