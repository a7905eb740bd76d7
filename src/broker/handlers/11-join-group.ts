/**
 * JoinGroup: v0-9.
 * Behavior: the classic group protocol's join phase (src/group/group.ts). The answer comes when
 * every known member has rejoined or the rebalance timeout ends (members that did not rejoin
 * are dropped); an empty group's first rebalance waits group.initial.rebalance.delay.ms,
 * extended while new members arrive. The protocol is chosen by vote among those every member
 * supports (none: INCONSISTENT_GROUP_PROTOCOL). The leader gets the member list. Session timeouts
 * outside [groupSessionTimeoutMsMin, Max] get INVALID_SESSION_TIMEOUT; an empty group id
 * INVALID_GROUP_ID.
 * Version notes: v0 has no rebalance timeout (the session timeout stands in, as in Kafka); v4+
 * a new member first gets MEMBER_ID_REQUIRED with its id and must rejoin with it; v5+ static
 * membership (group.instance.id; FENCED_INSTANCE_ID for a stale member id); v6 flexible; v7+
 * the response names the protocol type; v8+ a reason (logged); v9 a rejoining static leader of
 * a stable group may be told to skip assignment (KIP-814).
 * Not implemented: group.max.size (GROUP_MAX_SIZE_REACHED); membership survives no restart.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import {
  decodeJoinGroupRequest, defaultJoinGroupResponse,
  defaultJoinGroupResponseJoinGroupResponseMember as defaultMember, encodeJoinGroupResponse,
} from '../../../protocol/generated/messages/join-group.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';

export const handler = defineHandler({
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  decodeRequest: decodeJoinGroupRequest,
  encodeResponse: encodeJoinGroupResponse,
  errorResponse: topLevelError(defaultJoinGroupResponse),
  async handle(ctx, req, version) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return { ...defaultJoinGroupResponse(), errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    const result = await ctx.services.groups.join(req.groupId, {
      memberId: req.memberId, groupInstanceId: req.groupInstanceId,
      clientId: ctx.clientId ?? '', clientHost: ctx.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: version === 0 ? req.sessionTimeoutMs : req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      requireKnownMemberId: version >= 4, supportSkippingAssignment: version >= 9,
      reason: req.reason,
    });
    return {
      ...defaultJoinGroupResponse(),
      errorCode: result.errorCode,
      generationId: result.generationId,
      protocolType: version >= 7 ? result.protocolType : null,
      // Not nullable before v7: Kafka sends "" there.
      protocolName: version >= 7 ? result.protocolName : result.protocolName ?? '',
      leader: result.leaderId,
      skipAssignment: version >= 9 && result.skipAssignment,
      memberId: result.memberId,
      members: result.members.map((m) => ({ ...defaultMember(), memberId: m.memberId,
        groupInstanceId: version >= 5 ? m.groupInstanceId : null, metadata: m.metadata })),
    };
  },
});
