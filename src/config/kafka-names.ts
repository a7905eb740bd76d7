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
  'max.incremental.fetch.session.cache.slots': 'fetchSessionCacheSlots',
};

/** `listener.name.<listener>.<mechanism>.sasl.jaas.config`: one entry of listenerSaslJaasConfig. */
const JAAS_CONFIG = /^listener\.name\.([A-Za-z0-9_-]+)\.([A-Za-z0-9-]+)\.sasl\.jaas\.config$/;

/** The listenerSaslJaasConfig key ("<listener>.<mechanism>", lower case) a Kafka name sets. */
export function jaasKeyOfKafkaName(name: string): string | undefined {
  const m = JAAS_CONFIG.exec(name);
  return m === null ? undefined : `${m[1]!}.${m[2]!}`.toLowerCase();
}

/** Our setting for a Kafka (dotted) name, or undefined when we have none. */
export function settingOfKafkaName(name: string): string | undefined {
  const renamed = RENAMED[name];
  if (renamed !== undefined) return renamed;
  if (jaasKeyOfKafkaName(name) !== undefined) return 'listenerSaslJaasConfig';
  if (!/^[a-z0-9]+(\.[a-z0-9]+)+$/.test(name)) return undefined;
  const camel = name.replace(/\.([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  return camel in SETTINGS ? camel : undefined;
}
