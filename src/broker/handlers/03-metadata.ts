/**
 * Metadata: v0-12.
 * Behavior: lists the live brokers and the requested topics (all when the list is null, or empty at
 * v0). Unknown topics are created when autoCreateTopics is on and the request allows it (always
 * below v4), with defaultPartitions partitions; otherwise UNKNOWN_TOPIC_OR_PARTITION.
 * Version notes: v10+ carries topic ids; v12 may ask by id alone.
 * Not implemented: authorized operations (reported as -2147483648, "not requested"), racks.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type MetadataResponseMetadataResponseTopic as TopicOut,
  type MetadataResponseMetadataResponsePartition as PartitionOut, decodeMetadataRequest,
  defaultMetadataResponse, defaultMetadataResponseMetadataResponseBroker,
  defaultMetadataResponseMetadataResponsePartition, defaultMetadataResponseMetadataResponseTopic,
  encodeMetadataResponse,
} from '../../../protocol/generated/messages/metadata.js';
import { ZERO_UUID } from '../../../protocol/primitives/uuid.js';
import { type PartitionLeader, endpointOn } from '../../cluster/cluster-view.js';
import type { TopicEntry } from '../../partition/partition-manager.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { autoCreateTopic } from '../topic-admin.js';

/**
 * One partition's entry. A partition whose leader is unknown or not among the live brokers answers
 * LEADER_NOT_AVAILABLE with no leader, as Kafka does. Naming a broker the same answer does not
 * list leaves clients stuck: kafkajs fetches only from listed brokers, so such a partition went
 * unfetched until the client's metadata aged out (5 minutes); the error makes it ask again until
 * the partition has a live leader.
 */
export function describePartition(partitionIndex: number, leader: PartitionLeader,
  liveBrokerIds: ReadonlySet<number>): PartitionOut {
  const { leaderId, leaderEpoch } = leader;
  const partition = { ...defaultMetadataResponseMetadataResponsePartition(), partitionIndex, leaderEpoch };
  if (liveBrokerIds.has(leaderId)) {
    return { ...partition, leaderId, replicaNodes: [leaderId], isrNodes: [leaderId] };
  }
  const replicaNodes = leaderId < 0 ? [] : [leaderId];
  return { ...partition, errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1, replicaNodes,
    isrNodes: replicaNodes, offlineReplicas: replicaNodes };
}

function describeTopic(s: BrokerServices, entry: TopicEntry,
  liveBrokerIds: ReadonlySet<number>): TopicOut {
  const { topicId } = entry.record;
  return {
    ...defaultMetadataResponseMetadataResponseTopic(),
    name: entry.record.name,
    topicId,
    // By index, not entry.logs.map: a slot list with a hole must not make an undefined entry.
    partitions: Array.from({ length: entry.logs.length }, (_, partitionIndex) => {
      const localEpoch = entry.logs[partitionIndex]?.leaderEpoch ?? -1;
      return describePartition(partitionIndex, s.cluster.leader(topicId, partitionIndex, localEpoch), liveBrokerIds);
    }),
  };
}

function topicError(name: string | null, topicId: string, errorCode: number): TopicOut {
  return { ...defaultMetadataResponseMetadataResponseTopic(), name, topicId, errorCode };
}

export const handler = defineHandler({
  apiKey: 3,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  decodeRequest: decodeMetadataRequest,
  encodeResponse: encodeMetadataResponse,
  // As Kafka: every topic asked about carries the error (an all-topics request gets none).
  errorResponse: (req, _version, errorCode) => ({ ...defaultMetadataResponse(),
    topics: (req.topics ?? []).map((t) => topicError(t.name, t.topicId, errorCode)) }),
  async handle(ctx, req, version) {
    const s = ctx.services;
    const res = defaultMetadataResponse();
    res.brokers = s.cluster.brokers().map((b) => ({ ...defaultMetadataResponseMetadataResponseBroker(),
      nodeId: b.nodeId, ...endpointOn(b, ctx.listenerName), rack: b.rack }));
    res.clusterId = s.clusterId;
    res.controllerId = s.cluster.controllerId();
    const live = new Set(res.brokers.map((b) => b.nodeId));
    const all = req.topics === null || (version === 0 && req.topics.length === 0);
    if (all) {
      res.topics = s.partitions.topics().map((t) => describeTopic(s, t, live));
      return res;
    }
    const allowCreate = s.config.autoCreateTopics && (version < 4 || req.allowAutoTopicCreation);
    for (const t of req.topics ?? []) {
      if (t.name === null) {
        const entry = s.partitions.topicById(t.topicId);
        res.topics.push(entry ? describeTopic(s, entry, live)
          : topicError(null, t.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
        continue;
      }
      // topicNow: a topic another broker created a moment ago is known here too.
      const entry = s.partitions.topic(t.name) ?? await s.partitions.topicNow(t.name)
        ?? (allowCreate ? await autoCreateTopic(s, t.name) : undefined);
      if (entry === undefined) {
        res.topics.push(topicError(t.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      } else if (typeof entry === 'number') {
        res.topics.push(topicError(t.name, ZERO_UUID, entry));
      } else {
        res.topics.push(describeTopic(s, entry, live));
      }
    }
    return res;
  },
});
