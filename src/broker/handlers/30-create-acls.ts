/**
 * CreateAcls: v0-3.
 * Behavior: with an authorizer, stores every valid binding in one change of the ACL store (a
 * binding that exists already is kept once) and answers per binding: INVALID_REQUEST with Kafka's
 * message for an invalid one (unknown or ANY type/operation, a pattern other than LITERAL or
 * PREFIXED, a cluster not named kafka-cluster, an empty name, a principal without "Type:").
 * Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED on every binding). Without an
 * authorizer: SECURITY_DISABLED on every binding.
 * Version notes: v0 creates LITERAL patterns only (the decoder's default); v2+ is flexible.
 * Not implemented: nothing.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeCreateAclsRequest, defaultCreateAclsResponse,
  defaultCreateAclsResponseAclCreationResult, encodeCreateAclsResponse,
} from '../../../protocol/generated/messages/create-acls.js';
import {
  type AclBinding, AclOperation, invalidAclReason,
} from '../../security/acl.js';
import { defineHandler } from '../handler.js';
import { aclApiRefusal } from './29-describe-acls.js';

export const handler = defineHandler({
  apiKey: 30,
  name: 'CreateAcls',
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeCreateAclsRequest,
  encodeResponse: encodeCreateAclsResponse,
  errorResponse: (req, _version, errorCode) => ({ ...defaultCreateAclsResponse(),
    results: req.creations.map(() => ({ ...defaultCreateAclsResponseAclCreationResult(),
      errorCode })) }),
  async handle(ctx, req) {
    const s = ctx.services;
    const fail = (errorCode: number, errorMessage: string | null) => ({
      ...defaultCreateAclsResponse(), results: req.creations.map(() => ({
        ...defaultCreateAclsResponseAclCreationResult(), errorCode, errorMessage })) });
    const refusal = aclApiRefusal(ctx, AclOperation.ALTER);
    if (refusal !== null) return fail(refusal.errorCode, refusal.errorMessage);
    const bindings: AclBinding[] = req.creations.map((c) => ({ resourceType: c.resourceType,
      resourceName: c.resourceName, patternType: c.resourcePatternType, principal: c.principal,
      host: c.host, operation: c.operation, permissionType: c.permissionType }));
    const invalid = bindings.map(invalidAclReason);
    await s.metadata.acls.create(bindings.filter((_, i) => invalid[i] === null));
    return { ...defaultCreateAclsResponse(), results: invalid.map((reason) => ({
      ...defaultCreateAclsResponseAclCreationResult(),
      errorCode: reason === null ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST,
      errorMessage: reason })) };
  },
});
