/**
 * TopicCatalog on etcd: `topics/<name>` records and `topic-ids/<topicId>` reservations, served
 * from the cache (readTopic reads etcd). Deleting a topic is in topic-deletion.ts.
 */
import assert from 'node:assert/strict';
import type { EtcdRequestOp } from '../../etcd/client.js';
import {
  doesNotExist, getOp, modEquals, putOp, rangesOf, revisionOf, versionedOf,
} from '../../etcd/txn.js';
import {
  TopicExistsError, UnknownTopicError, type NewPartitionLeaders, type TopicRecord,
} from '../records.js';
import { assertTopicRecord, newPartitionLeaders } from '../rules.js';
import type { SegmentIndex, TopicCatalog } from '../stores.js';
import { decodeTopic, encodePartitionState, encodeTopic } from './codecs.js';
import type { EtcdEngine } from './engine.js';
import { deleteTopic } from './topic-deletion.js';
import { copyTopic } from './topic-cache.js';

export class EtcdTopicCatalog implements TopicCatalog {
  constructor(private readonly e: EtcdEngine, private readonly segments: SegmentIndex) {}

  async list(): Promise<TopicRecord[]> {
    return this.e.cache.topics().map(copyTopic).sort((a, b) => a.name < b.name ? -1 : 1);
  }

  async get(name: string): Promise<TopicRecord | null> {
    const topic = this.e.cache.topic(name);
    return topic === null ? null : copyTopic(topic);
  }

  async getById(topicId: string): Promise<TopicRecord | null> {
    const topic = this.e.cache.topicById(topicId);
    return topic === null ? null : copyTopic(topic);
  }

  /** A linearizable read of the topic key: after another broker's create returned, this sees it
   *  even before the watch has delivered it. */
  async read(name: string): Promise<TopicRecord | null> {
    const range = await this.e.client.kv.range({ key: Buffer.from(this.e.keys.topic(name)) });
    return versionedOf(range, decodeTopic).value;
  }

  /** One txn: topic, id reservation and every partition state (2 + partitionCount ops). */
  async create(topic: TopicRecord, leaders: NewPartitionLeaders): Promise<void> {
    assertTopicRecord(topic);
    const { keys } = this.e;
    const topicKey = keys.topic(topic.name);
    const success = [putOp(topicKey, encodeTopic(topic)),
      putOp(keys.topicId(topic.topicId), topic.name),
      ...this.newPartitionOps(topic.topicId, 0, topic.partitionCount, leaders)];
    const response = await this.e.txn(
      [doesNotExist(topicKey), doesNotExist(keys.topicId(topic.topicId))], success,
      [getOp(topicKey)]);
    if (response.succeeded) {
      this.e.applyOwnWrites(success, revisionOf(response.header));
      return;
    }
    // The client retries a call whose answer was lost; if the first attempt had applied, the
    // retry finds our own record (topic ids are random, so nobody else wrote this one).
    const existing = versionedOf(rangesOf(response)[0], decodeTopic).value;
    if (existing?.topicId !== topic.topicId || existing.createdAtMs !== topic.createdAtMs) {
      throw new TopicExistsError(`topic ${topic.name} or topic id ${topic.topicId} exists`);
    }
  }

  async delete(name: string): Promise<string[]> {
    return deleteTopic(this.e, this.segments, name);
  }

  async createPartitions(name: string, partitionCount: number, leaders: NewPartitionLeaders):
    Promise<void> {
    const topicKey = this.e.keys.topic(name);
    await this.e.writeLoop('createPartitions', this.e.keyReads([getOp(topicKey)],
      ([range]) => versionedOf(range, decodeTopic)), (view) => {
      const topic = view.value;
      if (topic === null) throw new UnknownTopicError(`unknown topic ${name}`);
      if (!(Number.isSafeInteger(partitionCount) && partitionCount > topic.partitionCount)) {
        throw new RangeError(`topic ${name} has ${topic.partitionCount} partitions; ` +
          `${partitionCount} does not raise that`);
      }
      return { compare: [modEquals(topicKey, view.modRevision)], result: undefined, success: [
        putOp(topicKey, encodeTopic({ ...topic, partitionCount })),
        ...this.newPartitionOps(topic.topicId, topic.partitionCount, partitionCount, leaders)] };
    });
  }

  async setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const topicKey = this.e.keys.topic(name);
    await this.e.writeLoop('setTopicConfigs', this.e.keyReads([getOp(topicKey)],
      ([range]) => versionedOf(range, decodeTopic)), (view) => {
      if (view.value === null) throw new UnknownTopicError(`unknown topic ${name}`);
      const topic = { ...view.value, configs: { ...configs } };
      return { compare: [modEquals(topicKey, view.modRevision)],
        success: [putOp(topicKey, encodeTopic(topic))], result: undefined };
    });
  }

  private newPartitionOps(topicId: string, fromPartition: number, toPartition: number,
    leaders: NewPartitionLeaders): EtcdRequestOp[] {
    assert.ok(fromPartition < toPartition, 'at least one partition is created');
    const leaderIds = newPartitionLeaders(leaders, toPartition - fromPartition);
    const ops: EtcdRequestOp[] = [];
    for (let partition = fromPartition; partition < toPartition; partition++) {
      ops.push(putOp(this.e.keys.partition(topicId, partition), encodePartitionState({ topicId,
        partition, leaderId: leaderIds[partition - fromPartition]!, leaderEpoch: 0,
        logStartOffset: 0, indexedEndOffset: 0, recoverFrom: -1 })));
    }
    return ops;
  }
}
