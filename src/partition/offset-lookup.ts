/**
 * ListOffsets by timestamp: the first offset whose batch holds a timestamp >= the one asked for.
 * Looks in the segment index first (older data), then in the in-memory tail.
 *
 * Granularity is the batch: the answer is the base offset of the first batch whose max timestamp
 * reaches the target, so a consumer seeking there may re-read the few earlier records of that
 * batch — never miss one. Kafka answers per record; matching that would mean decompressing.
 */
import { readBatchHeader, splitBatches } from '../../protocol/records/batch-header.js';
import type { Metadata } from '../metadata/stores.js';
import type { HistoryReader, PartitionLog } from './partition-log.js';

export interface OffsetAndTimestamp {
  offset: number;
  timestampMs: number;
  leaderEpoch: number;
}

export async function offsetForTimestamp(log: PartitionLog, timestampMs: number,
  metadata: Metadata, history: HistoryReader): Promise<OffsetAndTimestamp | null> {
  const entry = await metadata.segments.findByTimestamp(log.topicId, log.partition, timestampMs);
  if (entry !== null && entry.lastOffset >= log.logStartOffset) {
    const from = Math.max(entry.baseOffset, log.logStartOffset);
    const read = await history.read(log.topicId, log.partition, from, entry.lastOffset + 1,
      entry.sizeBytes, true);
    for (const chunk of read.chunks) {
      for (const span of splitBatches(chunk).batches) {
        const h = readBatchHeader(chunk, span.offset);
        if (h.maxTimestamp >= timestampMs) {
          return { offset: Math.max(h.baseOffset, log.logStartOffset), timestampMs: h.maxTimestamp,
            leaderEpoch: h.partitionLeaderEpoch };
        }
      }
    }
  }
  const inTail = log.findInTailByTimestamp(timestampMs);
  if (inTail === null) return null;
  return { offset: Math.max(inTail.offset, log.logStartOffset), timestampMs: inTail.timestampMs,
    leaderEpoch: log.leaderEpoch };
}
