/**
 * IncrementalAlterConfigs: v0-1.
 * Behavior: applies per-key operations to a topic's overrides: SET (0); DELETE (1, back to the
 * default); APPEND (2) / SUBTRACT (3) on list configs (cleanup.policy and the replication throttle
 * lists), starting from the override or else the default; on other keys INVALID_CONFIG. The result
 * is validated as a whole (INVALID_CONFIG), so APPEND compact to cleanup.policy fails and APPEND
 * delete is a no-op. A null value (except DELETE), an unknown operation or a duplicate key →
 * INVALID_REQUEST; unknown topic → UNKNOWN_TOPIC_OR_PARTITION; validateOnly checks only. Broker
 * configs are read-only here (INVALID_REQUEST).
 * Version notes: v1 is the flexible encoding. Not implemented: dynamic broker configs; policies.
 */
import { ERROR_INFO, ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type IncrementalAlterConfigsRequestAlterableConfig as AlterableConfig,
  decodeIncrementalAlterConfigsRequest, defaultIncrementalAlterConfigsResponse,
  encodeIncrementalAlterConfigsResponse,
} from '../../../protocol/generated/messages/incremental-alter-configs.js';
import { defaultTopicConfigs } from '../../metadata/topic-configs.js';
import { warnNoEffect } from './no-effect-settings.js';
import { defineHandler } from '../handler.js';
import { type Outcome, alterTopicConfigs, fail } from './33-alter-configs.js';
import { AclOperation } from '../../security/acl.js';
import { configResourceRefusal } from '../authorize.js';

const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3];
const { INVALID_CONFIG, INVALID_REQUEST } = ErrorCode;
type Overrides = Readonly<Record<string, string>>;
const LIST_CONFIGS = new Set(['cleanup.policy', 'follower.replication.throttled.replicas',
  'leader.replication.throttled.replicas']);

function apply(defaults: Overrides, current: Overrides, ops: AlterableConfig[]):
  { configs: Record<string, string> } | Outcome {
  const next = new Map(Object.entries(current));
  for (const { name, configOperation: op, value } of ops) {
    if (op < SET || op > SUBTRACT) return fail(INVALID_REQUEST, `unknown operation ${op}`);
    if (value === null && op !== DELETE) {
      return fail(INVALID_REQUEST, `Null value not supported for : ${name}`);
    }
    if (op === DELETE) next.delete(name);
    else if (op === SET) next.set(name, value ?? '');
    else if (!LIST_CONFIGS.has(name)) {
      const verb = op === APPEND ? 'append' : 'subtract';
      return fail(INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${name}`);
    } else { // a list: the override, else the default; APPEND keeps items unique
      const old = (next.get(name) ?? defaults[name] ?? '').split(',').filter((v) => v !== '');
      const items = (value ?? '').split(',');
      next.set(name, (op === APPEND ? [...new Set([...old, ...items])]
        : old.filter((v) => !items.includes(v))).join(','));
    }
  }
  return { configs: Object.fromEntries(next) };
}

export const handler = defineHandler({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeIncrementalAlterConfigsRequest,
  encodeResponse: encodeIncrementalAlterConfigsResponse,
  async handle(ctx, req) {
    const res = defaultIncrementalAlterConfigsResponse();
    const defaults = defaultTopicConfigs(ctx.services.config);
    for (const r of req.resources) {
      const refusal = configResourceRefusal(ctx, AclOperation.ALTER_CONFIGS, r.resourceType,
        r.resourceName);
      const out = refusal !== null ? fail(refusal, ERROR_INFO.get(refusal)!.message)
        : await alterTopicConfigs(ctx.services, r,
        (current) => apply(defaults, current, r.configs), req.validateOnly);
      if (out.errorCode === ErrorCode.NONE && !req.validateOnly) warnNoEffect(ctx.log, r.resourceName, r.configs.filter((c) => c.configOperation !== 1));
      res.responses.push({ ...out, resourceType: r.resourceType, resourceName: r.resourceName,
        unknownTaggedFields: undefined });
    }
    return res;
  },
});
