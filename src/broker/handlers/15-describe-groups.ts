/**
 * DescribeGroups: v0-5.
 * Behavior: state, protocol type, chosen protocol and members of each group, as Kafka reports
 * them: member metadata and assignments only while Stable. A group that only has committed
 * offsets is Empty; an unknown group is Dead with no error.
 * Version notes: v3+ may ask for authorized operations: with no authorizer everything is
 * allowed, so READ, DELETE and DESCRIBE (the group operations) are reported; v4+ members carry
 * their group instance id; v5 flexible.
 * Not implemented: ACLs.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import {
  decodeDescribeGroupsRequest, defaultDescribeGroupsResponse,
  defaultDescribeGroupsResponseDescribedGroup as defaultGroup,
  defaultDescribeGroupsResponseDescribedGroupMember as defaultMember,
  encodeDescribeGroupsResponse,
} from '../../../protocol/generated/messages/describe-groups.js';
import { defineHandler } from '../handler.js';

/** Bits of AclOperation codes READ (3), DELETE (6), DESCRIBE (8). */
const groupOperations = (1 << 3) | (1 << 6) | (1 << 8);
const operationsNotRequested = -2147483648;

export const handler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeDescribeGroupsRequest,
  encodeResponse: encodeDescribeGroupsResponse,
  async handle(ctx, req, version) {
    const described = await ctx.services.groups.describeGroups(req.groups);
    const authorizedOperations = version >= 3 && req.includeAuthorizedOperations
      ? groupOperations : operationsNotRequested;
    const groups = described.map((g) => ({
      ...defaultGroup(),
      errorCode: g.errorCode, groupId: g.groupId, groupState: g.state,
      protocolType: g.protocolType, protocolData: g.protocolName, authorizedOperations,
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
