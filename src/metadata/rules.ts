/**
 * The metadata stores' domain rules, shared by every engine (SQLite, etcd): leadership
 * transitions and the fencing by epoch they are guarded by, the shape a segment commit must have
 * and how its entries continue each partition's index, how releasing index entries changes the
 * objects' live counts, partition keys, Kafka UUIDs. Engines differ in how they read, write and
 * make a change atomic; what a change *is* must not differ, so it is decided here, on values the
 * engine read, and the engine writes the result.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  FencedError,
  UnknownTopicError,
  type NewPartitionLeaders,
  type PartitionState,
  type SegmentCommit,
  type SegmentEntry,
  type TopicRecord,
  type TransactionRecord,
  TransactionConflictError,
} from './records.js';
import { transactionLimits } from '../limits.js';

/**
 * Thrown by commitSegments when an entry does not start exactly where its partition's index ends:
 * a gap (baseOffset > indexedEndOffset) or a partial overlap with what is already indexed.
 */
export class IndexContinuityError extends Error {
  override readonly name = 'IndexContinuityError';
  constructor(readonly topicId: string, readonly partition: number,
    readonly indexedEndOffset: number, readonly baseOffset: number, readonly lastOffset: number) {
    super(`partition ${topicId}:${partition} is indexed up to ${indexedEndOffset}; ` +
      `entry ${baseOffset}..${lastOffset} does not continue it`);
  }
}

/** The leader of each of `count` new partitions, checked: -1 (none yet) or a node id. */
export function newPartitionLeaders(leaders: NewPartitionLeaders, count: number): number[] {
  const list = typeof leaders === 'number' ? Array.from({ length: count }, () => leaders)
    : [...leaders];
  assert.equal(list.length, count, 'one leader per new partition');
  for (const id of list) assert.ok(Number.isSafeInteger(id) && id >= -1, `leaderId ${id}`);
  return list;
}

/** The key SegmentCommit's maps use. */
export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

export function parsePartitionKey(key: string): { topicId: string; partition: number } {
  const colon = key.lastIndexOf(':');
  const partition = Number(key.slice(colon + 1));
  assert.ok(colon > 0 && Number.isSafeInteger(partition) && partition >= 0, `bad key ${key}`);
  return { topicId: key.slice(0, colon), partition };
}

export function unknownPartition(topicId: string, partition: number): UnknownTopicError {
  return new UnknownTopicError(`unknown partition ${topicId}:${partition}`);
}

/** A random v4 UUID in Kafka's base64url form, never starting with '-' (Kafka rejects those too,
 *  because a leading dash reads as a command-line flag). */
export function newKafkaUuid(): string {
  for (;;) {
    const uuid = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    if (!uuid.startsWith('-')) return uuid;
  }
}

export function assertOffset(offset: number, name: string): void {
  assert.ok(Number.isSafeInteger(offset) && offset >= 0, `${name} must be an offset: ${offset}`);
}

export function assertTopicRecord(topic: TopicRecord): void {
  assert.match(topic.topicId, /^[A-Za-z0-9_-]{22}$/, 'topicId is a base64url Kafka Uuid');
  assert.ok(topic.name.length > 0, 'topic name is not empty');
  assert.ok(Number.isSafeInteger(topic.partitionCount) && topic.partitionCount > 0);
  assert.ok(Object.values(topic.configs).every((value) => typeof value === 'string'));
}

function assertEntryShape(entry: SegmentEntry, commit: SegmentCommit): void {
  assert.equal(entry.objectKey, commit.objectKey, 'every entry lies in the committed object');
  assertOffset(entry.baseOffset, 'baseOffset');
  assert.ok(Number.isSafeInteger(entry.lastOffset) && entry.lastOffset >= entry.baseOffset,
    `lastOffset ${entry.lastOffset} < baseOffset ${entry.baseOffset}`);
  assert.ok(Number.isSafeInteger(entry.position) && entry.position >= 0);
  assert.ok(Number.isSafeInteger(entry.sizeBytes) && entry.sizeBytes > 0);
  assert.ok(entry.position + entry.sizeBytes <= commit.objectSizeBytes, 'entry inside object');
  const heldEpoch = commit.leaderEpochs.get(partitionKey(entry.topicId, entry.partition));
  assert.ok(heldEpoch !== undefined, 'every partition written carries the epoch it is fenced by');
  assert.ok(entry.leaderEpoch <= heldEpoch, 'an entry cannot be from a future epoch');
}

export function assertCommitShape(commit: SegmentCommit): void {
  assert.ok(commit.objectKey.length > 0, 'objectKey is not empty');
  assert.ok(Number.isSafeInteger(commit.objectSizeBytes) && commit.objectSizeBytes > 0);
  for (const entry of commit.entries) assertEntryShape(entry, commit);
  for (const [key, states] of commit.producerStates) {
    assert.ok(commit.leaderEpochs.has(key), `producer states of ${key} need a fencing epoch`);
    const producerIds = new Set(states.map((state) => state.producerId));
    assert.equal(producerIds.size, states.length, `one state per producer on ${key}`);
  }
}

