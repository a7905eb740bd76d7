/**
 * Metadata for a partition whose leader is not a live broker. Found by the chaos run: after an
 * etcd pause, a Metadata answer named as leader a broker it did not list (its lease had expired
 * and the controller had not yet moved its partitions). kafkajs fetches only from listed brokers,
 * so its group consumer never fetched those partitions again (lag stuck for the 30 s the run
 * waited; kafkajs refreshes metadata only after an error or 5 minutes). Kafka answers such a
 * partition LEADER_NOT_AVAILABLE with no leader, which makes clients ask again until it has one.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { describePartition } from '../../src/broker/handlers/03-metadata.js';

describe('Metadata partition entry', () => {
  const live = new Set([1, 2]);

  it('names a live leader', () => {
    const p = describePartition(3, { leaderId: 2, leaderEpoch: 7 }, live);
    expect(p).toMatchObject({ partitionIndex: 3, errorCode: ErrorCode.NONE, leaderId: 2, leaderEpoch: 7,
      replicaNodes: [2], isrNodes: [2], offlineReplicas: [] });
  });

  it('answers LEADER_NOT_AVAILABLE, with no leader, when the leader is not among the live brokers', () => {
    const p = describePartition(0, { leaderId: 3, leaderEpoch: 4 }, live);
    expect(p).toMatchObject({ partitionIndex: 0, errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1,
      leaderEpoch: 4, replicaNodes: [3], offlineReplicas: [3] });
  });

  it('answers LEADER_NOT_AVAILABLE when no leader is known', () => {
    const p = describePartition(1, { leaderId: -1, leaderEpoch: -1 }, live);
    expect(p).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1, replicaNodes: [] });
  });
});
