/**
 * Topic creation with Kafka's validation and error codes, shared by CreateTopics and the
 * auto-creation in Metadata.
 */
import { ErrorCode } from '../../protocol/generated/errors.js';
import { TopicExistsError } from '../metadata/records.js';
import { validateTopicConfig, validateTopicName } from '../metadata/topic-configs.js';
import type { TopicEntry } from '../partition/partition-manager.js';
import type { BrokerServices } from './services.js';
import { adminLimits } from '../limits.js';

export interface TopicCheck {
  errorCode: number;
  message: string | null;
}

export function checkNewTopic(s: BrokerServices, name: string, partitionCount: number,
  configs: Record<string, string | null>): TopicCheck {
  const nameError = validateTopicName(name);
  if (nameError !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: nameError };
  if (s.partitions.topic(name) !== undefined) {
    return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${name}' already exists.` };
  }
  const countMax = adminLimits.partitionsPerTopicMax;
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > countMax) {
    return { errorCode: ErrorCode.INVALID_PARTITIONS,
      message: `partition count must be 1..${countMax}, got ${partitionCount}` };
  }
  for (const [key, value] of Object.entries(configs)) {
    const error = validateTopicConfig(key, value);
    if (error !== null) return { errorCode: ErrorCode.INVALID_CONFIG, message: error };
  }
  return { errorCode: ErrorCode.NONE, message: null };
}

/**
 * Kafka's checks of a manual replica assignment (one broker list per partition): none empty, no
 * broker twice in one list, every broker registered, else INVALID_REPLICA_ASSIGNMENT with
 * Kafka's message. Only the first broker of each list is used: it leads (the preferred leader);
 * durability comes from object storage, not replicas.
 */
export function checkReplicaAssignment(s: BrokerServices, lists: readonly (readonly number[])[]):
  TopicCheck {
  const registered = new Set(s.cluster.brokers().map((b) => b.nodeId));
  const invalid = (message: string) => ({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message });
  for (const brokerIds of lists) {
    if (brokerIds.length === 0) return invalid('The manual partition assignment includes an empty replica list.');
    const seen = new Set<number>();
    for (const id of brokerIds) {
      if (seen.has(id)) return invalid(`The manual partition assignment includes the broker ${id} more than once.`);
      seen.add(id);
      if (!registered.has(id)) {
        return invalid(`The manual partition assignment includes broker ${id}, but no such broker is registered.`);
      }
    }
  }
  return { errorCode: ErrorCode.NONE, message: null };
}

/** Creates a topic with default settings; returns its entry or an error code. */
export async function autoCreateTopic(s: BrokerServices, name: string): Promise<TopicEntry | number> {
  const check = checkNewTopic(s, name, s.config.defaultPartitions, {});
  if (check.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return s.partitions.topic(name)!;
  if (check.errorCode !== ErrorCode.NONE) return check.errorCode;
  try {
    return await s.partitions.createTopic(name, s.config.defaultPartitions, {});
  } catch (err) {
    // Two requests raced to create it: the other one won, which is just as good.
    if (err instanceof TopicExistsError) {
      return await s.partitions.topicNow(name) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    }
    throw err;
  }
}
