/**
 * The segment object format (sans-io: bytes in, bytes out). One object holds the record batches of
 * many partitions, so one PUT carries many Produce requests:
 *
 *   [body: each partition's batches concatenated, partitions sorted by (topicId, partition)]
 *   [footer: the index of those ranges, covered by the trailer's CRC]
 *   [trailer: footerLength u32 | footerCrc32c u32 | magic "LSEGv001" (8 bytes)]
 *
 * A partition's range is just its batches, so a ranged GET of it is a valid Fetch records payload.
 * The footer makes an object self-describing: an orphan collector or an index rebuild reads which
 * partitions and offsets it holds from the tail alone, without the metadata coordinator.
 *
 * Footer (all integers big-endian, like Kafka):
 *
 *   offset  size  field
 *        0     2  formatVersion   u16, footerFormatVersion; bumped on any footer layout change
 *        2     2  flags           u16, 0 in version 1 (a reader refuses flags it does not know)
 *        4     8  bodyBytes       u64, bytes before the footer; must equal the footer's position
 *       12     4  rangeCount      u32, ≥ 1
 *       16     …  ranges, each:
 *                   topicIdBytes u8 | topicId ASCII | partition i32 | position u64 |
 *                   sizeBytes u64 | baseOffset i64 | lastOffset i64 | maxTimestampMs i64 |
 *                   leaderEpoch i32 | batchCount u32
 *
 * Binary rather than JSON: the reader must stay bounded against a damaged or hostile tail (every
 * count is checked against the bytes that remain before anything is allocated), and a fixed layout
 * is simpler to bound than a JSON parse. The magic's "v001" names the trailer layout; the footer
 * carries its own version so the index can evolve without moving the trailer.
 *
 * Validation on decode (`decodeTrailer`, `decodeFooter`) throws SegmentFormatError: a damaged
 * object is data to report, not a bug to assert.
 */
import assert from 'node:assert/strict';
import { crc32c } from '../../protocol/records/crc32c.js';
import { BATCH_HEADER_BYTES } from '../../protocol/records/batch-header.js';
import { objectStoreLimits, segmentLimits } from '../limits.js';

export const segmentMagic = Buffer.from('LSEGv001', 'ascii');
export const footerFormatVersion = 1;
/** footerLength u32 + footerCrc32c u32 + magic. */
export const trailerBytes = 4 + 4 + 8;
/** formatVersion u16 + flags u16 + bodyBytes u64 + rangeCount u32. */
export const footerHeaderBytes = 2 + 2 + 8 + 4;
/** Everything in a range entry but the topicId bytes. */
export const rangeFixedBytes = 1 + 4 + 8 + 8 + 8 + 8 + 8 + 4 + 4;


// Relations between the limits, checked once at load time.
assert.ok(
  footerHeaderBytes +
    segmentLimits.rangesPerObjectMax * (rangeFixedBytes + segmentLimits.topicIdBytesMax) <=
    segmentLimits.footerBytesMax,
  'a footer of rangesPerObjectMax ranges fits in footerBytesMax',
);
assert.ok(segmentLimits.topicIdBytesMax <= 0xff, 'topicIdBytes is a u8 on disk');
assert.ok(segmentLimits.footerBytesMax <= 0xffff_ffff, 'footerLength is a u32 on disk');
assert.ok(
  segmentLimits.footerTailReadBytes >= trailerBytes + footerHeaderBytes,
  'the tail read holds at least a trailer and an empty footer header',
);
assert.ok(segmentLimits.footerBytesMax < objectStoreLimits.objectBytesMax, 'a footer fits');

/** Where one partition's contiguous range of batches sits inside a segment object. */
export interface SegmentRange {
  topicId: string;
  partition: number;
  /** Byte position of the range inside the object. */
  position: number;
  sizeBytes: number;
  /** baseOffset of the first batch. */
  baseOffset: number;
  /** lastOffset of the last batch (inclusive). */
  lastOffset: number;
  /** Largest batch maxTimestamp in the range. */
  maxTimestampMs: number;
  /** partitionLeaderEpoch of the last batch. */
  leaderEpoch: number;
  batchCount: number;
}

