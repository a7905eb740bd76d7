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
import { readBatchHeader } from '../../protocol/records/batch-header.js';
import type { PartitionState } from '../metadata/records.js';
import type { Metadata } from '../metadata/stores.js';
import { ProducerStates } from '../partition/producer-state.js';
import { SegmentCommitter } from '../partition/segment-committer.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import type { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import {
  emptyReadOnceReport, partitionHeaderCodec, partitionKey, partitionKeyOfHeader, readWalOnce,
} from '../../storage/wal/index.js';
import { recoveryLimits } from '../limits.js';
import { brokerWalDir } from '../config/config.js';

export interface RecoveryDeps {
  metadata: Metadata;
  store: ObjectStore;
  keys: SegmentKeyAllocator;
  sharedWalDir: string;
  nowMs: () => number;
  /** Batch bytes per object (the uploader's limit): a dead broker's backlog may be any size. */
  objectBytesMax: number;
}

/** One partition's part of a recovery: where it stands, and the batches not yet committed. */
interface PartitionRecovery {
  state: PartitionState;
  next: number;
  batches: Buffer[];
  batchBytes: number;
  recovered: number;
  producers: { states: ProducerStates; txns: PartitionTxns } | null;
}

/** What one partition's recovery did: batches recovered (0: nothing beyond the index), the
 *  partition's state after (recoverFrom cleared, the index end past the recovered batches), and
 *  where the read it was part of spent its time. */
export interface RecoveredPartition {
  batches: number;
  state: PartitionState;
  replay: ReplayProfile;
}

/** Where one read of a dead broker's WAL spent its time (logged, and split out by
 *  bench/failover): a failover waits for all of it. */
export interface ReplayProfile {
  /** WAL entries of the partitions recovered (the others are skipped undecoded). */
  walEntries: number;
  /** WAL bytes scanned: from the owner's upload checkpoint on, or every segment without one. */
  walBytesRead: number;
  /** WAL bytes on disk before the start position (uploaded, not read). */
  walBytesSkipped: number;
  /** Batch bytes beyond the index, i.e. what the replay had to recover. */
  recoveredBytes: number;
  /** Why the read did not start at the checkpoint (null: it did). */
  checkpointRefused: string | null;
  /** Reading (and validating) the WAL, less the commits made on the way. */
  walReadMs: number;
  /** Producer state loads, PUTs and index commits of the recovered batches, completeRecovery. */
  commitMs: number;
}

/**
 * Recovers every partition of `states` (all from the same broker's WAL) in ONE read of that WAL:
 * a dead broker's partitions come to their new leaders all at once, and a read of the whole WAL
 * for each of them made the last one open hundreds of milliseconds after the first. At most
 * `recoveryLimits.partitionsPerReadMax` partitions, each holding at most `objectBytesMax` batch
 * bytes before it commits, so the memory a read holds is bounded.
 */
export async function recoverPartitions(deps: RecoveryDeps, states: readonly PartitionState[]):
  Promise<RecoveredPartition[]> {
  const from = states[0]?.recoverFrom ?? -1;
  assert.ok(from >= 0, 'a partition to recover names the broker to recover from');
  assert.ok(states.every((s) => s.recoverFrom === from), 'one WAL per read');
  assert.ok(states.length <= recoveryLimits.partitionsPerReadMax, `${states.length} partitions`);
  const replay: ReplayProfile = { walEntries: 0, walBytesRead: 0, walBytesSkipped: 0,
    recoveredBytes: 0, checkpointRefused: null, walReadMs: 0, commitMs: 0 };
  const committer = new SegmentCommitter(deps.store, deps.metadata.segments, deps.keys, deps.nowMs);
  const byPartition = new Map<string, PartitionRecovery>(states.map((state) => [
    `${state.topicId}:${state.partition}`, { state, next: state.indexedEndOffset, batches: [],
      batchBytes: 0, recovered: 0, producers: null }]));
  assert.equal(byPartition.size, states.length, 'each partition once');
  const readAtMs = performance.now();
  await readBacklog(deps, from, byPartition, committer, replay);
  replay.walReadMs = performance.now() - readAtMs - replay.commitMs;
  const commitAtMs = performance.now();
  const out: RecoveredPartition[] = [];
  const pending = [...byPartition.values()];
  // A few partitions at a time: each commit is fenced by its own epoch and independent of the
  // others. All of a group settle before a failure is thrown: none is left running unawaited.
  for (let i = 0; i < pending.length; i += recoveryLimits.commitsInFlightMax) {
    const group = pending.slice(i, i + recoveryLimits.commitsInFlightMax);
    const settled = await Promise.allSettled(group.map((r) => finishPartition(deps, committer, r)));
    for (const result of settled) {
      if (result.status === 'rejected') throw result.reason;
      out.push({ ...result.value, replay });
    }
  }
  assert.equal(out.length, states.length, 'every partition recovered');
  replay.commitMs += performance.now() - commitAtMs;
  return out;
}

