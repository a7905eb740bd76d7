/**
 * LeaveGroup: v0-5.
 * Behavior: removes members at once (no waiting for the session timeout) and starts a rebalance
 * for the others. A static member may be removed by its group instance id alone (member id "").
 * Per member: UNKNOWN_MEMBER_ID if not in the group, FENCED_INSTANCE_ID if its instance id maps
 * to another member id. An unknown group is not an error: each member is UNKNOWN_MEMBER_ID.
 * Version notes: v0-2 remove one member and report its error at the top level; v3+ remove a
 * batch with an error per member; v4 flexible; v5's reason is not used.
 * Not implemented: nothing.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeLeaveGroupRequest, defaultLeaveGroupResponse,
  defaultLeaveGroupResponseMemberResponse as defaultMember, encodeLeaveGroupResponse,
} from '../../../protocol/generated/messages/leave-group.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

export const handler = defineHandler({
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeLeaveGroupRequest,
  encodeResponse: encodeLeaveGroupResponse,
  errorResponse: topLevelError(defaultLeaveGroupResponse),
  async handle(ctx, req, version) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return { ...defaultLeaveGroupResponse(), errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    const leaving = version >= 3
      ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId }))
      : [{ memberId: req.memberId, groupInstanceId: null }];
    const result = await ctx.services.groups.leave(req.groupId, leaving);
    if (version < 3) {
      const memberError = result.members[0]?.errorCode ?? ErrorCode.NONE;
      return { ...defaultLeaveGroupResponse(),
        errorCode: result.errorCode !== ErrorCode.NONE ? result.errorCode : memberError };
    }
    return {
      ...defaultLeaveGroupResponse(),
      errorCode: result.errorCode,
      members: result.members.map((m) => ({ ...defaultMember(), memberId: m.memberId,
        groupInstanceId: m.groupInstanceId, errorCode: m.errorCode })),
    };
  },
});
