/**
 * AlterConfigs: v0-2.
 * Behavior: replaces a topic's whole set of config overrides (Kafka's AlterConfigs semantics: keys
 * left out return to their defaults; null values are left out). Every key and value is checked
 * first (INVALID_CONFIG with the reason); duplicate keys → INVALID_REQUEST; unknown topic →
 * UNKNOWN_TOPIC_OR_PARTITION; validateOnly checks only. Broker configs are read-only here (set at
 * start-up): they and other resource types answer INVALID_REQUEST.
 * Version notes: v2 is the flexible encoding. Not implemented: dynamic broker configs; policies.
 */
import { ERROR_INFO, ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeAlterConfigsRequest, defaultAlterConfigsResponse, encodeAlterConfigsResponse,
} from '../../../protocol/generated/messages/alter-configs.js';
import { UnknownTopicError } from '../../metadata/records.js';
import { validateTopicConfig } from '../../metadata/topic-configs.js';
import { warnNoEffect } from './no-effect-settings.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { RESOURCE_BROKER, RESOURCE_TOPIC } from './32-describe-configs.js';
import { AclOperation } from '../../security/acl.js';
import { configResourceRefusal } from '../authorize.js';

const { INVALID_CONFIG, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION: UNKNOWN_TOPIC } = ErrorCode;
type Overrides = Record<string, string>;
export interface Outcome { errorCode: number; errorMessage: string | null }
export const fail = (errorCode: number, errorMessage: string) => ({ errorCode, errorMessage });

/** Sets a topic's overrides to `next(current)` once all are valid; IncrementalAlterConfigs too. */
export async function alterTopicConfigs(s: BrokerServices,
  r: { resourceType: number; resourceName: string; configs: { name: string }[] },
  next: (current: Readonly<Overrides>) => { configs: Overrides } | Outcome,
  validateOnly: boolean): Promise<Outcome> {
  const { resourceType: type, resourceName: name } = r;
  if (type === RESOURCE_BROKER) return fail(INVALID_REQUEST, 'broker configs are read-only');
  if (type !== RESOURCE_TOPIC) return fail(INVALID_REQUEST, `unsupported resource type ${type}`);
  const unique = new Set(r.configs.map((c) => c.name)).size === r.configs.length;
  if (!unique) return fail(INVALID_REQUEST, 'Error due to duplicate config keys');
  const current = s.partitions.topic(name)?.record.configs;
  const result = current === undefined ? fail(UNKNOWN_TOPIC, `No topic ${name}`) : next(current);
  if (!('configs' in result)) return result;
  for (const [key, value] of Object.entries(result.configs)) {
    const error = validateTopicConfig(key, value);
    if (error !== null) return fail(INVALID_CONFIG, error);
  }
  try {
    if (!validateOnly) await s.partitions.setConfigs(name, result.configs);
  } catch (err) {
    if (!(err instanceof UnknownTopicError)) throw err;
    return fail(UNKNOWN_TOPIC, `No topic ${name}`); // deleted meanwhile
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null };
}

export const handler = defineHandler({
  apiKey: 33,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeAlterConfigsRequest,
  encodeResponse: encodeAlterConfigsResponse,
  async handle(ctx, req) {
    const res = defaultAlterConfigsResponse();
    for (const r of req.resources) {
      const kept = r.configs.flatMap((c) => c.value === null ? [] : [[c.name, c.value] as const]);
      const configs = Object.fromEntries(kept);
      const refusal = configResourceRefusal(ctx, AclOperation.ALTER_CONFIGS, r.resourceType,
        r.resourceName);
      const out = refusal !== null ? fail(refusal, ERROR_INFO.get(refusal)!.message)
        : await alterTopicConfigs(ctx.services, r, () => ({ configs }), req.validateOnly);
      if (out.errorCode === ErrorCode.NONE && !req.validateOnly) warnNoEffect(ctx.log, r.resourceName, r.configs);
      res.responses.push({ ...out, resourceType: r.resourceType, resourceName: r.resourceName,
        unknownTaggedFields: undefined });
    }
    return res;
  },
});
