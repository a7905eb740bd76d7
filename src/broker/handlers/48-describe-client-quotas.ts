/**
 * DescribeClientQuotas: v0-1.
 * Behavior: the stored quota entities (user, client-id, both, or ip; null name: the default) that
 * match every filter component (exact name, default, any specified name) and, with strict, name
 * no other entity type, each with its values. Read from the metadata store, so in a cluster any
 * broker describes what any broker altered. Filter errors as Kafka's: INVALID_REQUEST (empty or
 * repeated type, match string against the match type, ip with user or client-id),
 * UNSUPPORTED_VERSION (an unknown entity type).
 * Version notes: v1 is the flexible version, same fields.
 * Not implemented: nothing.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeDescribeClientQuotasRequest, defaultDescribeClientQuotasResponse,
  defaultDescribeClientQuotasResponseEntityData as defaultEntity,
  defaultDescribeClientQuotasResponseEntryData as defaultEntry,
  defaultDescribeClientQuotasResponseValueData as defaultValue,
  encodeDescribeClientQuotasResponse,
} from '../../../protocol/generated/messages/describe-client-quotas.js';
import { entityParts, parseQuotaFilter } from '../../quota/quota-admin.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

export const handler = defineHandler({
  apiKey: 48,
  name: 'DescribeClientQuotas',
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeDescribeClientQuotasRequest,
  encodeResponse: encodeDescribeClientQuotasResponse,
  errorResponse: topLevelError(defaultDescribeClientQuotasResponse),
  async handle(ctx, req) {
    const res = defaultDescribeClientQuotasResponse();
    // As Kafka: DESCRIBE_CONFIGS on the cluster.
    if (!authorize(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { ...res, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null,
        entries: null };
    }
    const filter = parseQuotaFilter(req.components, req.strict);
    if (Array.isArray(filter)) {
      return { ...res, errorCode: ErrorCode[filter[0]], errorMessage: filter[1], entries: null };
    }
    const records = await ctx.services.metadata.quotas.list();
    const entries = records.filter((r) => filter(r.entity)).map((r) => ({ ...defaultEntry(),
      entity: entityParts(r.entity).map((p) => ({ ...defaultEntity(), ...p })),
      values: Object.entries(r.values).map(([key, value]) => ({ ...defaultValue(), key, value })),
    }));
    return { ...res, errorMessage: null, entries };
  },
});
