/**
 * DeleteRecords: v0-2.
 * Behavior: raises each partition's log start to the requested offset (-1 = high watermark) and
 * answers the new low watermark; past the high watermark or below -1: OFFSET_OUT_OF_RANGE. Data
 * above the uploaded end is only in the WAL/tail, so the uploader is flushed once first (the new
 * start must be indexed), then coordinator, log, and objects left without live entries are
 * deleted. A failed upload answers KAFKA_STORAGE_ERROR (retriable).
 * Version notes: v2 is the flexible encoding.
 * Not implemented: timeoutMs (the call returns once done).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type DeleteRecordsResponseDeleteRecordsPartitionResult as PartitionOut,
  decodeDeleteRecordsRequest, defaultDeleteRecordsResponse, encodeDeleteRecordsResponse,
  defaultDeleteRecordsResponseDeleteRecordsPartitionResult as defaultPartitionOut,
  defaultDeleteRecordsResponseDeleteRecordsTopicResult as defaultTopicOut,
} from '../../../protocol/generated/messages/delete-records.js';
import { UnknownTopicError } from '../../metadata/records.js';
import type { PartitionLog } from '../../partition/partition-log.js';
import { defineHandler } from '../handler.js';
import type { BrokerServices } from '../services.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorizedNames } from '../authorize.js';

interface Pending { out: PartitionOut; log: PartitionLog; offset: number }
const OUT_OF_RANGE = ErrorCode.OFFSET_OUT_OF_RANGE;

async function advance(s: BrokerServices, { out, log, offset }: Pending): Promise<void> {
  // Still not indexed after the flush: the upload failed.
  if (offset > log.uploadedEndOffset) return void (out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR);
  try {
    const orphaned = await s.metadata.segments.advanceLogStart(log.topicId, log.partition, offset);
    log.advanceLogStart(offset);
    s.deleteObjects(orphaned);
    out.lowWatermark = BigInt(log.logStartOffset);
  } catch (err) {
    if (!(err instanceof UnknownTopicError)) throw err;
    out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION; // deleted meanwhile
  }
}

export const handler = defineHandler({
  apiKey: 21,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 2,
  decodeRequest: decodeDeleteRecordsRequest,
  encodeResponse: encodeDeleteRecordsResponse,
  async handle(ctx, req) {
    const s = ctx.services;
    const res = defaultDeleteRecordsResponse();
    const pending: Pending[] = [];
    const deletable = authorizedNames(ctx, AclOperation.DELETE, ResourceType.TOPIC,
      req.topics.map((t) => t.name));
    for (const t of req.topics) {
      const partitions = t.partitions.map((p) => {
        const out = { ...defaultPartitionOut(), partitionIndex: p.partitionIndex,
          lowWatermark: -1n };
        if (!deletable.has(t.name)) {
          return { ...out, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED };
        }
        const log = s.partitions.partitionLog(t.name, p.partitionIndex);
        const offset = p.offset === -1n ? log?.highWatermark ?? -1 : Number(p.offset);
        if (log === undefined) out.errorCode = s.partitions.missingError(t.name, p.partitionIndex);
        else if (p.offset < -1n || offset > log.highWatermark) out.errorCode = OUT_OF_RANGE;
        else pending.push({ out, log, offset });
        return out;
      });
      res.topics.push({ ...defaultTopicOut(), name: t.name, partitions });
    }
    if (pending.some((p) => p.offset > p.log.uploadedEndOffset)) {
      await s.uploader.flush().catch((err: unknown) => ctx.log.warn({ err }, 'upload failed'));
    }
    for (const p of pending) await advance(s, p);
    return res;
  },
});
