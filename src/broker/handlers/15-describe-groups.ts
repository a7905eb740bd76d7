/**
 * DescribeGroups: v0-5.
 * Behavior: state, protocol type, chosen protocol and members of each group, as Kafka reports
 * them: member metadata and assignments only while Stable. A group that only has committed
 * offsets is Empty; an unknown group is Dead with no error.
 * Version notes: v3+ may ask for authorized operations: with no authorizer everything is
 * allowed, so READ, DELETE and DESCRIBE (the group operations) are reported; v4+ members carry
 * their group instance id; v5 flexible.
 * Not implemented: nothing.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import {
  decodeDescribeGroupsRequest, defaultDescribeGroupsResponse,
  defaultDescribeGroupsResponseDescribedGroup as defaultGroup,
  defaultDescribeGroupsResponseDescribedGroupMember as defaultMember,
  encodeDescribeGroupsResponse,
} from '../../../protocol/generated/messages/describe-groups.js';
import { defineHandler } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorizedNames, authorizedOperations } from '../authorize.js';

const operationsNotRequested = -2147483648;

export const handler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeDescribeGroupsRequest,
  encodeResponse: encodeDescribeGroupsResponse,
  async handle(ctx, req, version) {
    const allowed = authorizedNames(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, req.groups);
    const described = await ctx.services.groups.describeGroups(
      req.groups.filter((g) => allowed.has(g)));
    const byId = new Map(described.map((g) => [g.groupId, g]));
    const groups = req.groups.map((groupId) => byId.get(groupId)).map((g, i) => (g === undefined
      ? { ...defaultGroup(), groupId: req.groups[i]!,
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        authorizedOperations: operationsNotRequested }
      : {
      ...defaultGroup(),
      errorCode: g.errorCode, groupId: g.groupId, groupState: g.state,
      protocolType: g.protocolType, protocolData: g.protocolName,
      authorizedOperations: version >= 3 && req.includeAuthorizedOperations
        ? authorizedOperations(ctx, ResourceType.GROUP, g.groupId) : operationsNotRequested,
      members: g.members.map((m) => ({
        ...defaultMember(), memberId: m.memberId,
        groupInstanceId: version >= 4 ? m.groupInstanceId : null,
        clientId: m.clientId, clientHost: m.clientHost,
        memberMetadata: m.metadata, memberAssignment: m.assignment,
      })),
    }));
    return { ...defaultDescribeGroupsResponse(), groups };
  },
});
