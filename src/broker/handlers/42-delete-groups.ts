/**
 * DeleteGroups: v0-2.
 * Behavior: deletes groups that have no members, with their committed offsets. Per group:
 * NON_EMPTY_GROUP while it has members (or is rebalancing), GROUP_ID_NOT_FOUND if it has
 * neither members nor committed offsets.
 * Version notes: v2 is flexible.
 * Not implemented: nothing.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import {
  decodeDeleteGroupsRequest, defaultDeleteGroupsResponse,
  defaultDeleteGroupsResponseDeletableGroupResult as defaultResult, encodeDeleteGroupsResponse,
} from '../../../protocol/generated/messages/delete-groups.js';
import { defineHandler } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorizedNames } from '../authorize.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';

export const handler = defineHandler({
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeDeleteGroupsRequest,
  encodeResponse: encodeDeleteGroupsResponse,
  async handle(ctx, req) {
    const allowed = authorizedNames(ctx, AclOperation.DELETE, ResourceType.GROUP, req.groupsNames);
    const results = await ctx.services.groups.deleteGroups(
      req.groupsNames.filter((g) => allowed.has(g)));
    const byId = new Map(results.map((r) => [r.groupId, r.errorCode]));
    return {
      ...defaultDeleteGroupsResponse(),
      results: req.groupsNames.map((groupId) => ({ ...defaultResult(), groupId,
        errorCode: byId.get(groupId) ?? ErrorCode.GROUP_AUTHORIZATION_FAILED })),
    };
  },
});
