/**
 * Reads batches that left the in-memory tail: looks up the segment index, fetches each entry's
 * byte range through the read cache (one ranged GET per entry on a miss), and trims the range to
 * the requested offsets. A sequential consumer gets the next entry prefetched.
 */
import { readBatchHeader, splitBatches } from '../../protocol/records/batch-header.js';
import type { Metadata } from '../metadata/stores.js';
import { partitionLimits } from '../limits.js';
import type { Metrics } from '../metrics.js';
import type { HistoryChunk, HistoryReader } from './partition-log.js';

/** The subset of storage/cache/read-cache.ts the reader uses. */
export interface RangeCache {
  get(key: string, start: number, endExclusive: number): Promise<Buffer>;
  prefetch(key: string, start: number, endExclusive: number): void;
}


export class ObjectHistoryReader implements HistoryReader {
  constructor(
    private readonly metadata: Metadata,
    private readonly cache: RangeCache,
    private readonly metrics: Metrics,
  ) {}

  async read(topicId: string, partition: number, offset: number, endOffset: number,
    maxBytes: number, minOneBatch: boolean): Promise<HistoryChunk> {
    const entries = await this.metadata.segments.list(topicId, partition, offset, partitionLimits.historyEntriesPerReadMax);
    const out: Buffer[] = [];
    let sizeBytes = 0;
    let nextOffset = offset;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.baseOffset >= endOffset) break;
      const bytes = await this.cache.get(e.objectKey, e.position, e.position + e.sizeBytes);
      const next = entries[i + 1];
      if (next !== undefined) this.cache.prefetch(next.objectKey, next.position, next.position + next.sizeBytes);
      // One contiguous slice per entry: the batches a Fetch needs from it, whole.
      let from = -1;
      let to = -1;
      let full = false;
      for (const span of splitBatches(bytes).batches) {
        const h = readBatchHeader(bytes, span.offset);
        if (h.lastOffset < offset) continue;
        if (h.baseOffset >= endOffset) { full = true; break; }
        const first = sizeBytes === 0 && minOneBatch;
        if (!first && sizeBytes + span.sizeBytes > maxBytes) { full = true; break; }
        if (from < 0) from = span.offset;
        to = span.offset + span.sizeBytes;
        sizeBytes += span.sizeBytes;
        nextOffset = h.lastOffset + 1;
      }
      if (from >= 0) {
        out.push(bytes.subarray(from, to));
        this.metrics.bytesFetched.inc({ source: 'object-store' }, to - from);
      }
      if (full) break;
    }
    return { chunks: out, sizeBytes, nextOffset };
  }
}
