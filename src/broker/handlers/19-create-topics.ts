/**
 * CreateTopics: v0-7.
 * Behavior: validates names, partition counts and configs as Kafka does (INVALID_TOPIC_EXCEPTION,
 * TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG), then creates each topic atomically in
 * the coordinator. validateOnly checks without creating. numPartitions -1 means the default.
 * A manual replica assignment is checked as Kafka does (numPartitions and replicationFactor -1,
 * partitions numbered from 0, brokers registered, none twice, no empty list) and its first broker
 * leads each partition; without one, the placement picks the leaders (cluster/placement.ts).
 * Version notes: v5+ returns the topic's id, partition count and effective configs.
 * Not implemented: replicas beyond the first; replication factors are accepted and ignored —
 * durability comes from object storage, not replicas — and reported back as 1.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type CreateTopicsRequestCreatableTopic, type CreateTopicsResponseCreatableTopicResult as Result,
  decodeCreateTopicsRequest, defaultCreateTopicsResponse,
  defaultCreateTopicsResponseCreatableTopicConfigs, defaultCreateTopicsResponseCreatableTopicResult,
  encodeCreateTopicsResponse,
} from '../../../protocol/generated/messages/create-topics.js';
import { defaultTopicConfigs } from '../../metadata/topic-configs.js';
import { warnNoEffect } from './no-effect-settings.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { type TopicCheck, checkNewTopic, checkReplicaAssignment } from '../topic-admin.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize, mayCreateTopic } from '../authorize.js';

const CONFIG_SOURCE_TOPIC = 1;
const CONFIG_SOURCE_DEFAULT = 5;

/**
 * A manual assignment as Kafka checks it: numPartitions and replicationFactor left at -1
 * (INVALID_REQUEST), partitions numbered 0..n-1 and brokers as checkReplicaAssignment wants
 * (INVALID_REPLICA_ASSIGNMENT). Returns the leaders (each partition's first broker).
 */
function checkAssignment(s: BrokerServices, t: CreateTopicsRequestCreatableTopic): number[] | TopicCheck {
  for (const [field, value] of [['numPartitions', t.numPartitions], ['replication factor', t.replicationFactor]] as const) {
    if (value !== -1) {
      return { errorCode: ErrorCode.INVALID_REQUEST,
        message: `A manual partition assignment was specified, but ${field} was not set to -1.` };
    }
  }
  const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
  const gap = sorted.findIndex((a, i) => a.partitionIndex !== i);
  if (gap !== -1) {
    return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: 'Partitions should be ' +
      `numbered 0 to ${sorted.length - 1} in a manual assignment, found ${sorted[gap]!.partitionIndex}.` };
  }
  const check = checkReplicaAssignment(s, sorted.map((a) => a.brokerIds));
  return check.errorCode !== ErrorCode.NONE ? check : sorted.map((a) => a.brokerIds[0]!);
}

async function createOne(s: BrokerServices, t: CreateTopicsRequestCreatableTopic, validateOnly: boolean,
  version: number): Promise<Result> {
  const partitions = t.numPartitions === -1
    ? (t.assignments.length > 0 ? t.assignments.length : s.config.defaultPartitions) : t.numPartitions;
  const configs: Record<string, string> = {};
  for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
  const result: Result = { ...defaultCreateTopicsResponseCreatableTopicResult(), name: t.name };
  let check = checkNewTopic(s, t.name, partitions, Object.fromEntries(t.configs.map((c) => [c.name, c.value])));
  const leaders = check.errorCode !== ErrorCode.NONE || t.assignments.length === 0 ? undefined
    : checkAssignment(s, t);
  if (leaders !== undefined && !Array.isArray(leaders)) check = leaders;
  if (check.errorCode !== ErrorCode.NONE) {
    return { ...result, errorCode: check.errorCode, errorMessage: version >= 1 ? check.message : null };
  }
  let topicId = result.topicId;
  if (!validateOnly) {
    topicId = (await s.partitions.createTopic(t.name, partitions, configs,
      Array.isArray(leaders) ? leaders : undefined)).record.topicId;
  }
  if (version < 5) return result;
  const all = { ...defaultTopicConfigs(s.config), ...configs };
  return { ...result, topicId: version >= 7 ? topicId : result.topicId, numPartitions: partitions,
    replicationFactor: 1,
    configs: Object.entries(all).map(([name, value]) => ({
      ...defaultCreateTopicsResponseCreatableTopicConfigs(), name, value,
      configSource: name in configs ? CONFIG_SOURCE_TOPIC : CONFIG_SOURCE_DEFAULT })) };
}

export const handler = defineHandler({
  apiKey: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  decodeRequest: decodeCreateTopicsRequest,
  encodeResponse: encodeCreateTopicsResponse,
  errorResponse: (req, _version, errorCode) => ({ ...defaultCreateTopicsResponse(),
    topics: req.topics.map((t) => ({ ...defaultCreateTopicsResponseCreatableTopicResult(), name: t.name,
      errorCode })) }),
  async handle(ctx, req, version) {
    const res = defaultCreateTopicsResponse();
    const seen = new Set<string>();
    for (const t of req.topics) {
      if (seen.has(t.name)) {
        res.topics.push({ ...defaultCreateTopicsResponseCreatableTopicResult(), name: t.name,
          errorCode: ErrorCode.INVALID_REQUEST, errorMessage: version >= 1 ? 'duplicate topic in request' : null });
        continue;
      }
      seen.add(t.name);
      if (!mayCreateTopic(ctx, t.name)) {
        res.topics.push({ ...defaultCreateTopicsResponseCreatableTopicResult(), name: t.name,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
        continue;
      }
      const result = await createOne(ctx.services, t, req.validateOnly, version);
      // The configs in the answer (v5+) need DESCRIBE_CONFIGS, else they are withheld.
      if (version >= 5 && result.errorCode === ErrorCode.NONE
        && !authorize(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, t.name)) {
        Object.assign(result,
          { configs: [], topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
      }
      if (result.errorCode === ErrorCode.NONE) warnNoEffect(ctx.log, t.name, t.configs, t.replicationFactor);
      res.topics.push(result);
    }
    return res;
  },
});
