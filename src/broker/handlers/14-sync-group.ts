/**
 * SyncGroup: v0-5.
 * Behavior: the leader sends the assignment of the generation; every member (the leader too)
 * gets its own once the leader's arrives, and the group becomes Stable. Members the leader left
 * out get an empty assignment. In a stable group SyncGroup returns the current assignment.
 * Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS (a new rebalance began:
 * rejoin), FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL (v5 type or name mismatch).
 * Version notes: v3+ carry the group instance id; v4 flexible; v5 adds protocol type and name
 * to both request (checked) and response.
 * Not implemented: nothing.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import {
  decodeSyncGroupRequest, defaultSyncGroupResponse, encodeSyncGroupResponse,
} from '../../../protocol/generated/messages/sync-group.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';

export const handler = defineHandler({
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeSyncGroupRequest,
  encodeResponse: encodeSyncGroupResponse,
  errorResponse: topLevelError(defaultSyncGroupResponse),
  async handle(ctx, req, version) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return { ...defaultSyncGroupResponse(), errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    const v5 = version >= 5;
    const result = await ctx.services.groups.sync(req.groupId, {
      memberId: req.memberId, groupInstanceId: req.groupInstanceId,
      generationId: req.generationId,
      protocolType: v5 ? req.protocolType : null, protocolName: v5 ? req.protocolName : null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return {
      ...defaultSyncGroupResponse(),
      errorCode: result.errorCode,
      protocolType: v5 ? result.protocolType : null,
      protocolName: v5 ? result.protocolName : null,
      assignment: result.assignment,
    };
  },
});
