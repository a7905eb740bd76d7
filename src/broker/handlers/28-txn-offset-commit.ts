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
 * Version notes: v2+ carry the leader epoch; v3+ the generation, member and instance id, which are
 * NOT checked against the group (KIP-447's zombie fencing by generation is not implemented);
 * v3 is flexible; v4 only adds TRANSACTION_ABORTABLE, not sent.
 * Not implemented: authorization (Write on the TransactionalId, Read on the Group) belongs here.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeTxnOffsetCommitRequest, defaultTxnOffsetCommitResponse,
  defaultTxnOffsetCommitResponseTxnOffsetCommitResponsePartition as partitionOut,
  defaultTxnOffsetCommitResponseTxnOffsetCommitResponseTopic as topicOut,
    encodeTxnOffsetCommitResponse,
} from '../../../protocol/generated/messages/txn-offset-commit.js';
import { groupLimits } from '../../limits.js';
import { defineHandler } from '../handler.js';
import { producerIdOf } from './txn-errors.js';

export const handler = defineHandler({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeTxnOffsetCommitRequest,
  encodeResponse: encodeTxnOffsetCommitResponse,
  async handle(ctx, req) {
    const s = ctx.services;
    const known = (topic: string, partition: number) => s.partitions.partitionExists(topic,
      partition);
    const tooLarge = req.topics.some((t) => t.partitions.some((p) =>
      (p.committedMetadata?.length ?? 0) > groupLimits.offsetMetadataBytesMax));
    const offsets = req.topics.flatMap((t) => t.partitions.filter((p) => known(t.name,
      p.partitionIndex))
      .map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset),
        leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata ?? '',
          commitTimestampMs: s.nowMs() })));
    const safe = offsets.every((o) => Number.isSafeInteger(o.offset) && o.offset >= 0);
    const code = tooLarge ? ErrorCode.OFFSET_METADATA_TOO_LARGE : !safe ? ErrorCode.INVALID_REQUEST
      : s.cluster.groupCoordinator(req.groupId)?.nodeId !== s.nodeId ? ErrorCode.NOT_COORDINATOR
      : await s.transactions.commitOffsets(req.transactionalId, producerIdOf(req.producerId),
        req.producerEpoch,
        req.groupId, offsets);
    return { ...defaultTxnOffsetCommitResponse(), topics: req.topics.map((t) => ({ ...topicOut(),
      name: t.name,
      partitions: t.partitions.map((p) => ({ ...partitionOut(), partitionIndex: p.partitionIndex,
        errorCode: known(t.name, p.partitionIndex) ? code
          : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })) })) };
  },
});
