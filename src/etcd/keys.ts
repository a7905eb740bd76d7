/**
 * The etcd key layout of Ledgerstream: the metadata stores' keys (src/metadata/etcd/, whose value
 * codecs are in codecs.ts there) and cluster mode's (src/cluster/), in one place so that no two
 * users can claim the same key.
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
 *   quotas/<entity key>                                 a quota entity's values JSON
 *                                                       (src/metadata/client-quotas.ts)
 *   scram/<user>/<mechanism>                            SCRAM credential JSON (salt, keys)
 *   acls/<identity, percent-encoded>                    one ACL binding (its identity again)
 *   txns/<transactionalId>                              transaction coordinator record JSON
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

  quotasPrefix(): string {
    return `${this.prefix}quotas/`;
  }

  /** `entityKey` is already percent-encoded (client-quotas.ts quotaEntityKey). */
  quota(entityKey: string): string {
    return `${this.quotasPrefix()}${entityKey}`;
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

  scramCredentialsPrefix(): string {
    return `${this.prefix}scram/`;
  }

  /** `scram/<user>/<mechanism>`: the user percent-encoded, so '/' in a name stays one segment. */
  scramCredential(user: string, mechanism: string): string {
    return `${this.scramCredentialsPrefix()}${encodeURIComponent(user)}/${mechanism}`;
  }

  aclsPrefix(): string {
    return `${this.prefix}acls/`;
  }

  /** An ACL binding's key: its identity (src/security/acl.ts), percent-encoded. */
  acl(identity: string): string {
    return this.aclsPrefix() + encodeURIComponent(identity);
  }

  transactionsPrefix(): string {
    return `${this.prefix}txns/`;
  }

  /** Transactional ids are any string: percent-encoded, as group ids are. */
  transaction(transactionalId: string): string {
    assert.ok(transactionalId.length > 0, 'transactional id is not empty');
    return this.transactionsPrefix() + encodeURIComponent(transactionalId);
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
    return parseKeyNumber(key.slice(this.brokersPrefix().length), key);
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
    return { topicId, partition: parseKeyNumber(partition, key) };
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
      return { kind: 'partition', topicId, partition: parseKeyNumber(partition, key) };
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
    return { topic: decodeURIComponent(topic), partition: parseKeyNumber(partition, key) };
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

export function parseKeyNumber(text: string, key: string): number {
  const value = Number(text);
  assert.ok(/^\d+$/.test(text) && Number.isSafeInteger(value), `number in key ${key}`);
  return value;
}

