/**
 * ListGroups: v0-5.
 * Behavior: every group this node coordinates (all of them), with its protocol type; groups
 * that only have committed offsets are listed as Empty with protocol type "".
 * Version notes: v3 flexible; v4+ filter by state (case-insensitive) and report the state; v5+
 * filter by type and report it: every group here is "classic".
 * Not implemented: KIP-848 "consumer" and KIP-932 "share" groups.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import {
  decodeListGroupsRequest, defaultListGroupsResponse,
  defaultListGroupsResponseListedGroup as defaultGroup, encodeListGroupsResponse,
} from '../../../protocol/generated/messages/list-groups.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

export const handler = defineHandler({
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeListGroupsRequest,
  encodeResponse: encodeListGroupsResponse,
  errorResponse: topLevelError(defaultListGroupsResponse),
  async handle(ctx, req, version) {
    const result = await ctx.services.groups.listGroups(
      version >= 4 ? req.statesFilter : [], version >= 5 ? req.typesFilter : []);
    // Every group with DESCRIBE on the cluster, else those with DESCRIBE on the group (quietly:
    // a narrowed listing is not a denial, as in Kafka).
    const all = authorize(ctx, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME, true);
    const visible = result.groups.filter((g) => all
      || authorize(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId, true));
    const groups = visible.map((g) => ({
      ...defaultGroup(), groupId: g.groupId, protocolType: g.protocolType,
      groupState: version >= 4 ? g.state : '', groupType: version >= 5 ? g.groupType : '',
    }));
    return { ...defaultListGroupsResponse(), errorCode: result.errorCode, groups };
  },
});
