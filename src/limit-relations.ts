/**
 * How the limits of src/limits.ts (and storage/limits.ts) relate: the values derived from them,
 * the assertions that they fit together (run once when this module loads, which every broker
 * does through its config), and the relations between settings that stop start-up with one line
 * naming the setting. The numbers themselves, each with its reason, are in src/limits.ts.
 */
import assert from 'node:assert/strict';
import {
  adminLimits, batchBytesMax, controllerLimits, etcdCoordinatorLimits, externalLimits,
  fetchLimits, groupLimits, handoffLimits, membershipLimits, partitionLimits, produceLimits,
  settingBounds, settingDefaults, storageLimits, transactionLimits,
} from './limits.js';
import { KiB, s3StoreDefaults, segmentLimits } from '../storage/limits.js';

/**
 * Partitions one uploaded object may hold: with etcd, as many as one commit transaction takes
 * (`etcdCommitOpsPerPartition` ops each, plus `etcdCommitOpsFixed`, within `etcdTxnOpsMax`).
 */
export function uploadPartitionsPerObjectMax(coordinator: string, etcdTxnOpsMax: number): number {
  if (coordinator !== 'etcd') return partitionLimits.embeddedPartitionsPerObjectMax;
  const fit = (etcdTxnOpsMax - partitionLimits.etcdCommitOpsFixed) /
    partitionLimits.etcdCommitOpsPerPartition;
  return Math.max(1, Math.floor(fit));
}

/** One upload at most: every attempt of its PUT, then one etcd call for its commit. */
function uploadMsMax(s3RequestTimeoutMs: number): number {
  const putMsMax = s3RequestTimeoutMs * s3StoreDefaults.maxAttempts;
  return putMsMax + etcdCoordinatorLimits.callTimeoutMsDefault;
}

/**
 * How long an object PUT may wait for the commits of the uploads started before it (at most
 * uploadsInFlightMax - 1 of them, each at most uploadMsMax). The uploader refuses to commit an
 * object that waited longer (its batches go in a new one), so the bound holds whatever happens.
 */
export function uploadTurnWaitMsMax(s3RequestTimeoutMs: number): number {
  return (partitionLimits.uploadsInFlightMax - 1) * uploadMsMax(s3RequestTimeoutMs);
}

/**
 * An object is in no index entry from its PUT until its commit returns. The orphan collector
 * must leave it alone that long: every attempt of the PUT, its wait for the commits before it,
 * then one etcd call.
 */
export function orphanAgeMsFloor(s3RequestTimeoutMs: number): number {
  return uploadMsMax(s3RequestTimeoutMs) + uploadTurnWaitMsMax(s3RequestTimeoutMs);
}

/** Everything the load-time relations read; tests feed altered copies to `assertBrokerLimits`. */
export const brokerLimits = Object.freeze({
  external: externalLimits, settings: settingDefaults, bounds: settingBounds,
  storage: storageLimits, batchBytesMax, segment: segmentLimits, produce: produceLimits,
  fetch: fetchLimits, admin: adminLimits, group: groupLimits, partition: partitionLimits,
  etcd: etcdCoordinatorLimits, membership: membershipLimits, controller: controllerLimits,
  handoff: handoffLimits, transaction: transactionLimits,
});
/** The limits' shape with any numbers in it (tests check the relations on altered copies). */
export type BrokerLimits = Widen<typeof brokerLimits>;
type Widen<T> = { readonly [K in keyof T]: T[K] extends number ? number : Widen<T[K]> };

