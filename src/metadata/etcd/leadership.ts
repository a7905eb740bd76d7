/**
 * PartitionLeadership on etcd: `partitions/<topicId>/<partition>` keys. Each transition is one
 * compare-and-set of the partition key (its mod_revision pins the epoch); the transitions and
 * their fencing are rules.ts's. States are served from the cache when it holds the whole topic.
 */
import assert from 'node:assert/strict';
import { prefixEnd } from '../../etcd/keys.js';
import { getOp, modEquals, putOp, rangesOf, versionedOf } from '../../etcd/txn.js';
import { UnknownTopicError, type PartitionState } from '../records.js';
import { afterLeaderSet, afterRecoveryComplete, afterRelease } from '../rules.js';
import type { PartitionLeadership } from '../stores.js';
import { decodePartitionState, encodePartitionState } from './codecs.js';
import type { EtcdEngine } from './engine.js';

export class EtcdPartitionLeadership implements PartitionLeadership {
  constructor(private readonly e: EtcdEngine) {}

  async states(topicId: string): Promise<PartitionState[]> {
    const topic = this.e.cache.topicById(topicId);
    const states = this.e.cache.partitions(topicId);
    if (topic !== null && states.length === topic.partitionCount) {
      return states.map((s) => ({ ...s }));
    }
    // Not (fully) in the cache: created by another broker a moment ago, or the watch has
    // delivered the topic but not yet its partitions. etcd answers.
    return this.read(topicId);
  }

  async setLeader(topicId: string, partition: number, leaderId: number,
    expectedEpoch?: number): Promise<PartitionState> {
    return this.write('setPartitionLeader', topicId, partition,
      (current) => afterLeaderSet(current, topicId, partition, leaderId, expectedEpoch));
  }

  async completeRecovery(topicId: string, partition: number, epoch: number):
    Promise<PartitionState> {
    return this.write('completeRecovery', topicId, partition,
      (current) => afterRecoveryComplete(current, topicId, partition, epoch));
  }

  async release(topicId: string, partition: number, epoch: number, toLeaderId: number):
    Promise<PartitionState> {
    return this.write('releasePartition', topicId, partition,
      (current) => afterRelease(current, topicId, partition, epoch, toLeaderId));
  }

  /**
   * One compare-and-set of the partition key, planned by `transition` (which throws when fenced
   * and returns null when there is nothing to write: a repeat), first on the cached state.
   */
  private async write(operation: string, topicId: string, partition: number,
    transition: (current: PartitionState | null) => PartitionState | null):
    Promise<PartitionState> {
    const key = this.e.keys.partition(topicId, partition);
    const source = this.e.keyReads([getOp(key)],
      ([range]) => versionedOf(range, decodePartitionState));
    return this.e.writeLoop(operation, source, (view) => {
      const next = transition(view.value);
      // A repeat still compares: on a cached guess, the txn proves the epoch has not moved.
      const compare = [modEquals(key, view.modRevision)];
      if (next === null) return { compare, success: [], result: view.value! };
      return { compare, success: [putOp(key, encodePartitionState(next))], result: next };
    }, this.e.cache.partition(topicId, partition));
  }

  private async read(topicId: string): Promise<PartitionState[]> {
    const prefix = this.e.keys.partitionsOfTopic(topicId);
    const response = await this.e.txn([], [getOp(this.e.keys.topicId(topicId)),
      { request_range: { key: Buffer.from(prefix), range_end: prefixEnd(prefix) } }], []);
    const [idRange, partitionRange] = rangesOf(response);
    if (idRange?.kvs.length !== 1) throw new UnknownTopicError(`unknown topic id ${topicId}`);
    const states = (partitionRange?.kvs ?? []).map((kv) => decodePartitionState(kv.value));
    assert.ok(states.length > 0, 'a topic has partitions');
    return states;
  }
}
