/**
 * ListOffsets: v1-6.
 * Behavior: timestamp -2 → log start offset, -1 → high watermark (READ_UNCOMMITTED) or last
 * stable offset (READ_COMMITTED: below every open transaction), any other → first offset of the
 * first batch whose max
 * timestamp reaches it (partition/offset-lookup.ts), or -1 when none does.
 * Version notes: v0 (several offsets per partition) is not offered; v4+ checks currentLeaderEpoch.
 * Not implemented: v7+ (max-timestamp and tiered-storage lookups).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type ListOffsetsResponseListOffsetsPartitionResponse as PartitionOut, decodeListOffsetsRequest,
  defaultListOffsetsResponse, defaultListOffsetsResponseListOffsetsPartitionResponse,
  defaultListOffsetsResponseListOffsetsTopicResponse, encodeListOffsetsResponse,
} from '../../../protocol/generated/messages/list-offsets.js';
import { offsetForTimestamp } from '../../partition/offset-lookup.js';
import type { PartitionLog } from '../../partition/partition-log.js';
import { defineHandler } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorizedNames } from '../authorize.js';
import type { BrokerServices } from '../services.js';

const EARLIEST = -2n;
const LATEST = -1n;

/** ListOffsets' isolation_level 1 (v2+): the latest offset is the last stable offset. */
const READ_COMMITTED = 1;

async function lookup(s: BrokerServices, log: PartitionLog, timestamp: bigint,
  readCommitted: boolean):
  Promise<Partial<PartitionOut>> {
  if (timestamp === EARLIEST) return { offset: BigInt(log.logStartOffset), leaderEpoch: log.leaderEpoch };
  if (timestamp === LATEST) {
    const latest = readCommitted ? log.txns.lastStableOffset(log.highWatermark) : log.highWatermark;
    return { offset: BigInt(latest), leaderEpoch: log.leaderEpoch };
  }
  if (timestamp < 0n) return { errorCode: ErrorCode.INVALID_REQUEST };
  const found = await offsetForTimestamp(log, Number(timestamp), s.metadata, s.history);
  if (found === null) return { offset: -1n, timestamp: -1n };
  return { offset: BigInt(found.offset), timestamp: BigInt(found.timestampMs), leaderEpoch: found.leaderEpoch };
}

export const handler = defineHandler({
  apiKey: 2,
  name: 'ListOffsets',
  minVersion: 1,
  maxVersion: 6,
  decodeRequest: decodeListOffsetsRequest,
  encodeResponse: encodeListOffsetsResponse,
  async handle(ctx, req, version) {
    const s = ctx.services;
    const res = defaultListOffsetsResponse();
    const describable = authorizedNames(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC,
      req.topics.map((t) => t.name));
    for (const t of req.topics) {
      const topic = describable.has(t.name) ? s.partitions.topic(t.name) : undefined;
      const out = { ...defaultListOffsetsResponseListOffsetsTopicResponse(), name: t.name,
        partitions: [] as PartitionOut[] };
      for (const p of t.partitions) {
        const base = { ...defaultListOffsetsResponseListOffsetsPartitionResponse(), partitionIndex: p.partitionIndex };
        const log = topic?.logs[p.partitionIndex];
        if (!describable.has(t.name)) {
          out.partitions.push({ ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
        } else if (log === undefined) {
          out.partitions.push({ ...base, errorCode: s.partitions.missingError(t.name, p.partitionIndex) });
        } else if (version >= 4 && p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch !== log.leaderEpoch) {
          out.partitions.push({ ...base, errorCode: p.currentLeaderEpoch < log.leaderEpoch
            ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH });
        } else {
          const found = await lookup(s, log, p.timestamp,
            version >= 2 && req.isolationLevel === READ_COMMITTED);
          // LeaderEpoch exists from v4 and may not be dropped silently below it.
          out.partitions.push({ ...base, ...found, ...(version < 4 ? { leaderEpoch: -1 } : {}) });
        }
      }
      res.topics.push(out);
    }
    return res;
  },
});
