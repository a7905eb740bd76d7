/**
 * OffsetDelete: v0.
 * Behavior: deletes a group's committed offsets for some partitions. Partitions of topics that
 * do not exist (or beyond the partition count) get UNKNOWN_TOPIC_OR_PARTITION, as in Kafka. A
 * group-level error leaves out the partitions: GROUP_ID_NOT_FOUND (no members, no offsets),
 * NON_EMPTY_GROUP (an active group whose protocol type is not "consumer"). An active consumer
 * group keeps the offsets of topics it subscribes to: GROUP_SUBSCRIBED_TO_TOPIC.
 * Version notes: only v0 exists.
 * Not implemented: nothing.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeOffsetDeleteRequest, defaultOffsetDeleteResponse,
  defaultOffsetDeleteResponseOffsetDeleteResponsePartition as defaultPartition,
  defaultOffsetDeleteResponseOffsetDeleteResponseTopic as defaultTopic, encodeOffsetDeleteResponse,
} from '../../../protocol/generated/messages/offset-delete.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize, authorizedNames } from '../authorize.js';

export const handler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  decodeRequest: decodeOffsetDeleteRequest,
  encodeResponse: encodeOffsetDeleteResponse,
  errorResponse: topLevelError(defaultOffsetDeleteResponse),
  async handle(ctx, req) {
    if (!authorize(ctx, AclOperation.DELETE, ResourceType.GROUP, req.groupId)) {
      return { ...defaultOffsetDeleteResponse(), errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    }
    const readable = authorizedNames(ctx, AclOperation.READ, ResourceType.TOPIC,
      req.topics.map((t) => t.name));
    const errors = new Map<string, number>();
    const known: { topic: string; partition: number }[] = [];
    for (const t of req.topics) {
      if (!readable.has(t.name)) {
        for (const p of t.partitions) {
          errors.set(`${t.name}:${p.partitionIndex}`, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        }
        continue;
      }
      const topic = await ctx.services.metadata.topics.get(t.name);
      for (const { partitionIndex: partition } of t.partitions) {
        if (topic !== null && partition >= 0 && partition < topic.partitionCount) {
          known.push({ topic: t.name, partition });
        } else {
          errors.set(`${t.name}:${partition}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
      }
    }
    const result = await ctx.services.groups.deleteOffsets(req.groupId, known);
    if (result.errorCode !== ErrorCode.NONE) {
      return { ...defaultOffsetDeleteResponse(), errorCode: result.errorCode };
    }
    known.forEach((p, i) => errors.set(`${p.topic}:${p.partition}`, result.partitionErrors[i]!));
    const topics = req.topics.map((t) => ({ ...defaultTopic(), name: t.name,
      partitions: t.partitions.map((p) => ({
        ...defaultPartition(), partitionIndex: p.partitionIndex,
        errorCode: errors.get(`${t.name}:${p.partitionIndex}`) ?? ErrorCode.NONE })) }));
    return { ...defaultOffsetDeleteResponse(), topics };
  },
});