/** Produce path: a message fits a WAL entry, and an entry fits a request. */
function assertProduceRelations(l: BrokerLimits): void {
  const s = l.settings;
  assert.ok(s.messageBytesMax <= l.batchBytesMax, 'a message fits a WAL entry (messageBytesMax)');
  assert.ok(l.bounds.messageBytesMaxMax <= l.batchBytesMax,
    'no messageBytesMax allowed exceeds a WAL entry');
  // The largest batch must be sendable: one Produce request carries it with headers to spare.
  assert.ok(l.batchBytesMax + 64 * KiB <= s.requestBytesMax, 'a WAL entry fits a request');
  // Any request admitted must be readable: the request pool holds at least one whole.
  assert.ok(s.requestBytesMax <= s.clientMemoryBytesMax, 'a request fits clientMemoryBytesMax');
  // A fetch answer and a connection's unsent bytes can each be held in full by default.
  assert.ok(s.fetchMaxBytes <= s.clientMemoryBytesMax, 'a fetch answer fits clientMemoryBytesMax');
  assert.ok(s.unsentBytesMax <= s.clientMemoryBytesMax, 'unsent bytes fit clientMemoryBytesMax');
  // The answer to a produce held for a handoff must reach the client before it gives up on it.
  assert.ok(l.produce.handoffAnswerWaitMsMax * 4 <= l.external.kafkaClientRequestTimeoutMs,
    'a held produce answer comes well within a client request timeout');
}

/** WAL and uploads: segments hold entries, uploads start before produce is refused. */
function assertStorageRelations(l: BrokerLimits): void {
  const s = l.settings;
  assert.ok(l.bounds.walSegmentBytesMin > l.storage.walEntryBytesMax,
    'the smallest walSegmentBytesMax holds the largest WAL entry');
  assert.ok(s.walSegmentBytesMax >= l.bounds.walSegmentBytesMin, 'walSegmentBytesMax default');
  assert.ok(s.uploadObjectBytesMax <= l.bounds.uploadObjectBytesMaxMax, 'uploadObjectBytesMax');
  // The size trigger fires well before the backlog refuses produce.
  assert.ok(s.uploadBytesMax <= s.uploadBacklogBytesMax,
    'an upload starts before produce is refused');
  // A batch never waits longer for its upload than a client waits for its answer.
  const putGapMsMax = 1000 / Math.min(s.uploadPutsPerSecondMax, s.objectWalPutsPerSecondMax);
  const uploadWaitMsMax = Math.max(s.uploadIntervalMs, putGapMsMax) + l.partition.uploadRetryMsMax;
  assert.ok(uploadWaitMsMax < l.external.kafkaClientRequestTimeoutMs,
    'an upload is tried within a client request timeout');
  assert.ok(orphanAgeMsFloor(s.s3RequestTimeoutMs) < s.orphanAgeMsMin,
    'an object being committed is never an orphan');
  assert.ok(l.partition.embeddedPartitionsPerObjectMax <= l.segment.rangesPerObjectMax,
    'an object of the most partitions fits the segment footer');
}

/** etcd: partitions per object × ops fit a transaction; values fit a request. */
function assertEtcdRelations(l: BrokerLimits): void {
  for (const txnOps of [l.bounds.etcdTxnOpsMin, l.settings.etcdTxnOpsMax]) {
    const partitions = Math.floor((txnOps - l.partition.etcdCommitOpsFixed) /
      l.partition.etcdCommitOpsPerPartition);
    assert.ok(partitions >= 1, `a segment commit of one partition fits ${txnOps} ops`);
    assert.ok(partitions * l.partition.etcdCommitOpsPerPartition + 1 <= txnOps,
      `partitions per object × ops per partition fit ${txnOps} ops`);
  }
  assert.ok(l.controller.handoffOpsPerTxnMax <= l.bounds.etcdTxnOpsMin,
    'a handoff transaction fits the smallest etcdTxnOpsMax');
  // A deletion the watch missed is found within a default lease (no worse than a controller that
  // died), and the reads stay rarer than campaign attempts.
  assert.ok(l.controller.keyCheckIntervalMsDefault <= l.settings.leaseTtlMs &&
    l.controller.campaignRetryMs < l.controller.keyCheckIntervalMsDefault,
  'the controller key is read once per default lease or more, less often than campaign attempts');
  assert.ok(l.etcd.deleteTopicOpsFixed < l.bounds.etcdTxnOpsMin, 'a topic deletion fits');
  // The etcd engine asserts txnOpsMax >= 8 (its fixed per-transaction overheads).
  assert.ok(l.bounds.etcdTxnOpsMin >= 8, 'fixed per-transaction overheads fit');
  assert.ok(l.etcd.txnOpsMaxDefault === l.settings.etcdTxnOpsMax, 'one etcdTxnOpsMax default');
  assert.ok(l.etcd.producerStatesBytesMax <= l.etcd.producerListsPerCommitBytesMax &&
    l.etcd.producerListsPerCommitBytesMax <= l.external.etcdRequestBytesMax / 2,
  "one partition's producer list, and a commit's lists together, fit an etcd request with " +
    'room for the rest');
  // A commit of many partitions whose lists are crowded shares producerListsPerCommitBytesMax
  // among them (metadata/etcd/producer-states-budget.ts), cutting each to its most recent.
}

