/**
 * The etcd key layout of the cluster-mode coordinator (etcd.ts), and the codecs of its values.
 *
 * Everything lives under one prefix (default `/ledgerstream/`), so several clusters or test cases
 * can share an etcd by prefix alone. Numbers in keys are zero-padded so that etcd's byte order is
 * numeric order and a range read returns entries in offset order:
 *
 *   cluster-id                                          Kafka Uuid, written once
 *   topics/<name>                                       TopicRecord JSON
 *   topic-ids/<topicId>                                 the topic's name (uniqueness of ids)
 *   partitions/<topicId>/<partition:010>                PartitionState JSON
 *   segments/<topicId>/<partition:010>/<lastOffset:020> one index entry (compact JSON array)
 *   objects/<objectKey>                                 { sizeBytes, liveEntries, createdAtMs }
 *   producers/<topicId>/<partition:010>                 bounded JSON list of producer states
 *   producer-id-next                                    first producer id not yet handed out
 *   offsets/<groupId>/<topic>/<partition:010>           committed offset JSON
 *
 * Cluster mode (src/cluster/) adds, every one of them attached to an etcd lease:
 *
 *   brokers/<nodeId:010>                                a live broker's registration JSON
 *   controller                                          the elected controller's node id JSON
 *   handoff/<topicId>/<partition:010>                   a rebalancing request to a live leader
 *   revoked/<nodeId:010>                                a broker whose lease a peer revoked
 *                                                       (lease ID, window; a short lease of its own)
 *
 * Segment keys end in the entry's *last* offset, not its base offset. listSegments asks for the
 * entries whose lastOffset >= fromOffset; keyed by lastOffset that is one ascending range starting
 * at key(fromOffset) with a limit. Keyed by baseOffset, finding the entry that covers fromOffset
 * takes a descending read, and etcd ignores the limit of a sorted (non key-ascending) range: it
 * reads the whole range and truncates, which for a million-entry partition is a million keys.
 * The same key makes retention one delete-range: entries wholly below X are [partition, key(X)).
 *
 * Group ids (any string in Kafka) and topic names in offset keys are percent-encoded, so a '/'
 * in a group id cannot make one group's prefix match another's keys.
 */
import assert from 'node:assert/strict';
import type {
  CommittedOffset,
  PartitionState,
  ProducerPartitionState,
  SegmentEntry,
  TopicRecord,
} from './coordinator.js';

export const keyPrefixDefault = '/ledgerstream/';

const partitionDigits = 10;
const offsetDigits = 20;

function pad(value: number, digits: number): string {
  assert.ok(Number.isSafeInteger(value) && value >= 0, `key number ${value}`);
  const text = String(value);
  assert.ok(text.length <= digits, `${value} does not fit ${digits} digits`);
  return text.padStart(digits, '0');
}

/**
 * The end of the etcd range holding every key that starts with `prefix` (etcd's "prefix + 1"):
 * the last byte below 0xff incremented, everything after it dropped.
 */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i]!;
    if (byte < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = byte + 1;
      return end;
    }
  }
  return assert.fail('a prefix of only 0xff bytes has no end');
}

/** Builds and parses keys under one prefix. */
export class EtcdKeys {
  constructor(readonly prefix: string = keyPrefixDefault) {
    assert.ok(prefix.startsWith('/') && prefix.endsWith('/'), `prefix ${prefix} is /…/`);
  }

  clusterId(): string {
    return `${this.prefix}cluster-id`;
  }

  topicsPrefix(): string {
    return `${this.prefix}topics/`;
  }

  topic(name: string): string {
    assert.ok(name.length > 0 && !name.includes('/'), `topic name ${name}`);
    return this.topicsPrefix() + name;
  }

  topicId(topicId: string): string {
    return `${this.prefix}topic-ids/${topicId}`;
  }

  partitionsPrefix(): string {
    return `${this.prefix}partitions/`;
  }

  partitionsOfTopic(topicId: string): string {
    assertTopicId(topicId);
    return `${this.partitionsPrefix()}${topicId}/`;
  }

  partition(topicId: string, partition: number): string {
    return this.partitionsOfTopic(topicId) + pad(partition, partitionDigits);
  }

  segmentsOfTopic(topicId: string): string {
    assertTopicId(topicId);
    return `${this.prefix}segments/${topicId}/`;
  }

  segmentsOfPartition(topicId: string, partition: number): string {
    return `${this.segmentsOfTopic(topicId)}${pad(partition, partitionDigits)}/`;
  }

  /** Keyed by the entry's last offset: see the file comment. */
  segment(topicId: string, partition: number, lastOffset: number): string {
    return this.segmentsOfPartition(topicId, partition) + pad(lastOffset, offsetDigits);
  }

  objectsPrefix(): string {
    return `${this.prefix}objects/`;
  }