/** Commits what is left of one partition's backlog, then clears its recoverFrom. */
async function finishPartition(deps: RecoveryDeps, committer: SegmentCommitter,
  r: PartitionRecovery): Promise<Omit<RecoveredPartition, 'replay'>> {
  if (r.batches.length > 0) await commitPending(deps, committer, r);
  const { topicId, partition, leaderEpoch } = r.state;
  const after = await deps.metadata.leadership.completeRecovery(topicId, partition, leaderEpoch);
  return { batches: r.recovered, state: after };
}

/**
 * Takes each recovered partition's batches beyond its index from the WAL (see the table); a
 * partition holding objectBytesMax commits on the way. One pass, validating as it reads, and the
 * other partitions' entries are skipped by their raw header (storage/wal/read-once.ts): the WAL
 * holds everything its broker wrote since its last segment roll, the recovery needs a little,
 * and the read starts at the owner's upload checkpoint (storage/wal/checkpoint.ts) when it can.
 */
async function readBacklog(deps: RecoveryDeps, from: number,
  byPartition: ReadonlyMap<string, PartitionRecovery>, committer: SegmentCommitter,
  replay: ReplayProfile): Promise<void> {
  const byKey = new Map([...byPartition.values()].map((r) =>
    [partitionKey(r.state.topicId, r.state.partition), r]));
  const report = emptyReadOnceReport();
  const entries = readWalOnce({ dir: brokerWalDir(deps.sharedWalDir, from),
    headerCodec: partitionHeaderCodec, ownerFencedByCoordinator: true, report,
    wanted: (header) => byKey.has(partitionKeyOfHeader(header)) });
  for await (const e of entries) {
    replay.walEntries++;
    const r = byPartition.get(`${e.header.topicId}:${e.header.partition}`);
    assert.ok(r !== undefined, 'only the partitions recovered are read');
    const h = readBatchHeader(e.payload, 0);
    if (h.lastOffset < r.next) continue;
    assert.equal(h.baseOffset, r.next, `WAL of broker ${from} has a gap at ${r.next}`);
    if (r.batches.length > 0 && r.batchBytes + e.payload.length > deps.objectBytesMax) {
      const commitAtMs = performance.now();
      await commitPending(deps, committer, r);
      replay.commitMs += performance.now() - commitAtMs;
    }
    r.batches.push(e.payload);
    r.batchBytes += e.payload.length;
    replay.recoveredBytes += e.payload.length;
    r.next = h.lastOffset + 1;
  }
  replay.walBytesRead = report.bytesRead;
  replay.walBytesSkipped = report.bytesSkipped;
  replay.checkpointRefused = report.checkpointRefused;
}

/** Recovers one partition (see recoverPartitions). */
export async function recoverPartition(deps: RecoveryDeps, state: PartitionState):
  Promise<RecoveredPartition> {
  const [recovered] = await recoverPartitions(deps, [state]);
  return recovered!;
}

async function commitPending(deps: RecoveryDeps, committer: SegmentCommitter,
  r: PartitionRecovery): Promise<void> {
  // Producer state continues from the snapshot the index holds, through the recovered batches,
  // so a producer retrying one of them is answered as a duplicate by the new leader; so does
  // the transaction index (open and aborted transactions).
  if (r.producers === null) {
    const loaded = PartitionTxns.fromProducerList(
      await deps.metadata.producers.loadStates(r.state.topicId, r.state.partition));
    r.producers = { states: new ProducerStates(loaded.producers), txns: loaded.txns };
  }
  await commitRecovered(committer, deps.nowMs, r.state, r.batches, r.producers);
  r.recovered += r.batches.length;
  r.batches = [];
  r.batchBytes = 0;
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
