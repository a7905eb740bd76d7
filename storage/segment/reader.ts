/**
 * Reads segment objects back: the footer from the object's tail (one ranged GET, two when the
 * footer is larger than the first read), a whole object already in memory, and a check that a
 * range's bytes really hold the batches its index entry claims.
 *
 * Callers: an orphan collector and an index rebuild, which know an object only by its key and its
 * LIST size; and fsck-style tools. The Fetch path does not read footers: it has the index entries
 * from metadata and GETs ranges directly.
 */
import assert from 'node:assert/strict';
import {
  splitBatches,
  validateBatch,
  type BatchSpan,
} from '../../protocol/records/batch-header.js';
import type { ObjectStore } from '../object-store/object-store.js';
import {
  decodeFooter,
  decodeTrailer,
  footerHeaderBytes,
  SegmentFormatError,
  trailerBytes,
  type SegmentFooter,
  type SegmentRange,
} from './format.js';
import { segmentLimits } from '../limits.js';

export interface ReadFooterOptions {
  /** Bytes of the first, speculative tail read; default segmentLimits.footerTailReadBytes. */
  tailReadBytes?: number;
}

/**
 * The footer of the object `key` of `objectBytes` bytes (from LIST, HEAD or a SegmentCommit).
 * Throws SegmentFormatError if the object is not a valid segment, ObjectStoreError if the store
 * fails (RangeNotSatisfiable when `objectBytes` is larger than the object).
 */
export async function readSegmentFooter(
  store: ObjectStore,
  key: string,
  objectBytes: number,
  options: ReadFooterOptions = {},
): Promise<SegmentFooter> {
  const tailReadBytes = options.tailReadBytes ?? segmentLimits.footerTailReadBytes;
  assert.ok(Number.isSafeInteger(objectBytes) && objectBytes >= 0, `objectBytes ${objectBytes}`);
  assert.ok(Number.isSafeInteger(tailReadBytes) && tailReadBytes >= trailerBytes, 'tailReadBytes');
  if (objectBytes < trailerBytes + footerHeaderBytes) {
    throw new SegmentFormatError('too-small', key, `${objectBytes} bytes`);
  }
  const tailStart = Math.max(0, objectBytes - tailReadBytes);
  const tail = await store.getRange(key, tailStart, objectBytes);
  assert.equal(tail.length, objectBytes - tailStart, 'getRange never returns a short read');
  const trailer = decodeTrailer(tail.subarray(tail.length - trailerBytes), objectBytes, key);
  const footerEnd = objectBytes - trailerBytes;
  const footer =
    trailer.footerPosition >= tailStart
      ? tail.subarray(trailer.footerPosition - tailStart, footerEnd - tailStart)
      : await store.getRange(key, trailer.footerPosition, footerEnd);
  return decodeFooter(footer, trailer, key);
}

/** The footer of a whole object held in memory (sans-io; tools and tests). */
export function decodeSegmentObject(object: Buffer, key = ''): SegmentFooter {
  if (object.length < trailerBytes + footerHeaderBytes) {
    throw new SegmentFormatError('too-small', key, `${object.length} bytes`);
  }
  const trailer = decodeTrailer(object.subarray(object.length - trailerBytes), object.length, key);
  const footerEnd = object.length - trailerBytes;
  return decodeFooter(object.subarray(trailer.footerPosition, footerEnd), trailer, key);
}

/**
 * Checks that `bytes` (a range read from an object) are exactly the batches `range` describes:
 * whole batches, each valid by the 'log' rules (CRC included), offsets ascending, and first
 * baseOffset, last lastOffset, max timestamp, last epoch and batch count as indexed. Returns the
 * spans of the batches.
 */
export function checkRangeBatches(bytes: Buffer, range: SegmentRange, key = ''): BatchSpan[] {
  const where = `range ${range.topicId}:${range.partition}`;
  const mismatch = (detail: string): never => {
    throw new SegmentFormatError('range-mismatch', key, `${where}: ${detail}`);
  };
  if (bytes.length !== range.sizeBytes) {
    mismatch(`${bytes.length} bytes, indexed ${range.sizeBytes}`);
  }
  const split = splitBatches(bytes);
  if (split.trailing !== null) mismatch(`trailing ${split.trailing.kind} bytes`);
  if (split.batches.length !== range.batchCount) {
    mismatch(`${split.batches.length} batches, indexed ${range.batchCount}`);
  }
  let lastOffset = -1;
  let maxTimestampMs = Number.MIN_SAFE_INTEGER;
  let leaderEpoch = -1;
  for (const [i, span] of split.batches.entries()) {
    const validation = validateBatch(bytes, span.offset, 'log');
    if (!validation.ok) return mismatch(`batch at ${span.offset}: ${validation.reason}`);
    const h = validation.header;
    if (i === 0 && h.baseOffset !== range.baseOffset) {
      mismatch(`first baseOffset ${h.baseOffset}, indexed ${range.baseOffset}`);
    }
    if (h.baseOffset <= lastOffset) mismatch(`batch at ${span.offset}: offsets not ascending`);
    lastOffset = h.lastOffset;
    maxTimestampMs = Math.max(maxTimestampMs, h.maxTimestamp);
    leaderEpoch = h.partitionLeaderEpoch;
  }
  const found = { lastOffset, maxTimestampMs, leaderEpoch };
  for (const field of ['lastOffset', 'maxTimestampMs', 'leaderEpoch'] as const) {
    if (found[field] !== range[field]) {
      mismatch(`${field} ${found[field]}, indexed ${range[field]}`);
    }
  }
  return split.batches;
}