export interface SegmentFooter {
  formatVersion: number;
  /** Bytes of batches before the footer: the ranges cover [0, bodyBytes) exactly. */
  bodyBytes: number;
  /** Sorted by (topicId, partition); contiguous from position 0. */
  ranges: SegmentRange[];
}

/** What the trailer says about the footer, already checked against the object's size. */
export interface SegmentTrailer {
  footerLength: number;
  footerCrc32c: number;
  /** Byte position of the footer in the object (= bodyBytes). */
  footerPosition: number;
}

export type SegmentFormatProblem =
  | 'too-small'
  | 'bad-magic'
  | 'bad-footer-length'
  | 'crc-mismatch'
  | 'unsupported-version'
  | 'malformed-footer'
  | 'bad-range'
  | 'range-mismatch';

/** A segment object (or a range read from one) is not what the format promises. */
export class SegmentFormatError extends Error {
  override readonly name = 'SegmentFormatError';
  constructor(
    readonly problem: SegmentFormatProblem,
    /** The object key, or '' when decoding bytes not tied to a key. */
    readonly key: string,
    detail: string,
  ) {
    super(`segment ${JSON.stringify(key)}: ${problem}: ${detail}`);
  }
}

/** Total order of ranges in an object: topicId (ASCII, so code units = bytes), then partition. */
export function compareRangeOrder(
  a: { topicId: string; partition: number },
  b: { topicId: string; partition: number },
): number {
  if (a.topicId !== b.topicId) return a.topicId < b.topicId ? -1 : 1;
  return a.partition - b.partition;
}

export function isValidTopicId(topicId: string): boolean {
  // Printable ASCII only, so one character is one footer byte and the sort order is byte order.
  return (
    topicId.length >= 1 &&
    topicId.length <= segmentLimits.topicIdBytesMax &&
    /^[\x21-\x7e]+$/.test(topicId)
  );
}

/**
 * Encodes footer + trailer for ranges the writer produced. The ranges must already satisfy every
 * rule decodeFooter checks: that is asserted here, so a writer bug never reaches object storage.
 */
export function encodeFooterAndTrailer(ranges: readonly SegmentRange[], bodyBytes: number): Buffer {
  const problem = rangesProblem(ranges, bodyBytes);
  assert.equal(problem, null, `writer produced an invalid index: ${problem}`);
  let footerLength = footerHeaderBytes;
  for (const range of ranges) footerLength += rangeFixedBytes + range.topicId.length;
  assert.ok(footerLength <= segmentLimits.footerBytesMax, `footer of ${footerLength} bytes`);
  const out = Buffer.alloc(footerLength + trailerBytes);
  let at = out.writeUInt16BE(footerFormatVersion, 0);
  at = out.writeUInt16BE(0, at);
  at = writeUint53(out, bodyBytes, at);
  at = out.writeUInt32BE(ranges.length, at);
  for (const range of ranges) at = writeRange(out, range, at);
  assert.equal(at, footerLength);
  at = out.writeUInt32BE(footerLength, at);
  at = out.writeUInt32BE(crc32c(out.subarray(0, footerLength)), at);
  at += segmentMagic.copy(out, at);
  assert.equal(at, out.length);
  return out;
}

function writeRange(out: Buffer, range: SegmentRange, start: number): number {
  let at = out.writeUInt8(range.topicId.length, start);
  at += out.write(range.topicId, at, 'ascii');
  at = out.writeInt32BE(range.partition, at);
  at = writeUint53(out, range.position, at);
  at = writeUint53(out, range.sizeBytes, at);
  at = out.writeBigInt64BE(BigInt(range.baseOffset), at);
  at = out.writeBigInt64BE(BigInt(range.lastOffset), at);
  at = out.writeBigInt64BE(BigInt(range.maxTimestampMs), at);
  at = out.writeInt32BE(range.leaderEpoch, at);
  at = out.writeUInt32BE(range.batchCount, at);
  assert.equal(at - start, rangeFixedBytes + range.topicId.length);
  return at;
}

