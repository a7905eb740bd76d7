/**
 * DescribeAcls: v0-3.
 * Behavior: with an authorizer (authorizerClassName), the bindings the filter matches (Kafka's
 * AclBindingFilter semantics: MATCH, ANY, null names), grouped by resource pattern; needs DESCRIBE
 * on the cluster (CLUSTER_AUTHORIZATION_FAILED). A filter with an UNKNOWN element is
 * INVALID_REQUEST. Without an authorizer: SECURITY_DISABLED with Kafka's message ("No
 * Authorizer is configured on the broker") and no resources.
 * Version notes: v0 filters LITERAL patterns only (the decoder's default); v2+ is the flexible
 * encoding.
 * Not implemented: nothing.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type DescribeAclsResponseDescribeAclsResource as ResourceOut, decodeDescribeAclsRequest,
  defaultDescribeAclsResponse, defaultDescribeAclsResponseAclDescription,
  defaultDescribeAclsResponseDescribeAclsResource, encodeDescribeAclsResponse,
} from '../../../protocol/generated/messages/describe-acls.js';
import {
  type AclBinding, AclOperation, CLUSTER_NAME, ResourceType, compareAcls, filterMatches,
  invalidFilterReason,
} from '../../security/acl.js';
import { authorize } from '../authorize.js';
import { type RequestContext, defineHandler, topLevelError } from '../handler.js';

export const NO_AUTHORIZER_MESSAGE = 'No Authorizer is configured on the broker';

/** Why an ACL API call is refused before it is looked at (Kafka's order: the cluster operation,
 *  then whether there is an authorizer), or null. */
export function aclApiRefusal(ctx: RequestContext, operation: number):
  { errorCode: number; errorMessage: string | null } | null {
  if (!authorize(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME)) {
    return { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null };
  }
  if (!ctx.services.authorizer.enabled) {
    return { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: NO_AUTHORIZER_MESSAGE };
  }
  return null;
}

/** Bindings grouped under their resource pattern, in a stable order. */
function byResource(bindings: AclBinding[]): ResourceOut[] {
  const resources = new Map<string, ResourceOut>();
  for (const b of [...bindings].sort(compareAcls)) {
    const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType]);
    let out = resources.get(key);
    if (out === undefined) {
      out = { ...defaultDescribeAclsResponseDescribeAclsResource(), resourceType: b.resourceType,
        resourceName: b.resourceName, patternType: b.patternType, acls: [] };
      resources.set(key, out);
    }
    out.acls.push({ ...defaultDescribeAclsResponseAclDescription(), principal: b.principal,
      host: b.host, operation: b.operation, permissionType: b.permissionType });
  }
  return [...resources.values()];
}

export const handler = defineHandler({
  apiKey: 29,
  name: 'DescribeAcls',
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeDescribeAclsRequest,
  encodeResponse: encodeDescribeAclsResponse,
  errorResponse: topLevelError(defaultDescribeAclsResponse),
  handle(ctx, req) {
    const res = defaultDescribeAclsResponse();
    const refusal = aclApiRefusal(ctx, AclOperation.DESCRIBE);
    if (refusal !== null) return { ...res, ...refusal };
    const filter = { resourceType: req.resourceTypeFilter, resourceName: req.resourceNameFilter,
      patternType: req.patternTypeFilter, principal: req.principalFilter, host: req.hostFilter,
      operation: req.operation, permissionType: req.permissionType };
    const invalid = invalidFilterReason(filter);
    if (invalid !== null) {
      return { ...res, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid };
    }
    const bindings = ctx.services.metadata.acls.bindings();
    res.resources = byResource(bindings.filter((b) => filterMatches(filter, b)));
    return res;
  },
});
