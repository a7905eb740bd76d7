/**
 * ApiVersions: v0-4.
 * Behavior: lists every API this broker registered, with exactly the version range its handler
 * implements and tests — never the spec's full range. A request at a version above ours is
 * answered by dispatch.ts at v0 with UNSUPPORTED_VERSION and this same list.
 * Version notes: v3+ is flexible and carries the client's software name and version.
 * Not implemented: feature flags (supportedFeatures, finalizedFeatures) are empty.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type ApiVersionsResponse, decodeApiVersionsRequest, defaultApiVersionsResponse,
  defaultApiVersionsResponseApiVersion, encodeApiVersionsResponse,
} from '../../../protocol/generated/messages/api-versions.js';
import { defineHandler, topLevelError } from '../handler.js';

export function apiVersionsResponse(
  apis: readonly { apiKey: number; minVersion: number; maxVersion: number }[],
  errorCode: number = ErrorCode.NONE,
): ApiVersionsResponse {
  const res = defaultApiVersionsResponse();
  res.errorCode = errorCode;
  res.apiKeys = apis.map((a) => ({
    ...defaultApiVersionsResponseApiVersion(),
    apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion,
  }));
  return res;
}

export const handler = defineHandler({
  apiKey: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeApiVersionsRequest,
  encodeResponse: encodeApiVersionsResponse,
  errorResponse: topLevelError(defaultApiVersionsResponse),
  handle(ctx) {
    return apiVersionsResponse(ctx.services.apiVersions());
  },
});