function writeUint53(out: Buffer, value: number, at: number): number {
  assert.ok(Number.isSafeInteger(value) && value >= 0, `u64 field ${value}`);
  return out.writeBigUInt64BE(BigInt(value), at);
}

/**
 * Checks the 16-byte trailer of an object of `objectBytes` bytes and locates the footer. The
 * footer must fill exactly the bytes between the body and the trailer, so a damaged footerLength
 * is caught here or by the bodyBytes check in decodeFooter, never read past.
 */
export function decodeTrailer(trailer: Buffer, objectBytes: number, key = ''): SegmentTrailer {
  assert.equal(trailer.length, trailerBytes, 'pass exactly the trailer');
  assert.ok(Number.isSafeInteger(objectBytes) && objectBytes >= trailerBytes, 'caller checks size');
  if (!trailer.subarray(8).equals(segmentMagic)) {
    const found = JSON.stringify(trailer.subarray(8).toString('latin1'));
    throw new SegmentFormatError('bad-magic', key, `magic ${found}, expected "LSEGv001"`);
  }
  const footerLength = trailer.readUInt32BE(0);
  const footerCrc32c = trailer.readUInt32BE(4);
  const roomBytes = objectBytes - trailerBytes;
  if (
    footerLength < footerHeaderBytes ||
    footerLength > segmentLimits.footerBytesMax ||
    footerLength > roomBytes
  ) {
    const detail = `footerLength ${footerLength} in an object of ${objectBytes} bytes`;
    throw new SegmentFormatError('bad-footer-length', key, detail);
  }
  return { footerLength, footerCrc32c, footerPosition: roomBytes - footerLength };
}

/** Checks and decodes the footer bytes that `trailer` located. */
export function decodeFooter(footer: Buffer, trailer: SegmentTrailer, key = ''): SegmentFooter {
  assert.equal(footer.length, trailer.footerLength, 'pass exactly the footer');
  const computed = crc32c(footer);
  if (computed !== trailer.footerCrc32c) {
    const detail = `stored crc ${trailer.footerCrc32c}, computed ${computed}`;
    throw new SegmentFormatError('crc-mismatch', key, detail);
  }
  const cursor = new FooterCursor(footer, key);
  const formatVersion = cursor.u16();
  const flags = cursor.u16();
  if (formatVersion !== footerFormatVersion || flags !== 0) {
    const detail = `formatVersion ${formatVersion} flags ${flags}`;
    throw new SegmentFormatError('unsupported-version', key, detail);
  }
  const bodyBytes = cursor.u53();
  if (bodyBytes !== trailer.footerPosition) {
    const detail = `bodyBytes ${bodyBytes}, footer at ${trailer.footerPosition}`;
    throw new SegmentFormatError('bad-footer-length', key, detail);
  }
  const ranges = decodeRanges(cursor);
  const problem = rangesProblem(ranges, bodyBytes);
  if (problem !== null) throw new SegmentFormatError('bad-range', key, problem);
  return { formatVersion, bodyBytes, ranges };
}

function decodeRanges(cursor: FooterCursor): SegmentRange[] {
  const rangeCount = cursor.u32();
  // Bound the count by the bytes that remain before allocating anything for it.
  if (rangeCount * rangeFixedBytes > cursor.remaining()) {
    cursor.fail(`rangeCount ${rangeCount} cannot fit in ${cursor.remaining()} bytes`);
  }
  const ranges: SegmentRange[] = [];
  for (let i = 0; i < rangeCount; i++) {
    const topicId = cursor.ascii(cursor.u8());
    ranges.push({
      topicId,
      partition: cursor.i32(),
      position: cursor.u53(),
      sizeBytes: cursor.u53(),
      baseOffset: cursor.i53(),
      lastOffset: cursor.i53(),
      maxTimestampMs: cursor.i53(),
      leaderEpoch: cursor.i32(),
      batchCount: cursor.u32(),
    });
  }
  if (cursor.remaining() !== 0) cursor.fail(`${cursor.remaining()} bytes after the last range`);
  return ranges;
}

