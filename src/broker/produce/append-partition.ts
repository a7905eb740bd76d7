/**
 * Produce, one partition: validate the batch (header + CRC32C, then a walk of its records,
 * decompressed within a budget, that checks they match the header), take a private copy of it,
 * and hand it to the partition log, which assigns offsets and submits it to the WAL. The batch
 * itself is never re-encoded. Maps every outcome to the error code Kafka's broker returns.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import { validateBatch } from '../../../protocol/records/batch-header.js';
import { checkBatchRecords } from '../../../protocol/records/batch-records.js';
import { type TopicEntry, missingPartitionError } from '../../partition/partition-manager.js';
import type { BrokerServices } from '../services.js';
import { produceLimits } from '../../limits.js';
import { refusalForUploadBacklog } from './upload-backpressure.js';

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

export function appendPartition(s: BrokerServices, topic: TopicEntry | undefined, partition: number,
  records: Buffer | null, nowMs: number, inflate: InflateBudget): PartitionAppendResult {
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
  // Our own copy: the request buffer may be shared with other frames, and the log patches it.
  const batch = Buffer.from(records);
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
    case 'appended':
      s.metrics.bytesProduced.inc(batch.length);
      s.metrics.topicBytesIn.inc({ topic: topic.record.name }, batch.length);
      s.metrics.topicRecordsIn.inc({ topic: topic.record.name }, check.header.recordCount);
      s.uploader.noteAppended(batch.length);
      return { errorCode: ErrorCode.NONE, errorMessage: null, baseOffset: outcome.baseOffset,
        logAppendTimeMs: outcome.logAppendTimeMs, logStartOffset: log.logStartOffset,
        durable: outcome.durable };
  }
}
