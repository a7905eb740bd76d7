/**
 * CreateAcls: v0-3.
 * Behavior: there is no authorizer, so every creation fails with SECURITY_DISABLED and Kafka's
 * message for a broker without one.
 * Version notes: v1+ carries a pattern type; v2+ is the flexible encoding.
 * Not implemented: ACLs and authorization.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeCreateAclsRequest, defaultCreateAclsResponse, defaultCreateAclsResponseAclCreationResult,
  encodeCreateAclsResponse,
} from '../../../protocol/generated/messages/create-acls.js';
import { defineHandler } from '../handler.js';
import { NO_AUTHORIZER_MESSAGE } from './29-describe-acls.js';

export const handler = defineHandler({
  apiKey: 30,
  name: 'CreateAcls',
  minVersion: 0,
  maxVersion: 3,
  decodeRequest: decodeCreateAclsRequest,
  encodeResponse: encodeCreateAclsResponse,
  handle(_ctx, req) {
    return { ...defaultCreateAclsResponse(), results: req.creations.map(() => ({
      ...defaultCreateAclsResponseAclCreationResult(), errorCode: ErrorCode.SECURITY_DISABLED,
      errorMessage: NO_AUTHORIZER_MESSAGE })) };
  },
});