/**
 * Why `ranges` is not a valid index of a body of `bodyBytes` bytes, or null. The rules: at least
 * one range; ranges strictly ascending by (topicId, partition), so each partition appears once;
 * contiguous from position 0 to bodyBytes; each range holds at least one batch header and an
 * ascending offset range within what a JS number holds exactly.
 */
export function rangesProblem(ranges: readonly SegmentRange[], bodyBytes: number): string | null {
  if (ranges.length === 0) return 'no ranges';
  if (ranges.length > segmentLimits.rangesPerObjectMax) return `${ranges.length} ranges`;
  let position = 0;
  let previous: SegmentRange | null = null;
  for (const range of ranges) {
    const where = `range ${range.topicId}:${range.partition}`;
    const problem = rangeProblem(range);
    if (problem !== null) return `${where}: ${problem}`;
    if (previous !== null && compareRangeOrder(previous, range) >= 0) {
      return `${where} is not after ${previous.topicId}:${previous.partition}`;
    }
    if (range.position !== position) return `${where} at ${range.position}, expected ${position}`;
    position += range.sizeBytes;
    if (position > bodyBytes) return `${where} ends at ${position}, past the body (${bodyBytes})`;
    previous = range;
  }
  if (position !== bodyBytes) return `ranges end at ${position}, body is ${bodyBytes} bytes`;
  return null;
}

function rangeProblem(range: SegmentRange): string | null {
  if (!isValidTopicId(range.topicId)) return 'topicId is not 1..64 printable ASCII characters';
  if (!isInt(range.partition, 0, 0x7fff_ffff)) return `partition ${range.partition}`;
  if (!isInt(range.sizeBytes, BATCH_HEADER_BYTES, Number.MAX_SAFE_INTEGER)) {
    return `sizeBytes ${range.sizeBytes} cannot hold a batch`;
  }
  if (!isInt(range.batchCount, 1, 0xffff_ffff)) return `batchCount ${range.batchCount}`;
  if (range.batchCount * BATCH_HEADER_BYTES > range.sizeBytes) {
    return `${range.batchCount} batches cannot fit in ${range.sizeBytes} bytes`;
  }
  if (!isInt(range.baseOffset, 0, Number.MAX_SAFE_INTEGER)) return `baseOffset ${range.baseOffset}`;
  if (!isInt(range.lastOffset, range.baseOffset, Number.MAX_SAFE_INTEGER)) {
    return `lastOffset ${range.lastOffset} before baseOffset ${range.baseOffset}`;
  }
  if (!Number.isSafeInteger(range.maxTimestampMs)) return `maxTimestampMs ${range.maxTimestampMs}`;
  if (!isInt(range.leaderEpoch, -1, 0x7fff_ffff)) return `leaderEpoch ${range.leaderEpoch}`;
  return null;
}

function isInt(value: number, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= min && value <= max;
}

/** A bounded cursor over the footer: every read checks the bytes that remain first. */
class FooterCursor {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly key: string,
  ) {}

  remaining(): number {
    return this.buf.length - this.pos;
  }

  fail(detail: string): never {
    const where = `${detail} at footer byte ${this.pos}`;
    throw new SegmentFormatError('malformed-footer', this.key, where);
  }

  private take(n: number): number {
    if (n > this.remaining()) this.fail(`needs ${n} bytes, ${this.remaining()} remain`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }
  u16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }
  i32(): number {
    return this.buf.readInt32BE(this.take(4));
  }
  ascii(n: number): string {
    return this.buf.toString('latin1', this.take(n), this.pos);
  }
  /** u64 that must be exact in a double. */
  u53(): number {
    const value = this.buf.readBigUInt64BE(this.take(8));
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`u64 ${value} beyond 2^53`);
    return Number(value);
  }
  /** i64 that must be exact in a double. */
  i53(): number {
    const value = this.buf.readBigInt64BE(this.take(8));
    const limit = BigInt(Number.MAX_SAFE_INTEGER);
    if (value > limit || value < -limit) this.fail(`i64 ${value} beyond ±2^53`);
    return Number(value);
  }
}
