/**
 * Topic configuration: which keys we honour, their defaults (from broker settings), and
 * validation. Keys Kafka knows but Ledgerstream does not act on are accepted and stored so tools
 * that set them keep working; they are listed in ACCEPTED_NO_EFFECT and in the README.
 */
import type { BrokerConfig } from '../config/config.js';
import { adminLimits } from '../limits.js';

export interface EffectiveTopicConfig {
  retentionMs: number;
  retentionBytes: number;
  messageBytesMax: number;
  logAppendTime: boolean;
}

/** Keys that change behaviour. */
export const SUPPORTED_TOPIC_CONFIGS = [
  'cleanup.policy', 'max.message.bytes', 'message.timestamp.type', 'retention.bytes', 'retention.ms',
] as const;

/** Keys Kafka defines that we store but do not act on (replication and local-disk tuning). */
export const ACCEPTED_NO_EFFECT = new Set([
  'compression.type', 'delete.retention.ms', 'file.delete.delay.ms', 'flush.messages', 'flush.ms',
  'index.interval.bytes', 'local.retention.bytes', 'local.retention.ms', 'max.compaction.lag.ms',
  'message.downconversion.enable', 'message.timestamp.after.max.ms',
  'message.timestamp.before.max.ms', 'message.timestamp.difference.max.ms',
  'min.cleanable.dirty.ratio', 'min.compaction.lag.ms', 'min.insync.replicas', 'preallocate',
  'remote.storage.enable', 'segment.bytes', 'segment.index.bytes', 'segment.jitter.ms', 'segment.ms',
  'unclean.leader.election.enable', 'message.format.version', 'follower.replication.throttled.replicas',
  'leader.replication.throttled.replicas',
]);

export function defaultTopicConfigs(c: BrokerConfig): Record<string, string> {
  return {
    'cleanup.policy': 'delete',
    'max.message.bytes': String(c.messageBytesMax),
    'message.timestamp.type': 'CreateTime',
    'retention.bytes': String(c.retentionBytes),
    'retention.ms': String(c.retentionMs),
  };
}

/** Returns an error message for an invalid key or value, or null if it is acceptable. */
export function validateTopicConfig(key: string, value: string | null): string | null {
  if (value === null) return null; // a delete of an override: back to the default
  switch (key) {
    case 'cleanup.policy':
      return value === 'delete' ? null : `cleanup.policy=${value} is not supported (only delete)`;
    case 'message.timestamp.type':
      return value === 'CreateTime' || value === 'LogAppendTime' ? null
        : `message.timestamp.type must be CreateTime or LogAppendTime, got ${value}`;
    case 'retention.ms': case 'retention.bytes':
      return isLongAtLeast(value, -1) ? null : `${key} must be an integer >= -1, got ${value}`;
    case 'max.message.bytes':
      return isLongAtLeast(value, 0) ? null : `${key} must be an integer >= 0, got ${value}`;
    default:
      return ACCEPTED_NO_EFFECT.has(key) ? null : `unknown topic config ${key}`;
  }
}

function isLongAtLeast(value: string, min: number): boolean {
  return /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value)) && Number(value) >= min;
}

export function effectiveConfig(c: BrokerConfig, overrides: Record<string, string>): EffectiveTopicConfig {
  const all = { ...defaultTopicConfigs(c), ...overrides };
  return {
    retentionMs: Number(all['retention.ms']),
    retentionBytes: Number(all['retention.bytes']),
    messageBytesMax: Number(all['max.message.bytes']),
    logAppendTime: all['message.timestamp.type'] === 'LogAppendTime',
  };
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Kafka's topic name rules; returns why a name is invalid, or null. */
export function validateTopicName(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > adminLimits.topicNameLengthMax) return `topic name longer than ${adminLimits.topicNameLengthMax}`;
  if (!TOPIC_NAME.test(name)) return `topic name ${name} has characters other than [a-zA-Z0-9._-]`;
  return null;
}
