/**
 * Codecs of the metadata values kept in etcd (the keys are in src/etcd/keys.ts). Decoders assert
 * the shape: a value that fails one was not written by this code.
 */
import assert from 'node:assert/strict';
import { parseKeyNumber } from '../../etcd/keys.js';
import type {
  CommittedOffset,
  PartitionState,
  ProducerPartitionState,
  SegmentEntry,
  TopicRecord,
} from '../records.js';

export function encodeTopic(topic: TopicRecord): string {
  return JSON.stringify(topic);
}

export function decodeTopic(value: Buffer): TopicRecord {
  const topic = JSON.parse(value.toString('utf8')) as TopicRecord;
  assert.ok(typeof topic.name === 'string' && typeof topic.topicId === 'string');
  assert.ok(Number.isSafeInteger(topic.partitionCount) && topic.partitionCount > 0);
  assert.ok(typeof topic.configs === 'object' && topic.configs !== null);
  return topic;
}

export function encodePartitionState(state: PartitionState): string {
  assert.ok(state.logStartOffset >= 0 && state.indexedEndOffset >= 0 && state.leaderEpoch >= 0);
  assert.ok(Number.isSafeInteger(state.recoverFrom) && state.recoverFrom >= -1, 'recoverFrom');
  return JSON.stringify(state);
}

export function decodePartitionState(value: Buffer): PartitionState {
  const state = JSON.parse(value.toString('utf8')) as PartitionState;
  assert.ok(typeof state.topicId === 'string' && Number.isSafeInteger(state.partition));
  assert.ok(Number.isSafeInteger(state.leaderEpoch) && Number.isSafeInteger(state.leaderId));
  assert.ok(Number.isSafeInteger(state.logStartOffset));
  assert.ok(Number.isSafeInteger(state.indexedEndOffset));
  // Values written before recoverFrom existed had no unconsented leader change to recover from.
  state.recoverFrom ??= -1;
  assert.ok(Number.isSafeInteger(state.recoverFrom) && state.recoverFrom >= -1, 'recoverFrom');
  return state;
}

/**
 * A segment entry without what its key already says (topic, partition, last offset):
 * `[baseOffset, objectKey, position, sizeBytes, maxTimestampMs, leaderEpoch]`. An array, not an
 * object, because a partition can hold a million of these and etcd keeps every one in memory.
 */
type SegmentValue = [number, string, number, number, number, number];

export function encodeSegment(entry: SegmentEntry): string {
  const value: SegmentValue = [entry.baseOffset, entry.objectKey, entry.position,
    entry.sizeBytes, entry.maxTimestampMs, entry.leaderEpoch];
  return JSON.stringify(value);
}

export function decodeSegment(key: string, value: Buffer): SegmentEntry {
  const slash = key.lastIndexOf('/');
  const partitionSlash = key.lastIndexOf('/', slash - 1);
  const topicSlash = key.lastIndexOf('/', partitionSlash - 1);
  const topicId = key.slice(topicSlash + 1, partitionSlash);
  const partition = parseKeyNumber(key.slice(partitionSlash + 1, slash), key);
  const lastOffset = parseKeyNumber(key.slice(slash + 1), key);
  const fields = JSON.parse(value.toString('utf8')) as SegmentValue;
  assert.ok(Array.isArray(fields) && fields.length === 6, `segment value of ${key}`);
  const [baseOffset, objectKey, position, sizeBytes, maxTimestampMs, leaderEpoch] = fields;
  assert.ok(baseOffset <= lastOffset, `segment ${key} starts after it ends`);
  return { topicId, partition, baseOffset, lastOffset, objectKey, position, sizeBytes,
    maxTimestampMs, leaderEpoch };
}

/** What the index knows of one uploaded object. */
export interface ObjectRecord {
  sizeBytes: number;
  /** Index entries naming the object; the record is deleted when this reaches 0. */
  liveEntries: number;
  createdAtMs: number;
}

export function encodeObject(record: ObjectRecord): string {
  assert.ok(record.liveEntries > 0, 'an object record with no live entry is deleted instead');
  return JSON.stringify(record);
}

export function decodeObject(value: Buffer): ObjectRecord {
  const record = JSON.parse(value.toString('utf8')) as ObjectRecord;
  assert.ok(Number.isSafeInteger(record.liveEntries) && record.liveEntries > 0);
  assert.ok(Number.isSafeInteger(record.sizeBytes) && record.sizeBytes > 0);
  return record;
}

export function encodeProducerStates(states: ProducerPartitionState[]): string {
  const sorted = [...states].sort((a, b) => a.producerId - b.producerId);
  return JSON.stringify(sorted);
}

export function decodeProducerStates(value: Buffer): ProducerPartitionState[] {
  const states = JSON.parse(value.toString('utf8')) as ProducerPartitionState[];
  assert.ok(Array.isArray(states), 'producer states are a list');
  return states;
}

type OffsetValue = Omit<CommittedOffset, 'topic' | 'partition'>;

export function encodeOffset(offset: CommittedOffset): string {
  const value: OffsetValue = { offset: offset.offset, leaderEpoch: offset.leaderEpoch,
    metadata: offset.metadata, commitTimestampMs: offset.commitTimestampMs };
  return JSON.stringify(value);
}

export function decodeOffset(topic: string, partition: number, value: Buffer): CommittedOffset {
  const fields = JSON.parse(value.toString('utf8')) as OffsetValue;
  assert.ok(Number.isSafeInteger(fields.offset), `offset of ${topic}:${partition}`);
  return { topic, partition, offset: fields.offset, leaderEpoch: fields.leaderEpoch,
    metadata: fields.metadata, commitTimestampMs: fields.commitTimestampMs };
}

export function encodeCounter(value: number): string {
  assert.ok(Number.isSafeInteger(value) && value >= 0, `counter ${value}`);
  return String(value);
}

export function decodeCounter(value: Buffer): number {
  const text = value.toString('utf8');
  const counter = Number(text);
  assert.ok(/^\d+$/.test(text) && Number.isSafeInteger(counter), `counter ${text}`);
  return counter;
}
