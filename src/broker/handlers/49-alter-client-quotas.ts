/**
 * AlterClientQuotas: v0-1.
 * Behavior: per entry, sets and removes quota values of one entity (user, client-id, or both;
 * or an ip alone; null name: the default) in one atomic change of the metadata store; every
 * broker follows the store, so the change is enforced cluster-wide within the store's watch
 * delay. Keys: producer_byte_rate and consumer_byte_rate (whole numbers), request_percentage for
 * users and client ids; connection_creation_rate (a whole number) for ips; values > 0.
 * A refused entry gets INVALID_REQUEST with Kafka's message and changes nothing; the others are
 * applied. validateOnly checks without writing.
 * Version notes: v1 is the flexible version, same fields.
 * Not implemented: controller_mutation_rate; ip entities named by host name (Kafka resolves
 * them once; IP addresses only here).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type AlterClientQuotasRequestEntryData as Entry,
  decodeAlterClientQuotasRequest, defaultAlterClientQuotasResponse,
  defaultAlterClientQuotasResponseEntityData as defaultEntity,
  defaultAlterClientQuotasResponseEntryData as defaultEntry,
  encodeAlterClientQuotasResponse,
} from '../../../protocol/generated/messages/alter-client-quotas.js';
import { quotaEntityKey } from '../../metadata/client-quotas.js';
import { parseQuotaEntity, parseQuotaOps } from '../../quota/quota-admin.js';
import { defineHandler } from '../handler.js';
import type { RequestContext } from '../handler.js';
import { quotaLimits } from '../../limits.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

function entityOut(entry: Entry): ReturnType<typeof defaultEntity>[] {
  return entry.entity.map((p) => ({ ...defaultEntity(), entityType: p.entityType,
    entityName: p.entityName }));
}

/** null when applied (or valid, with validateOnly), else why not. */
async function alter(ctx: RequestContext, entry: Entry, validateOnly: boolean):
  Promise<string | null> {
  const entity = parseQuotaEntity(entry.entity);
  if (typeof entity === 'string') return entity;
  const ops = parseQuotaOps(entity, entry.ops);
  if (typeof ops === 'string') return ops;
  const store = ctx.services.metadata.quotas;
  const stored = (await store.list()).map((r) => quotaEntityKey(r.entity));
  if (stored.length >= quotaLimits.entitiesMax && !stored.includes(quotaEntityKey(entity))) {
    return `at most ${quotaLimits.entitiesMax} quota entities; remove some first`;
  }
  if (!validateOnly) await store.alter(entity, ops.set, ops.remove);
  return null;
}

export const handler = defineHandler({
  apiKey: 49,
  name: 'AlterClientQuotas',
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeAlterClientQuotasRequest,
  encodeResponse: encodeAlterClientQuotasResponse,
  errorResponse: (req, _version, errorCode) => ({ ...defaultAlterClientQuotasResponse(),
    entries: req.entries.map((e) => ({ ...defaultEntry(), errorCode, errorMessage: null,
      entity: entityOut(e) })) }),
  async handle(ctx, req) {
    // As Kafka: ALTER_CONFIGS on the cluster, or every entry is refused.
    if (!authorize(ctx, AclOperation.ALTER_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { ...defaultAlterClientQuotasResponse(), entries: req.entries.map((e) => ({
        ...defaultEntry(), errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null,
        entity: entityOut(e) })) };
    }
    const entries = [];
    for (const entry of req.entries) {
      const refusal = await alter(ctx, entry, req.validateOnly);
      entries.push({ ...defaultEntry(),
        errorCode: refusal === null ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST,
        errorMessage: refusal, entity: entityOut(entry) });
    }
    return { ...defaultAlterClientQuotasResponse(), entries };
  },
});
