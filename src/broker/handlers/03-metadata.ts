/**
 * Metadata: v0-12.
 * Behavior: lists the live brokers and the requested topics (all when the list is null, or empty at
 * v0). Unknown topics are created when autoCreateTopics is on and the request allows it (always
 * below v4), with defaultPartitions partitions; otherwise UNKNOWN_TOPIC_OR_PARTITION.
 * Version notes: v10+ carries topic ids; v12 may ask by id alone.
 * Authorization: only topics the requester may DESCRIBE are listed; a named one without DESCRIBE
 * is TOPIC_AUTHORIZATION_FAILED whether or not it exists; auto-creation needs CREATE on the
 * cluster or the topic. Authorized operations are filled in when asked (v8+).
 * Not implemented: racks.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type MetadataResponseMetadataResponseTopic as TopicOut,
  type MetadataResponseMetadataResponsePartition as PartitionOut, type MetadataRequest,
  type MetadataResponse, decodeMetadataRequest,
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
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize, authorizedOperations, mayCreateTopic } from '../authorize.js';
import type { RequestContext } from '../handler.js';

/** A topic named in the request: TOPIC_AUTHORIZATION_FAILED without DESCRIBE whether or not it
 *  exists (its existence is not disclosed), or without CREATE when it would be auto-created. */
async function namedTopic(ctx: RequestContext, name: string, allowCreate: boolean):
  Promise<TopicEntry | number> {
  const s = ctx.services;
  if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) {
    return ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  }
  // topicNow: a topic another broker created a moment ago is known here too.
  const entry = s.partitions.topic(name) ?? await s.partitions.topicNow(name);
  if (entry !== undefined) return entry;
  if (!allowCreate) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return mayCreateTopic(ctx, name) ? autoCreateTopic(s, name)
    : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
}

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
    if (req.includeClusterAuthorizedOperations) {
      res.clusterAuthorizedOperations = authorize(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER,
        CLUSTER_NAME) ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME) : 0;
    }
    const all = req.topics === null || (version === 0 && req.topics.length === 0);
    if (all) {
      // Only what the requester may DESCRIBE; the others are left out, not reported.
      res.topics = s.partitions.topics()
        .filter((t) => authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.record.name,
          true))
        .map((t) => describeTopic(s, t, live));
    } else {
      await describeNamed(ctx, req, version, res, live);
    }
    if (req.includeTopicAuthorizedOperations) {
      for (const t of res.topics) {
        if (t.errorCode === ErrorCode.NONE && t.name !== null) {
          t.topicAuthorizedOperations = authorizedOperations(ctx, ResourceType.TOPIC, t.name);
        }
      }
    }
    return res;
  },
});

async function describeNamed(ctx: RequestContext, req: MetadataRequest, version: number,
  res: MetadataResponse, live: ReadonlySet<number>): Promise<void> {
  const s = ctx.services;
  const allowCreate = s.config.autoCreateTopics && (version < 4 || req.allowAutoTopicCreation);
  for (const t of req.topics ?? []) {
    if (t.name === null) {
      const entry = s.partitions.topicById(t.topicId);
      if (entry === undefined) {
        res.topics.push(topicError(null, t.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
      } else if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, entry.record.name)) {
        res.topics.push(topicError(null, t.topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      } else {
        res.topics.push(describeTopic(s, entry, live));
      }
      continue;
    }
    const entry = await namedTopic(ctx, t.name, allowCreate);
    res.topics.push(typeof entry === 'number' ? topicError(t.name, ZERO_UUID, entry)
      : describeTopic(s, entry, live));
  }
}
