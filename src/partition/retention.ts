/**
 * Retention: drops whole segment entries that are older than retention.ms, or that push a
 * partition over retention.bytes, by advancing the log start offset. Only data already in object
 * storage is considered (the in-memory tail is the newest data). Objects whose every entry is
 * gone are returned for deletion.
 */
import type { SegmentEntry } from '../metadata/records.js';
import type { Metadata } from '../metadata/stores.js';
import { partitionLimits } from '../limits.js';
import type { PartitionLog } from './partition-log.js';
import type { PartitionManager } from './partition-manager.js';


export async function enforceRetention(partitions: PartitionManager, metadata: Metadata,
  nowMs: number): Promise<string[]> {
  const orphaned: string[] = [];
  for (const topic of partitions.topics()) {
    const { retentionMs, retentionBytes } = topic.config;
    if (retentionMs < 0 && retentionBytes < 0) continue;
    for (const log of topic.logs) {
      if (log === undefined) continue; // led elsewhere: that broker runs its retention
      const entries = await metadata.segments.list(log.topicId, log.partition, log.logStartOffset,
        partitionLimits.retentionEntriesPerPassMax);
      const totalBytes = retentionBytes >= 0 ? await metadata.segments.partitionSizeBytes(log.topicId, log.partition) : 0;
      const newStart = retainedStart(entries, log, nowMs, retentionMs, retentionBytes, totalBytes);
      if (newStart <= log.logStartOffset) continue;
      orphaned.push(...await metadata.segments.advanceLogStart(log.topicId, log.partition, newStart));
      log.advanceLogStart(newStart);
    }
  }
  return orphaned;
}

function retainedStart(entries: SegmentEntry[], log: PartitionLog, nowMs: number, retentionMs: number,
  retentionBytes: number, totalBytes: number): number {
  let start = log.logStartOffset;
  let remainingBytes = totalBytes;
  for (const e of entries) {
    if (e.lastOffset + 1 > log.uploadedEndOffset) break;
    const expired = retentionMs >= 0 && e.maxTimestampMs < nowMs - retentionMs;
    const oversize = retentionBytes >= 0 && remainingBytes - e.sizeBytes >= retentionBytes;
    if (!expired && !oversize) break;
    start = e.lastOffset + 1;
    remainingBytes -= e.sizeBytes;
  }
  return start;
}
