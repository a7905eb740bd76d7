/**
 * Produce, one partition: validate the batch (header + CRC32C, then a walk of its records,
 * decompressed within a budget, that checks they match the header), and hand it to the partition
 * log, which assigns offsets (patching the batch in place) and submits it to the WAL. The batch
 * itself is never re-encoded. Maps every outcome to the error code Kafka's broker returns.
 *
 * Where the batch's bytes live: the log keeps them in its tail until they are uploaded and
 * evicted, and counts only the batch's own bytes. A batch is a view of the request frame, and a
 * view keeps the frame's whole memory (its ArrayBuffer) alive. So the batches of a request stay
 * in the frame only when they make up at least half of that memory (`batchesMayStayInFrame`):
 * then what they keep alive is at most twice what the tail counts, and they are appended in the
 * same tick, so the uploader takes them in the same pass and the tail evicts them together.
 * Otherwise (a small batch in a socket read that also holds other requests) each is copied, as
 * before. Not copying every batch saves a copy and an allocation of each byte produced, and the
 * garbage collections those allocations set off (issue 13).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import { validateBatch } from '../../../protocol/records/batch-header.js';
import { checkBatchRecords } from '../../../protocol/records/batch-records.js';
import { type TopicEntry, missingPartitionError } from '../../partition/partition-manager.js';
import type { BrokerServices } from '../services.js';
import { produceLimits } from '../../limits.js';
import { refusalForUploadBacklog } from './upload-backpressure.js';
import type { ProduceRequest } from '../../../protocol/generated/messages/produce.js';
import { decodedRecords } from '../../../protocol/primitives/record-set.js';

export interface PartitionAppendResult {
  errorCode: number;
  errorMessage: string | null;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  /** Resolves once the batch is durable; absent when nothing was appended. */
  durable?: Promise<void>;
  /** The answer (a refusal) waits for this: the partition's handoff to finish. Never rejects. */
  answerAfter?: Promise<void>;
}

/**
 * What the compressed batches of one request may still inflate to, starting from
 * limits.produceUncompressedBytesMax: one budget per request, so many batches cannot multiply it.
 */
export interface InflateBudget {
  remainingBytes: number;
}

function failed(errorCode: number, errorMessage: string | null): PartitionAppendResult {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

/** Least share of the frame's memory the batches of a request must make up to stay in it. */
const FRAME_SHARE_MIN = 0.5;

/**
 * True when the request's batches make up at least FRAME_SHARE_MIN of the memory of the frame
 * they are views of (one ArrayBuffer for all: decoders return views of the frame).
 */
export function batchesMayStayInFrame(req: ProduceRequest): boolean {
  let frame: ArrayBufferLike | null = null;
  let batchBytes = 0;
  for (const t of req.topicData) {
    for (const p of t.partitionData) {
      const records = decodedRecords(p.records);
      if (records === null) continue;
      if (frame !== null && records.buffer !== frame) return false;
      frame = records.buffer;
      batchBytes += records.length;
    }
  }
  return frame !== null && batchBytes >= FRAME_SHARE_MIN * frame.byteLength;
}

/** What every partition's append in one request shares. */
export interface RequestAppendState {
  nowMs: number;
  inflate: InflateBudget;
  /** The request's batches may stay in its frame (batchesMayStayInFrame), else each is copied. */
  inFrame: boolean;
}

export function appendPartition(s: BrokerServices, topic: TopicEntry | undefined, partition: number,
  records: Buffer | null, request: RequestAppendState): PartitionAppendResult {
  const { nowMs, inflate } = request;
  const log = topic?.logs[partition];
  if (topic === undefined || log === undefined) {
    return failed(ErrorCode[missingPartitionError(topic, partition)], null);
  }
  const backlogFull = refusalForUploadBacklog(s);
  if (backlogFull !== null) return failed(backlogFull.errorCode, backlogFull.errorMessage);
  if (records === null || records.length === 0) {
    return failed(ErrorCode.INVALID_RECORD, 'produce request carries no record batch');
  }
  const check = validateBatch(records, 0, 'client');
  if (!check.ok) return failed(ErrorCode[check.errorName], check.detail);
  if (check.sizeBytes !== records.length) {
    // As Kafka: v3+ requests must hold exactly one batch per partition.
    return failed(ErrorCode.INVALID_RECORD, 'produce request must contain exactly one record batch');
  }
  // Before any offset is assigned: a batch whose records cannot be read is never stored.
  const contents = checkBatchRecords(check.header, check.sizeBytes, inflate.remainingBytes);
  if (!contents.ok) return failed(ErrorCode[contents.errorName], contents.detail);
  inflate.remainingBytes -= contents.uncompressedBytes;
  // The log patches the batch in place: the frame's bytes are this request's alone either way.
  const batch = request.inFrame ? records : Buffer.from(records);
  const outcome = log.append(batch, check.header, topic.config, nowMs);
  switch (outcome.kind) {
    case 'error':
      if (outcome.error === 'NOT_LEADER_OR_FOLLOWER' && !log.fenced) {
        return { ...failed(ErrorCode[outcome.error], outcome.detail),
          answerAfter: log.whenFenced(produceLimits.handoffAnswerWaitMsMax) };
      }
      return failed(ErrorCode[outcome.error], outcome.detail);
    case 'duplicate':
      // Acknowledged when the original is durable, not before (it may still be in flight).
      return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: outcome.baseOffset,
        logAppendTimeMs: -1, logStartOffset: log.logStartOffset, durable: outcome.durable };
    case 'appended': {
      s.metrics.bytesProduced.inc(batch.length);
      const name = topic.record.name;
      s.metrics.topicBytesIn.add(name, { topic: name }, batch.length);
      s.metrics.topicRecordsIn.add(name, { topic: name }, check.header.recordCount);
      s.uploader.noteAppended(batch.length);
      return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: outcome.baseOffset,
        logAppendTimeMs: outcome.logAppendTimeMs, logStartOffset: log.logStartOffset,
        durable: outcome.durable };
    }
  }
}