  object(objectKey: string): string {
    assert.ok(objectKey.length > 0, 'object key is not empty');
    return this.objectsPrefix() + objectKey;
  }

  producersOfTopic(topicId: string): string {
    assertTopicId(topicId);
    return `${this.prefix}producers/${topicId}/`;
  }

  producers(topicId: string, partition: number): string {
    return this.producersOfTopic(topicId) + pad(partition, partitionDigits);
  }

  producerIdNext(): string {
    return `${this.prefix}producer-id-next`;
  }

  offsetsPrefix(): string {
    return `${this.prefix}offsets/`;
  }

  offsetsOfGroup(groupId: string): string {
    return `${this.offsetsPrefix()}${encodeURIComponent(groupId)}/`;
  }

  offset(groupId: string, topic: string, partition: number): string {
    return `${this.offsetsOfGroup(groupId)}${encodeURIComponent(topic)}/` +
      pad(partition, partitionDigits);
  }

  brokersPrefix(): string {
    return `${this.prefix}brokers/`;
  }

  broker(nodeId: number): string {
    return this.brokersPrefix() + pad(nodeId, partitionDigits);
  }

  /** The node id of a key under brokersPrefix(). */
  nodeIdOfBrokerKey(key: string): number {
    assert.ok(key.startsWith(this.brokersPrefix()), `broker key ${key}`);
    return parseNumber(key.slice(this.brokersPrefix().length), key);
  }

  controller(): string {
    return `${this.prefix}controller`;
  }

  revokedPrefix(): string {
    return `${this.prefix}revoked/`;
  }

  revoked(nodeId: number): string {
    return this.revokedPrefix() + pad(nodeId, partitionDigits);
  }

  handoffPrefix(): string {
    return `${this.prefix}handoff/`;
  }

  handoff(topicId: string, partition: number): string {
    assertTopicId(topicId);
    return `${this.handoffPrefix()}${topicId}/${pad(partition, partitionDigits)}`;
  }

  /** Topic and partition of a key under handoffPrefix(). */
  partitionOfHandoffKey(key: string): { topicId: string; partition: number } {
    assert.ok(key.startsWith(this.handoffPrefix()), `handoff key ${key}`);
    const [topicId, partition] = key.slice(this.handoffPrefix().length).split('/');
    assert.ok(topicId !== undefined && partition !== undefined, `handoff key ${key}`);
    return { topicId, partition: parseNumber(partition, key) };
  }

  /** Which cached record a key under the prefix is, or null for keys the cache does not hold. */
  classify(key: string): { kind: 'topic'; name: string } |
    { kind: 'partition'; topicId: string; partition: number } | null {
    if (key.startsWith(this.topicsPrefix())) {
      return { kind: 'topic', name: key.slice(this.topicsPrefix().length) };
    }
    if (key.startsWith(this.partitionsPrefix())) {
      const [topicId, partition] = key.slice(this.partitionsPrefix().length).split('/');
      assert.ok(topicId !== undefined && partition !== undefined, `partition key ${key}`);
      return { kind: 'partition', topicId, partition: parseNumber(partition, key) };
    }
    return null;
  }

  /** The group id of a key under offsetsPrefix(). */
  groupOfOffsetKey(key: string): string {
    const rest = key.slice(this.offsetsPrefix().length);
    const slash = rest.indexOf('/');
    assert.ok(key.startsWith(this.offsetsPrefix()) && slash > 0, `offset key ${key}`);
    return decodeURIComponent(rest.slice(0, slash));
  }

  /** Topic and partition of a key under offsetsOfGroup(groupId). */
  topicPartitionOfOffsetKey(key: string, groupId: string): { topic: string; partition: number } {
    const [topic, partition] = key.slice(this.offsetsOfGroup(groupId).length).split('/');
    assert.ok(topic !== undefined && partition !== undefined, `offset key ${key}`);
    return { topic: decodeURIComponent(topic), partition: parseNumber(partition, key) };
  }

  /** The object key of a key under objectsPrefix(). */
  objectKeyOf(key: string): string {
    assert.ok(key.startsWith(this.objectsPrefix()), `object key ${key}`);
    return key.slice(this.objectsPrefix().length);
  }
}

function assertTopicId(topicId: string): void {
  assert.match(topicId, /^[A-Za-z0-9_-]{22}$/, 'topicId is a base64url Kafka Uuid');
}

function parseNumber(text: string, key: string): number {
  const value = Number(text);
  assert.ok(/^\d+$/.test(text) && Number.isSafeInteger(value), `number in key ${key}`);
  return value;
}

// Value codecs. Decoders assert the shape: a value that fails one was not written by this code.

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
  const partition = parseNumber(key.slice(partitionSlash + 1, slash), key);
  const lastOffset = parseNumber(key.slice(slash + 1), key);
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
