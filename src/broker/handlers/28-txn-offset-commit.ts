/**
 * TxnOffsetCommit: v0-4.
 * Behavior: offsets a transactional producer commits for a consumer group
 * (sendOffsetsToTransaction),
 * kept with the transaction and stored in the group's committed offsets only when it commits
 * (dropped on abort); until then OffsetFetch with requireStable answers UNSTABLE_OFFSET_COMMIT for
 * those partitions. Sent to the group's coordinator; the transaction's record is changed by
 * compare-and-set, so it does not matter which broker that is. Every partition gets the same
 * code: INVALID_PRODUCER_ID_MAPPING (unknown transactional id, other producer id),
 * INVALID_PRODUCER_EPOCH (an older epoch: fenced), INVALID_TXN_STATE (no ongoing transaction, or
 * the group was not added with AddOffsetsToTxn), NOT_COORDINATOR (not the group's coordinator);
 * unknown partitions UNKNOWN_TOPIC_OR_PARTITION; metadata over 4096 characters
 * OFFSET_METADATA_TOO_LARGE.
 * v3+ carry the generation, member and instance id, checked against the group as Kafka does
 * (KIP-447): a current member of the current generation, else ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID for every partition and nothing is kept; without them
 * (generation -1, no member id: the bare group id of v0-2) any commit is taken; a group this
 * coordinator does not know takes only those (ILLEGAL_GENERATION otherwise).
 * Version notes: v2+ carry the leader epoch; v3 is flexible; v4 only adds TRANSACTION_ABORTABLE,
 * not sent.
 * Authorization (as Kafka): WRITE on the transactional id, then READ on the group (every
 * partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED / GROUP_AUTHORIZATION_FAILED), then READ on each
 * topic: a topic without it gets TOPIC_AUTHORIZATION_FAILED (before the existence check) and the
 * others are committed; with no partition left to commit the coordinator is not asked.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeTxnOffsetCommitRequest, defaultTxnOffsetCommitResponse,
  defaultTxnOffsetCommitResponseTxnOffsetCommitResponsePartition as partitionOut,
  defaultTxnOffsetCommitResponseTxnOffsetCommitResponseTopic as topicOut,
    encodeTxnOffsetCommitResponse,
  type TxnOffsetCommitRequest,
} from '../../../protocol/generated/messages/txn-offset-commit.js';
import { groupLimits } from '../../limits.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize, authorizedNames, mayWriteTransactionalId } from '../authorize.js';
import { producerIdOf } from './txn-errors.js';

type Request = TxnOffsetCommitRequest;

/** The code for every partition that may be committed: a refusal, or the coordinator's answer. */
async function commitCode(ctx: RequestContext, req: Request,
  mayCommit: (topic: string, partition: number) => boolean): Promise<number> {
  const s = ctx.services;
  const tooLarge = req.topics.some((t) => t.partitions.some((p) =>
    (p.committedMetadata?.length ?? 0) > groupLimits.offsetMetadataBytesMax));
  const offsets = req.topics.flatMap((t) => t.partitions
    .filter((p) => mayCommit(t.name, p.partitionIndex))
    .map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset),
      leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata ?? '',
      commitTimestampMs: s.nowMs() })));
  if (offsets.length === 0) return ErrorCode.NONE; // Kafka asks no coordinator: nothing to store
  const safe = offsets.every((o) => Number.isSafeInteger(o.offset) && o.offset >= 0);
  if (tooLarge) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
  if (!safe) return ErrorCode.INVALID_REQUEST;
  if (s.cluster.groupCoordinator(req.groupId)?.nodeId !== s.nodeId) {
    return ErrorCode.NOT_COORDINATOR;
  }
  // KIP-447: a producer whose consumer was fenced by a rebalance commits nothing.
  const member = await s.groups.validateTxnOffsetCommit(req.groupId, {
    generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId });
  if (member !== ErrorCode.NONE) return member;
  return s.transactions.commitOffsets(req.transactionalId, producerIdOf(req.producerId),
    req.producerEpoch, req.groupId, offsets);
}

function answer(req: Request, codeOf: (topic: string, partition: number) => number) {
  return { ...defaultTxnOffsetCommitResponse(), topics: req.topics.map((t) => ({ ...topicOut(),
    name: t.name, partitions: t.partitions.map((p) => ({ ...partitionOut(),
      partitionIndex: p.partitionIndex, errorCode: codeOf(t.name, p.partitionIndex) })) })) };
}

export const handler = defineHandler({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeTxnOffsetCommitRequest,
  encodeResponse: encodeTxnOffsetCommitResponse,
  async handle(ctx, req) {
    if (!mayWriteTransactionalId(ctx, req.transactionalId)) {
      return answer(req, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)) {
      return answer(req, () => ErrorCode.GROUP_AUTHORIZATION_FAILED);
    }
    const readable = authorizedNames(ctx, AclOperation.READ, ResourceType.TOPIC,
      req.topics.map((t) => t.name));
    const known = (topic: string, partition: number) =>
      ctx.services.partitions.partitionExists(topic, partition);
    const mayCommit = (topic: string, partition: number) => readable.has(topic)
      && known(topic, partition);
    const code = await commitCode(ctx, req, mayCommit);
    return answer(req, (topic, partition) => !readable.has(topic)
      ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
      : !known(topic, partition) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : code);
  },
});
