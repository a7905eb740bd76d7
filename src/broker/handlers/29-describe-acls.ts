/**
 * DescribeAcls: v0-3.
 * Behavior: there is no authorizer, so the answer is SECURITY_DISABLED with Kafka's message for a
 * broker without one ("No Authorizer is configured on the broker") and no resources.
 * Version notes: v1+ filters by pattern type (ignored here); v2+ is the flexible encoding.
 * Not implemented: ACLs and authorization.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeDescribeAclsRequest, defaultDescribeAclsResponse, encodeDescribeAclsResponse,
} from '../../../protocol/generated/messages/describe-acls.js';
import { defineHandler, topLevelError } from '../handler.js';

export const NO_AUTHORIZER_MESSAGE = 'No Authorizer is configured on the broker';

export const handler = defineHandler({
  apiKey: 29,
  name: 'DescribeAcls',
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeDescribeAclsRequest,
  encodeResponse: encodeDescribeAclsResponse,
  errorResponse: topLevelError(defaultDescribeAclsResponse),
  handle() {
    return { ...defaultDescribeAclsResponse(), errorCode: ErrorCode.SECURITY_DISABLED,
      errorMessage: NO_AUTHORIZER_MESSAGE };
  },
});
