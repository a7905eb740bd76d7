/**
 * Heartbeat: v0-4.
 * Behavior: keeps a member's session alive. REBALANCE_IN_PROGRESS while the group prepares a
 * rebalance (the member must rejoin); UNKNOWN_MEMBER_ID for members the group dropped (session
 * timeout, did not rejoin in time, left); ILLEGAL_GENERATION for a stale generation. A member
 * waiting for SyncGroup gets no error, as from Kafka's current coordinator.
 * Version notes: v3+ carry the group instance id (FENCED_INSTANCE_ID when it maps to another
 * member id); v4 is flexible.
 * Not implemented: nothing.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import {
  decodeHeartbeatRequest, defaultHeartbeatResponse, encodeHeartbeatResponse,
} from '../../../protocol/generated/messages/heartbeat.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';

export const handler = defineHandler({
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeHeartbeatRequest,
  encodeResponse: encodeHeartbeatResponse,
  errorResponse: topLevelError(defaultHeartbeatResponse),
  async handle(ctx, req) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return { ...defaultHeartbeatResponse(), errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    const errorCode = await ctx.services.groups.heartbeat(req.groupId,
      { memberId: req.memberId, groupInstanceId: req.groupInstanceId }, req.generationId);
    return { ...defaultHeartbeatResponse(), errorCode };
  },
});
