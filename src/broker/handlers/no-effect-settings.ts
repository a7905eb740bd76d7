/**
 * Settings Kafka users set that Ledgerstream accepts (so their tools and scripts keep working)
 * but does not act on, each logged as a warning with the reason, once per request, so an
 * operator who counted on one learns it from the log and not from an incident.
 */
import type { Logger } from 'pino';
import { batchBytesMax } from '../../../storage/limits.js';
import { ACCEPTED_NO_EFFECT } from '../../metadata/topic-configs.js';

/** Why a key has no effect here; keys not listed fall under the generic reason. */
const REASONS: Record<string, string> = {
  'replication.factor': 'durability comes from object storage; brokers hold no replicas',
  'min.insync.replicas': 'an acknowledged batch is fsynced or in object storage, with no replicas to count',
  'compression.type': 'batches are stored as the producer compressed them (as compression.type=producer)',
  'unclean.leader.election.enable': 'leaders change without data loss; there is no unclean election',
};
const GENERIC = 'local-disk and replication tuning with no counterpart on shared storage';

export interface TopicConfigSet {
  name: string;
  value: string | null;
}

/**
 * Logs the settings of one topic create or config change that will have no effect, or less than
 * asked: a max.message.bytes above what one WAL entry holds is accepted (tools set 10 MB and more)
 * but batches past batchBytesMax are still refused with MESSAGE_TOO_LARGE.
 */
export function warnNoEffect(log: Logger, topic: string, configs: readonly TopicConfigSet[],
  replicationFactor = -1): void {
  const ignored: Record<string, string> = {};
  if (replicationFactor > 1) ignored[`replication.factor=${replicationFactor}`] = REASONS['replication.factor']!;
  for (const { name, value } of configs) {
    if (ACCEPTED_NO_EFFECT.has(name)) ignored[name] = REASONS[name] ?? GENERIC;
    if (name === 'max.message.bytes' && Number(value) > batchBytesMax) {
      ignored[`max.message.bytes=${value}`] = `batches are at most ${batchBytesMax} bytes (one WAL entry); larger ones get MESSAGE_TOO_LARGE`;
    }
  }
  if (Object.keys(ignored).length === 0) return;
  log.warn({ topic, ignored }, `accepted with no effect: ${Object.keys(ignored).join(', ')}`);
}
