/**
 * Kafka's setting names for ours, so an operator's server.properties (or a flag spelled
 * `--sasl.enabled.mechanisms`) works unchanged. A dotted name maps to the camel-case setting of
 * the same words (`ssl.client.auth` → sslClientAuth); the few whose words differ are listed.
 */
import { SETTINGS } from './config.js';

const RENAMED: Readonly<Record<string, string>> = {
  'socket.request.max.bytes': 'requestBytesMax',
  'auto.create.topics.enable': 'autoCreateTopics',
  'num.partitions': 'defaultPartitions',
  'log.retention.ms': 'retentionMs',
  'log.retention.bytes': 'retentionBytes',
  'message.max.bytes': 'messageBytesMax',
  'group.min.session.timeout.ms': 'groupSessionTimeoutMsMin',
  'group.max.session.timeout.ms': 'groupSessionTimeoutMsMax',
  'broker.id': 'nodeId',
  'log.dirs': 'dataDir',
};

/** Our setting for a Kafka (dotted) name, or undefined when we have none. */
export function settingOfKafkaName(name: string): string | undefined {
  const renamed = RENAMED[name];
  if (renamed !== undefined) return renamed;
  if (!/^[a-z0-9]+(\.[a-z0-9]+)+$/.test(name)) return undefined;
  const camel = name.replace(/\.([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  return camel in SETTINGS ? camel : undefined;
}