/** Entries grouped by partition, ascending by offset; asserts that one commit never overlaps
 *  itself (a duplicate would otherwise pass as a replay and hide the caller's bug). */
export function sortedEntries(entries: SegmentEntry[]): SegmentEntry[] {
  const sorted = [...entries].sort((a, b) => a.topicId < b.topicId ? -1
    : a.topicId > b.topicId ? 1 : a.partition - b.partition || a.baseOffset - b.baseOffset);
  for (let i = 1; i < sorted.length; i++) {
    const [previous, entry] = [sorted[i - 1]!, sorted[i]!];
    const samePartition = previous.topicId === entry.topicId &&
      previous.partition === entry.partition;
    assert.ok(!samePartition || entry.baseOffset > previous.lastOffset,
      `commit overlaps itself at ${entry.topicId}:${entry.partition}@${entry.baseOffset}`);
  }
  return sorted;
}

/** What a commit will do to the index, computed before anything is written. */
export interface IndexPlan {
  /** Entries to insert: the object's new live entries. */
  inserts: SegmentEntry[];
  /** New indexed end offset per partition key, for partitions whose index end moves. */
  endOffsets: Map<string, number>;
  /** Partitions with entries in the commit that were all indexed already: a replay. */
  replayedPartitions: Set<string>;
}

/**
 * Decides, per entry of `sorted` (sortedEntries' order), whether it continues its partition's
 * index (insert), was indexed already (skip: a replay), lies wholly below the log start (advance
 * the end without storing it: dead on arrival), or breaks contiguity (IndexContinuityError).
 */
export function planIndexing(sorted: SegmentEntry[], states: Map<string, PartitionState>): IndexPlan {
  const plan: IndexPlan = { inserts: [], endOffsets: new Map(), replayedPartitions: new Set() };
  const partitionsWithEntries = new Set<string>();
  for (const entry of sorted) {
    const key = partitionKey(entry.topicId, entry.partition);
    const state = states.get(key);
    assert.ok(state !== undefined, 'fencing looked up every partition written');
    partitionsWithEntries.add(key);
    const endOffset = plan.endOffsets.get(key) ?? state.indexedEndOffset;
    if (entry.lastOffset < endOffset) continue;
    if (entry.baseOffset !== endOffset) {
      throw new IndexContinuityError(entry.topicId, entry.partition, endOffset, entry.baseOffset,
        entry.lastOffset);
    }
    if (entry.lastOffset >= state.logStartOffset) plan.inserts.push(entry);
    plan.endOffsets.set(key, entry.lastOffset + 1);
  }
  for (const key of partitionsWithEntries) {
    if (!plan.endOffsets.has(key)) plan.replayedPartitions.add(key);
  }
  return plan;
}

// Leadership transitions: the one rule every engine applies, so they cannot drift apart.
//
//   call                          leaderId      leaderEpoch  recoverFrom
//   setLeader, same id            unchanged     +1           unchanged
//   setLeader, new id             new           +1           old.recoverFrom if != -1,
//                                                            else old.leaderId (-1 if none)
//   release                       toLeaderId    +1           old.recoverFrom (normally -1)
//   completeRecovery              unchanged     unchanged    -1
//
// Each is fenced: setLeader with an expected epoch, release and completeRecovery by the epoch
// the caller holds. A fenced call throws FencedError and the engine writes nothing.

/** The state at `epoch`, or FencedError (UnknownTopicError when there is no such partition). */
export function requireEpoch(current: PartitionState | null, topicId: string, partition: number,
  epoch: number): PartitionState {
  if (current === null) throw unknownPartition(topicId, partition);
  if (current.leaderEpoch !== epoch) {
    throw new FencedError(topicId, partition, epoch, current.leaderEpoch);
  }
  return current;
}

/** The state after setLeader (see the table above). */
export function afterLeaderSet(current: PartitionState | null, topicId: string, partition: number,
  leaderId: number, expectedEpoch?: number): PartitionState {
  assert.ok(Number.isSafeInteger(leaderId) && leaderId >= -1, `leaderId ${leaderId}`);
  const state = requireEpoch(current, topicId, partition, expectedEpoch ??
    current?.leaderEpoch ?? -1);
  if (leaderId === state.leaderId) return { ...state, leaderEpoch: state.leaderEpoch + 1 };
  const recoverFrom = state.recoverFrom !== -1 ? state.recoverFrom : state.leaderId;
  return { ...state, leaderId, leaderEpoch: state.leaderEpoch + 1, recoverFrom };
}

