/**
 * DeleteAcls: v0-3.
 * Behavior: with an authorizer, removes what each filter matches (Kafka's AclBindingFilter
 * semantics) in the ACL store and lists, per filter, the bindings it removed; a filter with an
 * UNKNOWN element is INVALID_REQUEST. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED
 * on every filter). Without an authorizer: SECURITY_DISABLED on every filter.
 * Version notes: v0 filters LITERAL patterns only (the decoder's default); v2+ is flexible.
 * Not implemented: nothing.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeDeleteAclsRequest, defaultDeleteAclsResponse,
  defaultDeleteAclsResponseDeleteAclsFilterResult,
  defaultDeleteAclsResponseDeleteAclsMatchingAcl, encodeDeleteAclsResponse,
} from '../../../protocol/generated/messages/delete-acls.js';
import {
  type AclBindingFilter, AclOperation, invalidFilterReason,
} from '../../security/acl.js';
import { defineHandler } from '../handler.js';
import { aclApiRefusal } from './29-describe-acls.js';

export const handler = defineHandler({
  apiKey: 31,
  name: 'DeleteAcls',
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeDeleteAclsRequest,
  encodeResponse: encodeDeleteAclsResponse,
  errorResponse: (req, _version, errorCode) => ({ ...defaultDeleteAclsResponse(),
    filterResults: req.filters.map(() => ({ ...defaultDeleteAclsResponseDeleteAclsFilterResult(),
      errorCode })) }),
  async handle(ctx, req) {
    const s = ctx.services;
    const fail = (errorCode: number, errorMessage: string | null) => ({
      ...defaultDeleteAclsResponse(), filterResults: req.filters.map(() => ({
        ...defaultDeleteAclsResponseDeleteAclsFilterResult(), errorCode, errorMessage })) });
    const refusal = aclApiRefusal(ctx, AclOperation.ALTER);
    if (refusal !== null) return fail(refusal.errorCode, refusal.errorMessage);
    const filters: AclBindingFilter[] = req.filters.map((f) => ({
      resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter,
      patternType: f.patternTypeFilter, principal: f.principalFilter,
      host: f.hostFilter, operation: f.operation, permissionType: f.permissionType }));
    const invalid = filters.map(invalidFilterReason);
    const removed = await s.metadata.acls.delete(filters.filter((_, i) => invalid[i] === null));
    let next = 0;
    return { ...defaultDeleteAclsResponse(), filterResults: invalid.map((reason) => {
      if (reason !== null) {
        return { ...defaultDeleteAclsResponseDeleteAclsFilterResult(),
          errorCode: ErrorCode.INVALID_REQUEST, errorMessage: reason };
      }
      return { ...defaultDeleteAclsResponseDeleteAclsFilterResult(),
        matchingAcls: (removed[next++] ?? []).map((b) => ({
          ...defaultDeleteAclsResponseDeleteAclsMatchingAcl(), ...b })) };
    }) };
  },
});
