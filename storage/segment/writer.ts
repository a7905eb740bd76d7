/**
 * Builds one segment object from the batches of many partitions (format.ts describes the layout).
 *
 * The batches come from our own WAL, so a bad one here is a broker bug or memory corruption, not
 * client input: the writer asserts rather than returning errors, so nothing it cannot index ever
 * reaches object storage. Every batch's framing is re-validated ('log' rules) before upload, but
 * not its CRC: produce checked it (or the WAL entry checksum did, on recovery), and this third
 * pass over every stored byte was 6% of the broker's CPU producing to 16 partitions (issue 13).
 * What that gives up: a batch corrupted in memory after it was checked is stored as it is, and
 * caught when read (the segment reader checks every CRC, as consumers do).
 */
import assert from 'node:assert/strict';
import { splitBatches, validateBatchFraming } from '../../protocol/records/batch-header.js';
import { objectStoreLimits, segmentLimits } from '../limits.js';
import {
  compareRangeOrder,
  encodeFooterAndTrailer,
  isValidTopicId,
  type SegmentRange,
} from './format.js';

export interface SegmentPart {
  topicId: string;
  partition: number;
  /** Whole v2 batches in ascending offset order; one Buffer may hold several concatenated. */
  batches: Buffer[];
}

export interface BuiltSegment {
  /** The complete object: body, footer, trailer. */
  body: Buffer;
  /** Where each partition's batches sit in `body`, in (topicId, partition) order. */
  ranges: SegmentRange[];
}

/** A segment object as the buffers it is made of: the batches in order, then footer+trailer. */
export interface SegmentParts {
  parts: Buffer[];
  /** The object's size: the sum of the parts. */
  bytes: number;
  /** Where each partition's batches sit in the object, in (topicId, partition) order. */
  ranges: SegmentRange[];
}

/** What a partition's batches add up to, before a position is assigned. */
type PartSummary = Omit<SegmentRange, 'position'>;

/** The object in one new buffer (one copy of every batch): see buildSegmentParts. */
export function buildSegmentObject(parts: readonly SegmentPart[]): BuiltSegment {
  const built = buildSegmentParts(parts);
  // One allocation, one copy per batch: Buffer.concat over a nested list would copy twice.
  const body = Buffer.concat(built.parts, built.bytes);
  return { body, ranges: built.ranges };
}

/**
 * The object as a list of the batches it holds, in object order, and its footer+trailer. Nothing
 * is copied: an object store that can write a list (object-store.ts, ObjectBody) sends the
 * batches from where they are. The buffers are the caller's: they must not change until the PUT
 * is done.
 */
export function buildSegmentParts(parts: readonly SegmentPart[]): SegmentParts {
  assert.ok(parts.length >= 1, 'a segment object holds at least one partition');
  assert.ok(parts.length <= segmentLimits.rangesPerObjectMax, `${parts.length} partitions`);
  const sorted = [...parts].sort(compareRangeOrder);
  const ranges: SegmentRange[] = [];
  let position = 0;
  for (const part of sorted) {
    const previous = ranges[ranges.length - 1];
    if (previous !== undefined) {
      const where = `${part.topicId}:${part.partition}`;
      assert.notEqual(compareRangeOrder(previous, part), 0, `partition ${where} given twice`);
    }
    const summary = summarizePart(part);
    ranges.push({ ...summary, position });
    position += summary.sizeBytes;
  }
  const bodyBytes = position;
  const tail = encodeFooterAndTrailer(ranges, bodyBytes);
  const objectBytes = bodyBytes + tail.length;
  assert.ok(objectBytes <= objectStoreLimits.objectBytesMax, `object of ${objectBytes} bytes`);
  const out: Buffer[] = [];
  let at = 0;
  for (const part of sorted) {
    for (const batch of part.batches) {
      out.push(batch);
      at += batch.length;
    }
  }
  assert.equal(at, bodyBytes);
  out.push(tail);
  return { parts: out, bytes: objectBytes, ranges };
}

/** Validates one partition's batches and sums up what its range will record. */
function summarizePart(part: SegmentPart): PartSummary {
  const where = `${part.topicId}:${part.partition}`;
  assert.ok(isValidTopicId(part.topicId), `topicId ${JSON.stringify(part.topicId)}`);
  assert.ok(Number.isInteger(part.partition) && part.partition >= 0, `partition ${where}`);
  assert.ok(part.batches.length >= 1, `partition ${where} has no batches`);
  let summary: PartSummary | null = null;
  for (const buf of part.batches) {
    const split = splitBatches(buf);
    assert.equal(split.trailing, null, `partition ${where}: bytes after the last whole batch`);
    for (const span of split.batches) {
      const validation = validateBatchFraming(buf, span.offset, 'log');
      if (!validation.ok) assert.fail(`partition ${where}: ${validation.reason}`);
      const h = validation.header;
      if (summary === null) {
        summary = {
          topicId: part.topicId,
          partition: part.partition,
          sizeBytes: 0,
          baseOffset: h.baseOffset,
          lastOffset: -1,
          maxTimestampMs: h.maxTimestamp,
          leaderEpoch: h.partitionLeaderEpoch,
          batchCount: 0,
        };
      }
      // Gaps are allowed (compaction, aborted transactions' markers elsewhere); overlap is not.
      assert.ok(h.baseOffset > summary.lastOffset, `partition ${where}: offsets not ascending`);
      summary.sizeBytes += validation.sizeBytes;
      summary.lastOffset = h.lastOffset;
      summary.maxTimestampMs = Math.max(summary.maxTimestampMs, h.maxTimestamp);
      summary.leaderEpoch = h.partitionLeaderEpoch;
      summary.batchCount += 1;
    }
  }
  assert.ok(summary !== null, `partition ${where} has only empty buffers`);
  assert.ok(summary.lastOffset >= summary.baseOffset);
  return summary;
}
