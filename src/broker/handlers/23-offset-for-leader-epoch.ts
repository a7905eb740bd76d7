/**
 * OffsetForLeaderEpoch: v0-4.
 * Behavior: end offset of a leader epoch, for consumers' truncation checks: current epoch → high
 * watermark (Kafka: log end offset); older → first offset written with a larger epoch (segment
 * index, else the tail, else hw) within [log start, hw]; newer or -1 → -1, -1 as Kafka.
 * Version notes: v1+ returns the epoch; v2+ checks currentLeaderEpoch; v3+ replicaId is ignored.
 * Not implemented: an index entry has its LAST batch's epoch, so a boundary inside one (an upload
 * spanning a leader change) answers its base offset; the epoch answered is the requested one.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type OffsetForLeaderEpochResponseEpochEndOffset as PartitionOut, type OffsetForLeaderEpochRequest,
  decodeOffsetForLeaderEpochRequest as decode, defaultOffsetForLeaderEpochResponse,
  defaultOffsetForLeaderEpochResponseEpochEndOffset as defaultPartitionOut,
  defaultOffsetForLeaderEpochResponseOffsetForLeaderTopicResult as defaultTopicOut,
  encodeOffsetForLeaderEpochResponse as encode,
} from '../../../protocol/generated/messages/offset-for-leader-epoch.js';
import type { PartitionLog } from '../../partition/partition-log.js';
import { defineHandler } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize, authorizedNames } from '../authorize.js';
import type { BrokerServices } from '../services.js';

const { FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH } = ErrorCode;

/** Base of the first index entry with an epoch above `epoch` (binary search: epochs only grow). */
async function indexedEnd(s: BrokerServices, log: PartitionLog, epoch: number) {
  let end: number | null = null;
  for (let lo = log.logStartOffset, hi = log.uploadedEndOffset; lo < hi;) {
    const mid = Math.floor((lo + hi) / 2);
    const [e] = await s.metadata.segments.list(log.topicId, log.partition, mid, 1);
    if (e === undefined || e.baseOffset >= hi) hi = mid; // nothing indexed in [mid, hi)
    else if (e.leaderEpoch > epoch) end = hi = e.baseOffset;
    else lo = e.lastOffset + 1;
  }
  return end;
}

async function answer(s: BrokerServices, log: PartitionLog | undefined, current: number,
  epoch: number, missingError: number): Promise<Partial<PartitionOut>> {
  if (log === undefined) return { errorCode: missingError };
  if (current >= 0 && current !== log.leaderEpoch) {
    return { errorCode: current < log.leaderEpoch ? FENCED_LEADER_EPOCH : UNKNOWN_LEADER_EPOCH };
  }
  if (epoch < 0 || epoch > log.leaderEpoch) return {}; // the defaults: epoch -1, offset -1
  const hw = log.highWatermark;
  const end = epoch === log.leaderEpoch ? hw
    : await indexedEnd(s, log, epoch) ?? log.tailEpochEnd(epoch) ?? hw;
  return { leaderEpoch: epoch, endOffset: BigInt(Math.min(Math.max(end, log.logStartOffset), hw)) };
}

function failAll(req: OffsetForLeaderEpochRequest, errorCode: number) {
  return { ...defaultOffsetForLeaderEpochResponse(), topics: req.topics.map((t) => ({
    ...defaultTopicOut(), topic: t.topic, partitions: t.partitions.map((p) => ({
      ...defaultPartitionOut(), partition: p.partition, errorCode })) })) };
}

export const handler = defineHandler({
  apiKey: 23,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decode,
  encodeResponse: encode,
  async handle(ctx, req, version) {
    const res = defaultOffsetForLeaderEpochResponse();
    // A follower's request (a replica id) needs CLUSTER_ACTION: every partition fails with it.
    const follower = version >= 3 && req.replicaId >= 0;
    if (follower
      && !authorize(ctx, AclOperation.CLUSTER_ACTION, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return failAll(req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    const describable = follower ? null : authorizedNames(ctx, AclOperation.DESCRIBE,
      ResourceType.TOPIC, req.topics.map((t) => t.topic));
    for (const t of req.topics) {
      const out = { ...defaultTopicOut(), topic: t.topic };
      res.topics.push(out);
      for (const p of t.partitions) {
        if (describable !== null && !describable.has(t.topic)) {
          out.partitions.push({ ...defaultPartitionOut(), partition: p.partition,
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
          continue;
        }
        const log = ctx.services.partitions.partitionLog(t.topic, p.partition);
        const found = await answer(ctx.services, log, p.currentLeaderEpoch, p.leaderEpoch,
          ctx.services.partitions.missingError(t.topic, p.partition));
        out.partitions.push({ ...defaultPartitionOut(), partition: p.partition, ...found });
      }
    }
    return res;
  },
});
