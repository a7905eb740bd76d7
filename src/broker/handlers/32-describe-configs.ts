/**
 * DescribeConfigs: v0-4.
 * Behavior: TOPIC (2): supported configs' effective values (TOPIC_CONFIG (1) if set on the topic,
 * else DEFAULT_CONFIG (5)) and stored no-effect overrides, or UNKNOWN_TOPIC_OR_PARTITION. BROKER
 * (4) named by our node id or "": a few start-up settings, read-only, STATIC_BROKER_CONFIG (4).
 * Other resource types: INVALID_REQUEST. Null or empty configurationKeys: all keys.
 * Version notes: v0 isDefault; v1+ configSource, synonyms (the entry itself); v3+ configType 0.
 * Not implemented: documentation; broker loggers, client metrics, groups; dynamic broker configs.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type DescribeConfigsRequestDescribeConfigsResource as Resource,
  type DescribeConfigsResponseDescribeConfigsResult as Result,
  decodeDescribeConfigsRequest, defaultDescribeConfigsResponse, encodeDescribeConfigsResponse,
  defaultDescribeConfigsResponseDescribeConfigsResourceResult as defaultConfigOut,
  defaultDescribeConfigsResponseDescribeConfigsResult as defaultResult,
  defaultDescribeConfigsResponseDescribeConfigsSynonym as defaultSynonym,
} from '../../../protocol/generated/messages/describe-configs.js';
import { defaultTopicConfigs } from '../../metadata/topic-configs.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { AclOperation } from '../../security/acl.js';
import { configResourceRefusal } from '../authorize.js';

export const [RESOURCE_TOPIC, RESOURCE_BROKER] = [2, 4];
const [SOURCE_TOPIC, SOURCE_STATIC, SOURCE_DEFAULT] = [1, 4, 5];
const { INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION: UNKNOWN_TOPIC } = ErrorCode;
type Found = [name: string, value: string, source: number][] | Partial<Result>;

function configsOf({ config: c, nodeId, partitions }: BrokerServices, r: Resource): Found {
  const { resourceType: type, resourceName: name } = r;
  if (type === RESOURCE_TOPIC) {
    const own = partitions.topic(name)?.record.configs;
    if (own === undefined) return { errorCode: UNKNOWN_TOPIC, errorMessage: `No topic ${name}` };
    return Object.entries({ ...defaultTopicConfigs(c), ...own })
      .map(([key, value]) => [key, value, Object.hasOwn(own, key) ? SOURCE_TOPIC : SOURCE_DEFAULT]);
  }
  if (type !== RESOURCE_BROKER || (name !== '' && name !== String(nodeId))) {
    return { errorCode: INVALID_REQUEST, errorMessage: `Cannot describe ${type}:${name}` };
  }
  return Object.entries({ 'auto.create.topics.enable': c.autoCreateTopics, 'broker.id': nodeId,
    'log.retention.bytes': c.retentionBytes, 'log.retention.ms': c.retentionMs,
    'message.max.bytes': c.messageBytesMax, 'num.partitions': c.defaultPartitions,
    'socket.request.max.bytes': c.requestBytesMax, 'fetch.max.bytes': c.fetchMaxBytes,
    'max.incremental.fetch.session.cache.slots': c.fetchSessionCacheSlots,
  }).map(([key, value]) => [key, String(value), SOURCE_STATIC]);
}

function describe(s: BrokerServices, r: Resource, synonyms: boolean, version: number): Result {
  const result = { ...defaultResult(), errorMessage: null, resourceType: r.resourceType,
    resourceName: r.resourceName };
  const found = configsOf(s, r);
  if (!Array.isArray(found)) return { ...result, ...found };
  const keys = r.configurationKeys;
  const wanted = keys?.length ? found.filter(([name]) => keys.includes(name)) : found;
  return { ...result, configs: wanted.map(([name, value, source]) => ({
    ...defaultConfigOut(), name, value, configSource: source, documentation: null,
    readOnly: source === SOURCE_STATIC, isDefault: version === 0 && source === SOURCE_DEFAULT,
    synonyms: synonyms ? [{ ...defaultSynonym(), name, value, source }] : [] })) };
}

export const handler = defineHandler({
  apiKey: 32,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeDescribeConfigsRequest,
  encodeResponse: encodeDescribeConfigsResponse,
  handle(ctx, req, version) {
    return { ...defaultDescribeConfigsResponse(), results: req.resources.map((r) => {
      const refusal = configResourceRefusal(ctx, AclOperation.DESCRIBE_CONFIGS, r.resourceType,
        r.resourceName);
      return refusal === null ? describe(ctx.services, r, req.includeSynonyms, version)
        : { ...defaultResult(), errorCode: refusal, errorMessage: null,
          resourceType: r.resourceType, resourceName: r.resourceName };
    }) };
  },
});
