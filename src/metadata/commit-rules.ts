/**
 * The coordinator's domain rules, shared by every engine (SQLite, etcd): the shape a segment
 * commit must have, how its entries continue each partition's index, partition keys, Kafka
 * UUIDs. Engines differ in how they store and fence; what a valid commit *is* must not differ,
 * so it is written once here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  UnknownTopicError,
  type NewPartitionLeaders,
  type PartitionState,
  type SegmentCommit,
  type SegmentEntry,
  type TopicRecord,
} from './coordinator.js';

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
