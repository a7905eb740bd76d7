/**
 * Reads batches that left the in-memory tail: looks up the segment index, fetches each entry's
 * byte range through the read cache (one ranged GET per entry on a miss), and trims the range to
 * the requested offsets.
 *
 * GETs overlap instead of running one after another: a read first starts (as cache prefetches)
 * the GETs of every entry its maxBytes may need, then awaits them in order; and it reads ahead
 * up to historyReadAheadBytesMax past that, so a sequential consumer finds its next Fetch's
 * entries in flight or cached. `prefetch` does the same without waiting, so a Fetch can start
 * every partition's GETs before its ordered pass. The cache bounds what all of this holds.
 */
import assert from 'node:assert/strict';
import { readBatchHeader, splitBatches } from '../../protocol/records/batch-header.js';
import type { SegmentEntry } from '../metadata/records.js';
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
    const entries = await this.list(topicId, partition, offset);
    // The first entry is awaited below at once; the rest are joined in flight.
    this.prefetchEntries(entries, 1, endOffset, maxBytes);
    const out: Buffer[] = [];
    let sizeBytes = 0;
    let nextOffset = offset;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.baseOffset >= endOffset) break;
      const bytes = await this.cache.get(e.objectKey, e.position, e.position + e.sizeBytes);
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
        this.metrics.bytesFetched.add('object-store', { source: 'object-store' }, to - from);
      }
      if (full) break;
    }
    return { chunks: out, sizeBytes, nextOffset };
  }

  /** Starts the GETs `read` with these arguments would make, and its read-ahead; never throws. */
  prefetch(topicId: string, partition: number, offset: number, endOffset: number,
    maxBytes: number): void {
    // A failed lookup is left for the read itself to meet and report.
    this.list(topicId, partition, offset)
      .then((entries) => this.prefetchEntries(entries, 0, endOffset, maxBytes), () => undefined);
  }

  private list(topicId: string, partition: number, offset: number): Promise<SegmentEntry[]> {
    return this.metadata.segments.list(topicId, partition, offset,
      partitionLimits.historyEntriesPerReadMax);
  }

  /**
   * Prefetches entries from index `from` on while the entries before them hold less than
   * maxBytes + historyReadAheadBytesMax, stopping at endOffset (the tail serves what follows
   * from memory). The cache drops what exceeds its own in-flight bounds.
   */
  private prefetchEntries(entries: readonly SegmentEntry[], from: number, endOffset: number,
    maxBytes: number): void {
    assert.ok(entries.length <= partitionLimits.historyEntriesPerReadMax);
    const aheadBytesMax = maxBytes + partitionLimits.historyReadAheadBytesMax;
    let aheadBytes = 0;
    for (let i = 0; i < entries.length && aheadBytes < aheadBytesMax; i++) {
      const e = entries[i]!;
      if (e.baseOffset >= endOffset) break;
      if (i >= from) this.cache.prefetch(e.objectKey, e.position, e.position + e.sizeBytes);
      aheadBytes += e.sizeBytes;
    }
  }
}
