/**
 * OffsetCommit: v0-8.
 * Behavior: stores committed offsets durably (in the metadata coordinator) once the group
 * accepts the committer: a member of the current generation (else UNKNOWN_MEMBER_ID,
 * ILLEGAL_GENERATION, FENCED_INSTANCE_ID, or REBALANCE_IN_PROGRESS while the group awaits
 * SyncGroup), or a "simple" commit (generation -1, no member id) while the group has no members.
 * Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION and are not stored, as Kafka's
 * broker answers before its group coordinator sees them. Metadata longer than 4096
 * characters gets OFFSET_METADATA_TOO_LARGE; null metadata is stored as "".
 * Version notes: v0 has no generation or member (always a simple commit); v1's commit timestamp
 * and v2-4's retention time are ignored (the broker's clock stamps each commit); v6+ carries the
 * leader epoch; v7+ the group instance id; v8 is flexible.
 * Not implemented: offset expiry (offsets.retention.minutes); v9, which only KIP-848 groups use.
 */
import { ApiKey } from '../../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeOffsetCommitRequest, defaultOffsetCommitResponse,
  defaultOffsetCommitResponseOffsetCommitResponsePartition as defaultPartition,
  defaultOffsetCommitResponseOffsetCommitResponseTopic as defaultTopic, encodeOffsetCommitResponse,
} from '../../../protocol/generated/messages/offset-commit.js';
import { defineHandler } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize, authorizedNames } from '../authorize.js';

export const handler = defineHandler({
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 8,
  decodeRequest: decodeOffsetCommitRequest,
  encodeResponse: encodeOffsetCommitResponse,
  async handle(ctx, req) {
    const fail = (errorOf: (topic: string) => number) => ({ ...defaultOffsetCommitResponse(),
      topics: req.topics.map((t) => ({ ...defaultTopic(), name: t.name,
        partitions: t.partitions.map((p) => ({ ...defaultPartition(),
          partitionIndex: p.partitionIndex, errorCode: errorOf(t.name) })) })) });
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return fail(() => ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    const readable = authorizedNames(ctx, AclOperation.READ, ResourceType.TOPIC,
      req.topics.map((t) => t.name));
    const known = (topic: string, partition: number) => readable.has(topic)
      && ctx.services.partitions.partitionExists(topic, partition);
    // Number() of an int64 beyond 2^53 is not a safe integer; the coordinator refuses it.
    const offsets = req.topics.flatMap((t) => t.partitions.filter((p) => known(t.name, p.partitionIndex)).map((p) => ({
      topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset),
      leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })));
    const errors = await ctx.services.groups.commitOffsets(req.groupId, {
      generationId: req.generationIdOrMemberEpoch, memberId: req.memberId,
      groupInstanceId: req.groupInstanceId, offsets });
    let i = 0;
    const topics = req.topics.map((t) => ({
      ...defaultTopic(), name: t.name,
      partitions: t.partitions.map((p) => ({
        ...defaultPartition(), partitionIndex: p.partitionIndex,
        errorCode: known(t.name, p.partitionIndex) ? errors[i++]! : !readable.has(t.name)
          ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })),
    }));
    return { ...defaultOffsetCommitResponse(), topics };
  },
});
