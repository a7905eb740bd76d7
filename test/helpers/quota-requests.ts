/**
 * The quota APIs as raw requests with the broker's own codecs (AlterClientQuotas,
 * DescribeClientQuotas); the requests quota tests throttle are in raw-requests.ts.
 */
import {
  decodeAlterClientQuotasResponse, defaultAlterClientQuotasRequest, encodeAlterClientQuotasRequest,
} from '../../protocol/generated/messages/alter-client-quotas.js';
import {
  decodeDescribeClientQuotasResponse, defaultDescribeClientQuotasRequest,
  encodeDescribeClientQuotasRequest,
} from '../../protocol/generated/messages/describe-client-quotas.js';
import { answer } from './raw-requests.js';
import type { RawClient } from './raw-client.js';

/** Sets (a number) or removes (null) quota values of one entity; returns the entry's error code. */
export async function alterQuotas(client: RawClient, entity: Record<string, string | null>,
  values: Record<string, number | null>):
  Promise<{ errorCode: number; errorMessage: string | null }> {
  const req = defaultAlterClientQuotasRequest();
  req.entries = [{ unknownTaggedFields: undefined,
    entity: Object.entries(entity).map(([entityType, entityName]) =>
      ({ entityType, entityName, unknownTaggedFields: undefined })),
    ops: Object.entries(values).map(([key, value]) =>
      ({ key, value: value ?? 0, remove: value === null, unknownTaggedFields: undefined })) }];
  client.send(49, 1, (w) => encodeAlterClientQuotasRequest(w, 1, req));
  const res = decodeAlterClientQuotasResponse(await answer(client, 49, 1), 1);
  return res.entries[0]!;
}

/** Every stored entity with its values, as DescribeClientQuotas v1 with no filter answers. */
export async function describeQuotas(client: RawClient):
  Promise<{ entity: Record<string, string | null>; values: Record<string, number> }[]> {
  const req = defaultDescribeClientQuotasRequest();
  client.send(48, 1, (w) => encodeDescribeClientQuotasRequest(w, 1, req));
  const res = decodeDescribeClientQuotasResponse(await answer(client, 48, 1), 1);
  if (res.errorCode !== 0) throw new Error(`DescribeClientQuotas: ${res.errorMessage}`);
  return (res.entries ?? []).map((e) => ({
    entity: Object.fromEntries(e.entity.map((p) => [p.entityType, p.entityName])),
    values: Object.fromEntries(e.values.map((v) => [v.key, v.value])) }));
}