/** The state after release (see the table above). */
export function afterRelease(current: PartitionState | null, topicId: string, partition: number,
  epoch: number, toLeaderId: number): PartitionState {
  assert.ok(Number.isSafeInteger(toLeaderId) && toLeaderId >= -1, `toLeaderId ${toLeaderId}`);
  const state = requireEpoch(current, topicId, partition, epoch);
  return { ...state, leaderId: toLeaderId, leaderEpoch: state.leaderEpoch + 1 };
}

/** The state after completeRecovery, or null when there is nothing to write (a repeat). */
export function afterRecoveryComplete(current: PartitionState | null, topicId: string,
  partition: number, epoch: number): PartitionState | null {
  const state = requireEpoch(current, topicId, partition, epoch);
  return state.recoverFrom === -1 ? null : { ...state, recoverFrom: -1 };
}

/**
 * The states a commit is fenced by, keyed like `leaderEpochs`: every partition it writes must
 * exist and still be at the epoch the committing leader holds, or nothing is written.
 */
export function fenceCommit(leaderEpochs: Map<string, number>,
  stateOf: (topicId: string, partition: number) => PartitionState | null):
  Map<string, PartitionState> {
  const states = new Map<string, PartitionState>();
  for (const [key, heldEpoch] of leaderEpochs) {
    const { topicId, partition } = parsePartitionKey(key);
    states.set(key, requireEpoch(stateOf(topicId, partition), topicId, partition, heldEpoch));
  }
  return states;
}

/** The log start after advanceLogStart to `offset`, or null when it would not move (it never
 *  moves backwards; a repeat is a no-op). */
export function advancedLogStart(current: PartitionState | null, topicId: string,
  partition: number, offset: number): number | null {
  assertOffset(offset, 'log start offset');
  if (current === null) throw unknownPartition(topicId, partition);
  return offset <= current.logStartOffset ? null : offset;
}

// Object refcounts: every object record counts the index entries naming it (`liveEntries`), and
// is deleted, its key handed back for the caller to delete the object, when that reaches 0.

/** What releasing index entries does to their objects' live counts. */
export interface ObjectRelease {
  /** Objects that keep live entries, with their new count. */
  liveCounts: Map<string, number>;
  /** Objects left with none, sorted: delete the record, and the caller deletes the object. */
  deadObjectKeys: string[];
}

/** Lowers the live count of each object named by `released` (one key per released entry);
 *  `liveEntriesOf` answers the count the engine read. */
export function releaseEntries(released: Iterable<string>,
  liveEntriesOf: (objectKey: string) => number): ObjectRelease {
  const counts = new Map<string, number>();
  for (const objectKey of released) counts.set(objectKey, (counts.get(objectKey) ?? 0) + 1);
  const release: ObjectRelease = { liveCounts: new Map(), deadObjectKeys: [] };
  for (const [objectKey, count] of counts) {
    const liveEntries = liveEntriesOf(objectKey) - count;
    assert.ok(Number.isSafeInteger(liveEntries) && liveEntries >= 0,
      `object ${objectKey} counts every entry naming it`);
    if (liveEntries > 0) release.liveCounts.set(objectKey, liveEntries);
    else release.deadObjectKeys.push(objectKey);
  }
  release.deadObjectKeys.sort();
  return release;
}

// Transactions ---------------------------------------------------------------------------------

/** The checks every engine applies before storing a transaction record. */
export function assertTransactionRecord(record: Omit<TransactionRecord, 'version'>): void {
  assert.ok(record.transactionalId.length > 0, 'a transactional id is not empty');
  assert.ok(Number.isSafeInteger(record.producerId) && record.producerId >= -1, 'producerId');
  assert.ok(Number.isSafeInteger(record.producerEpoch) && record.producerEpoch >= -1
    && record.producerEpoch <= 0x7fff, 'producerEpoch is an int16');
  assert.ok(Number.isSafeInteger(record.timeoutMs) && record.timeoutMs > 0, 'timeoutMs');
  assert.ok(record.partitions.length <= transactionLimits.partitionsPerTxnMax,
    `at most ${transactionLimits.partitionsPerTxnMax} partitions per transaction`);
  assert.ok(record.pendingOffsets.length <= transactionLimits.groupsPerTxnMax,
    `at most ${transactionLimits.groupsPerTxnMax} groups per transaction`);
}

/** The compare-and-set rule: the stored version (0 when absent) must be the one the writer read. */
export function checkTransactionVersion(transactionalId: string, expectedVersion: number,
  storedVersion: number): void {
  assert.ok(Number.isSafeInteger(expectedVersion) && expectedVersion >= 0, 'expectedVersion');
  if (storedVersion !== expectedVersion) {
    throw new TransactionConflictError(transactionalId, expectedVersion, storedVersion);
  }
}