/** Cluster timing: windows within leases, drains within the shutdown. */
function assertClusterRelations(l: BrokerLimits): void {
  const s = l.settings;
  assert.ok(s.ackWindowMs >= l.bounds.ackWindowMsMin && s.ackWindowMs <= s.leaseTtlMs,
    'the acknowledgement window lies within the lease');
  assert.ok(l.membership.leaseTtlMsDefault === s.leaseTtlMs, 'one leaseTtlMs default');
  assert.ok(l.membership.safetyMarginTtlFraction < 1 / l.membership.keepAlivesPerTtl,
    'a keep-alive is due before the margin eats the validity it renews');
  assert.ok(l.handoff.leaveDrainMsMax < s.shutdownTimeoutMs,
    'a graceful leave drains within the shutdown timeout');
  assert.ok(l.handoff.handoffDrainMsMax <= l.handoff.leaveDrainMsMax, 'a handoff within a leave');
  assert.ok(s.groupSessionTimeoutMsMin <= s.groupSessionTimeoutMsMax, 'group session bounds');
}

/** A partition's aborted-transaction index fits beside its producers in one etcd value. */
function assertTransactionRelations(l: BrokerLimits): void {
  const t = l.transaction;
  const indexBytesMax = t.abortedTxnsPerPartitionMax * t.abortedTxnJsonBytesMax;
  assert.ok(indexBytesMax <= l.etcd.producerStatesBytesMax / 2,
    'the aborted-transaction index takes at most half a producer list');
  assert.ok(t.markerRetryMs < t.peerRequestMsMax, 'a marker retry is shorter than a peer request');
}

/** Throws an AssertionError naming the first relation `l` breaks. */
export function assertBrokerLimits(l: BrokerLimits): void {
  assertProduceRelations(l);
  assertStorageRelations(l);
  assertEtcdRelations(l);
  assertClusterRelations(l);
  assertTransactionRelations(l);
}

assertBrokerLimits(brokerLimits);

/** The settings the cross-setting relations read. */
export interface RelatedSettings {
  messageBytesMax: number;
  requestBytesMax: number;
  clientMemoryBytesMax: number;
  groupSessionTimeoutMsMin: number;
  groupSessionTimeoutMsMax: number;
  orphanAgeMsMin: number;
  s3RequestTimeoutMs: number;
}

export interface SettingRelationError {
  /** The setting to change. */
  setting: string;
  reason: string;
}

/**
 * The first relation between settings that `c` breaks, as the setting to blame and why, or null.
 * Relations of one setting to a fixed limit are its bounds (settingBounds), checked first.
 */
export function settingRelationError(c: RelatedSettings): SettingRelationError | null {
  if (c.groupSessionTimeoutMsMin > c.groupSessionTimeoutMsMax) {
    return { setting: 'groupSessionTimeoutMsMin',
      reason: 'must not exceed groupSessionTimeoutMsMax' };
  }
  if (c.messageBytesMax > c.requestBytesMax) {
    return { setting: 'messageBytesMax', reason: 'must not exceed requestBytesMax' };
  }
  if (c.requestBytesMax > c.clientMemoryBytesMax) {
    return { setting: 'requestBytesMax',
      reason: 'must not exceed clientMemoryBytesMax, or a request that large could never be read' };
  }
  if (c.orphanAgeMsMin <= orphanAgeMsFloor(c.s3RequestTimeoutMs)) {
    return { setting: 'orphanAgeMsMin',
      reason: `must exceed ${orphanAgeMsFloor(c.s3RequestTimeoutMs)} (s3RequestTimeoutMs × the ` +
        'S3 attempts + one etcd call, for each upload that may be in flight), or an object ' +
        'being committed could be deleted' };
  }
  return null;
}
