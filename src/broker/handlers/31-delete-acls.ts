/**
 * DeleteAcls: v0-3.
 * Behavior: there is no authorizer, so every filter fails with SECURITY_DISABLED and Kafka's
 * message for a broker without one, matching no ACLs.
 * Version notes: v1+ carries a pattern type; v2+ is the flexible encoding.
 * Not implemented: ACLs and authorization.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeDeleteAclsRequest, defaultDeleteAclsResponse,
  defaultDeleteAclsResponseDeleteAclsFilterResult, encodeDeleteAclsResponse,
} from '../../../protocol/generated/messages/delete-acls.js';
import { defineHandler } from '../handler.js';
import { NO_AUTHORIZER_MESSAGE } from './29-describe-acls.js';

export const handler = defineHandler({
  apiKey: 31,
  name: 'DeleteAcls',
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeDeleteAclsRequest,
  encodeResponse: encodeDeleteAclsResponse,
  handle(_ctx, req) {
    return { ...defaultDeleteAclsResponse(), filterResults: req.filters.map(() => ({
      ...defaultDeleteAclsResponseDeleteAclsFilterResult(), errorCode: ErrorCode.SECURITY_DISABLED,
      errorMessage: NO_AUTHORIZER_MESSAGE })) };
  },
});
