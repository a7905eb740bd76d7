/**
 * What every store's contract suite shares: the harness an engine's test file provides, and
 * fixtures for topics, index entries, commits and offsets.
 *
 * An engine's test file calls `runMetadataContracts` (run.ts) with a factory that returns fresh,
 * empty metadata per test; engines that persist also return `reopen`, which closes the current
 * instance and opens a new one over the same storage, so durability is part of the contracts.
 * Only behaviour visible through the store interfaces is asserted. Where an interface names no
 * error class (a contiguity violation, a partition count that does not grow), a contract asserts
 * that the call rejects and that nothing changed.
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'vitest';
import type {
  CommittedOffset,
  ProducerPartitionState,
  SegmentCommit,
  SegmentEntry,
  TopicRecord,
} from '../../../src/metadata/records.js';
import type { Metadata } from '../../../src/metadata/stores.js';

export interface MetadataHarness {
  metadata: Metadata;
  /** Closes the current instance, opens a new one over the same storage and returns it. */
  reopen?: () => Promise<Metadata>;
  /** Closes whatever instance is open and removes the storage. */
  cleanup(): Promise<void>;
}

/** The live instance of the current test (tests that reopen replace it). */
export type Current = () => { c: Metadata; h: MetadataHarness };
/** Reopens over the same storage, or skips the test for an engine without durable storage. */
export type Reopen = (ctx: TestContext) => Promise<Metadata>;

// Fixtures ---------------------------------------------------------------------------------------

export const kafkaUuidPattern = /^[A-Za-z0-9_-]{22}$/;
export const entryBytesPerOffset = 100;
export const brokerId = 1;

export function newTopicId(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
}

export function topicRecord(name: string, partitionCount: number,
  configs: Record<string, string> = {}): TopicRecord {
  return { name, topicId: newTopicId(), partitionCount, configs, createdAtMs: 1_700_000_000_000 };
}

export function key(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/** One index entry before it is placed in an object. */
export interface EntrySpec {
  topicId: string;
  partition: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestampMs?: number;
  leaderEpoch?: number;
}

export function at(topicId: string, partition: number, baseOffset: number, lastOffset: number,
  extra: Partial<EntrySpec> = {}): EntrySpec {
  return { topicId, partition, baseOffset, lastOffset, ...extra };
}

export interface CommitOptions {
  /** Held epoch per `${topicId}:${partition}`; 0 for any partition not listed. */
  epochs?: Map<string, number>;
  producerStates?: Map<string, ProducerPartitionState[]>;
}

/** Lays the entries out back to back in one object and fences every partition touched. */
export function commitOf(objectKey: string, specs: EntrySpec[],
  options: CommitOptions = {}): SegmentCommit {
  let position = 0;
  const entries: SegmentEntry[] = specs.map((spec) => {
    const sizeBytes = (spec.lastOffset - spec.baseOffset + 1) * entryBytesPerOffset;
    const entry = { objectKey, position, sizeBytes, maxTimestampMs: spec.lastOffset * 10,
      leaderEpoch: 0, ...spec };
    position += sizeBytes;
    return entry;
  });
  const producerStates = options.producerStates ?? new Map();
  const leaderEpochs = new Map<string, number>();
  const touched = [...entries.map((e) => key(e.topicId, e.partition)), ...producerStates.keys()];
  for (const k of touched) leaderEpochs.set(k, options.epochs?.get(k) ?? 0);
  return { objectKey, objectSizeBytes: Math.max(position, 1), entries, producerStates,
    leaderEpochs };
}

export function producerState(producerId: number, lastOffset: number): ProducerPartitionState {
  return { producerId, producerEpoch: 0, lastTimestampMs: lastOffset * 10,
    recentBatches: [{ firstSequence: 0, lastSequence: lastOffset, baseOffset: 0, lastOffset }] };
}

export function offsetOf(topic: string, partition: number, offset: number): CommittedOffset {
  return { topic, partition, offset, leaderEpoch: 0, metadata: `m${offset}`,
    commitTimestampMs: 1_700_000_000_000 + offset };
}

export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => {
    throw new Error('expected a rejection');
  }, (error: unknown) => error);
}

/** [baseOffset, lastOffset, objectKey] of every entry of a partition, for compact assertions. */
export async function rangesOf(c: Metadata, topicId: string, partition: number):
  Promise<[number, number, string][]> {
  const entries = await c.segments.list(topicId, partition, 0, 10_000);
  return entries.map((e) => [e.baseOffset, e.lastOffset, e.objectKey]);
}

export async function indexedEnd(c: Metadata, topicId: string, partition: number):
  Promise<number> {
  const state = (await c.leadership.states(topicId)).find((s) => s.partition === partition);
  if (state === undefined) throw new Error(`no partition ${partition}`);
  return state.indexedEndOffset;
}

export async function createTopic(c: Metadata, name: string, partitionCount: number):
  Promise<string> {
  const topic = topicRecord(name, partitionCount);
  await c.topics.create(topic, brokerId);
  return topic.topicId;
}
