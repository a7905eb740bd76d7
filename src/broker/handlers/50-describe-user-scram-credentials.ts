/**
 * DescribeUserScramCredentials: v0.
 * Behavior: the mechanisms and iteration counts of the named users' SCRAM credentials (every
 * user's when the list is null), never salts or keys. A user named twice gets DUPLICATE_RESOURCE,
 * a named user without credentials RESOURCE_NOT_FOUND, as in Kafka.
 * Version notes: only v0 exists.
 * Authorized by DESCRIBE on the cluster, as in Kafka.
 * Not implemented: nothing.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeDescribeUserScramCredentialsRequest, defaultDescribeUserScramCredentialsResponse,
  defaultDescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult as defaultResult,
  encodeDescribeUserScramCredentialsResponse,
} from '../../../protocol/generated/messages/describe-user-scram-credentials.js';
import { securityLimits } from '../../limits.js';
import { SCRAM_HASHES } from '../../security/scram.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

export const handler = defineHandler({
  apiKey: 50,
  name: 'DescribeUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  decodeRequest: decodeDescribeUserScramCredentialsRequest,
  encodeResponse: encodeDescribeUserScramCredentialsResponse,
  errorResponse: topLevelError(defaultDescribeUserScramCredentialsResponse),
  async handle(ctx, req) {
    // As Kafka: DESCRIBE on the cluster.
    if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { ...defaultDescribeUserScramCredentialsResponse(),
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null };
    }
    const names = req.users?.map((u) => u.name) ?? null;
    if (names !== null && names.length > securityLimits.scramUsersPerRequestMax) {
      return { ...defaultDescribeUserScramCredentialsResponse(),
        errorCode: ErrorCode.INVALID_REQUEST,
        errorMessage: `at most ${securityLimits.scramUsersPerRequestMax} users per request` };
    }
    const credentials = await ctx.services.metadata.scramCredentials.list(names);
    const byUser = new Map<string, typeof credentials>();
    for (const c of credentials) byUser.set(c.user, [...byUser.get(c.user) ?? [], c]);
    const duplicates = new Set(names?.filter((n, i) => names.indexOf(n) !== i));
    const users = names === null ? [...byUser.keys()] : [...new Set(names)];
    const results = users.map((user) => {
      if (duplicates.has(user)) {
        return { ...defaultResult(), user, errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single ` +
            `request: ${user}` };
      }
      const infos = byUser.get(user) ?? [];
      if (infos.length === 0) {
        return { ...defaultResult(), user, errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: `Attempt to describe a user credential that does not exist: ${user}` };
      }
      return { ...defaultResult(), user, credentialInfos: infos.map((c) =>
        ({ mechanism: SCRAM_HASHES[c.mechanism].wireType, iterations: c.iterations,
          unknownTaggedFields: undefined })) };
    });
    return { ...defaultDescribeUserScramCredentialsResponse(), results };
  },
});
