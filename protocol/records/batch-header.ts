/**
 * Record batch v2 header: layout, a typed read-only view, validation, in-place patching, and
 * splitting a buffer of concatenated batches. Nothing here decodes records (see record.ts): Fetch
 * and storage touch only the 61-byte header and the CRC; Produce also walks the records once
 * (batch-records.ts) to check they match the header, without decoding them.
 *
 * Number or bigint: int64 fields that are positions or times (baseOffset, baseTimestamp,
 * maxTimestamp) are JS numbers, exact up to 2^53 (offsets: 285 years at a million records a
 * second; timestamps: ms since 1970 are ~2^41). producerId is a bigint because it is an identity
 * compared for equality, where losing precision would alias two producers.
 */
import assert from 'node:assert/strict';
import { ProtocolDecodeError } from '../primitives/errors.js';
import { crc32c, crc32cCombine } from './crc32c.js';

// Byte offsets of the header fields, from the start of the batch.
export const BASE_OFFSET_OFFSET = 0; // int64
export const BATCH_LENGTH_OFFSET = 8; // int32: bytes after this field
export const PARTITION_LEADER_EPOCH_OFFSET = 12; // int32, not covered by the CRC
export const MAGIC_OFFSET = 16; // int8
export const CRC_OFFSET = 17; // uint32, CRC-32C of ATTRIBUTES_OFFSET..end
export const ATTRIBUTES_OFFSET = 21; // int16
export const LAST_OFFSET_DELTA_OFFSET = 23; // int32
export const BASE_TIMESTAMP_OFFSET = 27; // int64
export const MAX_TIMESTAMP_OFFSET = 35; // int64
export const PRODUCER_ID_OFFSET = 43; // int64
export const PRODUCER_EPOCH_OFFSET = 51; // int16
export const BASE_SEQUENCE_OFFSET = 53; // int32
export const RECORD_COUNT_OFFSET = 57; // int32
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const LOG_OVERHEAD_BYTES = 12;
/** Smallest legal batchLength: a header with no records. */
export const BATCH_LENGTH_MIN = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES;
/** Smallest encoded record: 7 one-byte fields (length, attributes, timestampDelta, offsetDelta,
 * keyLength, valueLength, headerCount). Bounds a record count before anything is allocated. */
export const RECORD_BYTES_MIN = 7;
export const MAGIC_V2 = 2;
export const NO_PRODUCER_ID = -1n;
export const NO_PARTITION_LEADER_EPOCH = -1;

assert.equal(RECORD_COUNT_OFFSET + 4, BATCH_HEADER_BYTES);
assert.equal(BATCH_LENGTH_OFFSET + 4, LOG_OVERHEAD_BYTES);
// The fields the broker patches lie before the CRC'd range, so patching keeps the CRC valid.
assert.ok(BASE_OFFSET_OFFSET + 8 <= ATTRIBUTES_OFFSET);
assert.ok(PARTITION_LEADER_EPOCH_OFFSET + 4 <= ATTRIBUTES_OFFSET);

/** Compression codec ids, the low three bits of the attributes. 5..7 are unassigned. */
export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];
export const COMPRESSION_CODEC_MAX = CompressionCodec.zstd;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

export type TimestampType = 'createTime' | 'logAppendTime';

/**
 * A zero-copy view over a batch header: each getter reads the buffer when called, so a view sees
 * later patches and costs nothing for fields never read. Obtain one from `readBatchHeader` (bounds
 * checked) or `validateBatch` (fully checked).
 */
export class BatchHeaderView {
  constructor(
    readonly buf: Buffer,
    readonly offset: number,
  ) {}

  /** Exact when |value| <= 2^53; a client's baseOffset is arbitrary until patchBaseOffset. */
  get baseOffset(): number {
    return readInt64AsNumber(this.buf, this.offset + BASE_OFFSET_OFFSET);
  }
  get batchLength(): number {
    return this.buf.readInt32BE(this.offset + BATCH_LENGTH_OFFSET);
  }
  /** Whole batch size: batchLength plus the 12 bytes before it. */
  get sizeBytes(): number {
    return LOG_OVERHEAD_BYTES + this.batchLength;
  }
  get partitionLeaderEpoch(): number {
    return this.buf.readInt32BE(this.offset + PARTITION_LEADER_EPOCH_OFFSET);
  }
  get magic(): number {
    return this.buf.readInt8(this.offset + MAGIC_OFFSET);
  }
  get crc(): number {
    return this.buf.readUInt32BE(this.offset + CRC_OFFSET);
  }
  get attributes(): number {
    return this.buf.readInt16BE(this.offset + ATTRIBUTES_OFFSET);
  }
  /** Raw codec id (0..7); validateBatch rejects ids above COMPRESSION_CODEC_MAX. */
  get compression(): number {
    return this.attributes & ATTR_COMPRESSION_MASK;
  }
  get timestampType(): TimestampType {
    return (this.attributes & ATTR_LOG_APPEND_TIME) !== 0 ? 'logAppendTime' : 'createTime';
  }
  get isTransactional(): boolean {
    return (this.attributes & ATTR_TRANSACTIONAL) !== 0;
  }
  get isControl(): boolean {
    return (this.attributes & ATTR_CONTROL) !== 0;
  }
  get hasDeleteHorizonMs(): boolean {
    return (this.attributes & ATTR_DELETE_HORIZON) !== 0;
  }
  get lastOffsetDelta(): number {
    return this.buf.readInt32BE(this.offset + LAST_OFFSET_DELTA_OFFSET);
  }
  /** Offset of the last record the batch covers: baseOffset + lastOffsetDelta. */
  get lastOffset(): number {
    return this.baseOffset + this.lastOffsetDelta;
  }
  /** Milliseconds since the epoch (or the delete horizon when hasDeleteHorizonMs). */
  get baseTimestamp(): number {
    return readInt64AsNumber(this.buf, this.offset + BASE_TIMESTAMP_OFFSET);
  }
  get maxTimestamp(): number {
    return readInt64AsNumber(this.buf, this.offset + MAX_TIMESTAMP_OFFSET);
  }
  get producerId(): bigint {
    return this.buf.readBigInt64BE(this.offset + PRODUCER_ID_OFFSET);
  }
  /** producerId != -1, without allocating a bigint. */
  get hasProducerId(): boolean {
    const at = this.offset + PRODUCER_ID_OFFSET;
    return this.buf.readInt32BE(at) !== -1 || this.buf.readInt32BE(at + 4) !== -1;
  }
  get producerEpoch(): number {
    return this.buf.readInt16BE(this.offset + PRODUCER_EPOCH_OFFSET);
  }
  get baseSequence(): number {
    return this.buf.readInt32BE(this.offset + BASE_SEQUENCE_OFFSET);
  }
  get recordCount(): number {
    return this.buf.readInt32BE(this.offset + RECORD_COUNT_OFFSET);
  }
}

/** int64 big-endian as a number without a bigint allocation; exact when |value| <= 2^53. */
function readInt64AsNumber(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/**
 * A view of the header at `offset`. Checks only that 61 bytes are there (throwing
 * ProtocolDecodeError, never RangeError); use validateBatch for anything from the network.
 */
export function readBatchHeader(buf: Buffer, offset: number): BatchHeaderView {
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < BATCH_HEADER_BYTES) {
    const available = Math.max(0, buf.length - offset);
    const reason = `batch header needs ${BATCH_HEADER_BYTES} bytes, ${available} available`;
    throw new ProtocolDecodeError(reason, 'RecordBatch', offset);
  }
  return new BatchHeaderView(buf, offset);
}

/**
 * Why a batch was refused, and the Kafka error a Produce response should carry for it.
 * CORRUPT_MESSAGE: the bytes are damaged. INVALID_RECORD: well-formed, but breaks a rule Kafka's
 * LogValidator enforces. UNSUPPORTED_COMPRESSION_TYPE: an unassigned codec id.
 */
export const BATCH_INVALID_REASONS = {
  'short-buffer': 'CORRUPT_MESSAGE',
  'batch-length-too-small': 'CORRUPT_MESSAGE',
  truncated: 'CORRUPT_MESSAGE',
  'invalid-magic': 'CORRUPT_MESSAGE',
  'unsupported-magic': 'INVALID_RECORD',
  'crc-mismatch': 'CORRUPT_MESSAGE',
  'unknown-compression': 'UNSUPPORTED_COMPRESSION_TYPE',
  'invalid-record-count': 'INVALID_RECORD',
  'record-count-exceeds-payload': 'CORRUPT_MESSAGE',
  'invalid-offset-range': 'INVALID_RECORD',
  'offset-range-mismatch': 'INVALID_RECORD',
  'control-batch-from-client': 'INVALID_RECORD',
  'invalid-sequence': 'INVALID_RECORD',
} as const;
export type BatchInvalidReason = keyof typeof BATCH_INVALID_REASONS;
export type BatchErrorName = (typeof BATCH_INVALID_REASONS)[BatchInvalidReason];

export type BatchValidation =
  | { ok: true; header: BatchHeaderView; sizeBytes: number }
  | { ok: false; reason: BatchInvalidReason; errorName: BatchErrorName; detail: string };

/**
 * Where a batch comes from, which decides the offset rules (Kafka's AppendOrigin):
 * - 'client': a Produce request. As Kafka's LogValidator: recordCount >= 1,
 *   lastOffsetDelta == recordCount - 1, no control batches, baseSequence >= 0 when idempotent.
 * - 'log': our own storage or a Fetch response. Compaction can leave fewer records than the
 *   offset range (even none), so only recordCount <= lastOffsetDelta + 1 holds, and the offset
 *   range must be representable (0 <= baseOffset, lastOffset <= 2^53 - 1).
 */
export type BatchOrigin = 'client' | 'log';

function invalid(reason: BatchInvalidReason, detail: string): BatchValidation {
  return { ok: false, reason, errorName: BATCH_INVALID_REASONS[reason], detail };
}

/**
 * Checks the batch at `offset` without decoding records: size, magic, CRC-32C, codec, record
 * count, and the offset rules of `origin`. Never throws on bad input. The batch may be followed
 * by more bytes; `sizeBytes` says where it ends.
 */
export function validateBatch(
  buf: Buffer,
  offset: number,
  origin: BatchOrigin = 'client',
): BatchValidation {
  return checkBatch(buf, offset, origin, true);
}

/**
 * validateBatch without the CRC-32C, for bytes this process has already checked and not changed
 * since: the segment writer's batches were checked when produced (or by the WAL entry checksum
 * that recovered them), and a third pass over every stored byte cost 6% of the broker's CPU at
 * 16 partitions (issue 13). Everything else is checked as validateBatch does.
 */
export function validateBatchFraming(buf: Buffer, offset: number,
  origin: BatchOrigin): BatchValidation {
  return checkBatch(buf, offset, origin, false);
}

function checkBatch(buf: Buffer, offset: number, origin: BatchOrigin,
  checksum: boolean): BatchValidation {
  assert.ok(Number.isInteger(offset) && offset >= 0, 'offset must be a non-negative integer');
  const availableBytes = buf.length - offset;
  if (availableBytes <= MAGIC_OFFSET) {
    return invalid('short-buffer', `${Math.max(0, availableBytes)} bytes, no magic byte`);
  }
  // Magic first: an older message set has another layout, so no other field means anything.
  const magic = buf.readInt8(offset + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) {
    if (magic === 0 || magic === 1) return invalid('unsupported-magic', `magic ${magic}`);
    return invalid('invalid-magic', `magic ${magic}`);
  }
  if (availableBytes < BATCH_HEADER_BYTES) {
    return invalid('short-buffer', `${availableBytes} bytes, header needs ${BATCH_HEADER_BYTES}`);
  }
  const batchLength = buf.readInt32BE(offset + BATCH_LENGTH_OFFSET);
  if (batchLength < BATCH_LENGTH_MIN) {
    return invalid('batch-length-too-small', `batchLength ${batchLength} < ${BATCH_LENGTH_MIN}`);
  }
  const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
  if (sizeBytes > availableBytes) {
    return invalid('truncated', `batch of ${sizeBytes} bytes, ${availableBytes} available`);
  }
  const end = offset + sizeBytes;
  if (checksum) {
    const storedCrc = buf.readUInt32BE(offset + CRC_OFFSET);
    const computedCrc = crc32c(buf.subarray(offset + ATTRIBUTES_OFFSET, end));
    if (storedCrc !== computedCrc) {
      return invalid('crc-mismatch', `stored crc ${storedCrc}, computed ${computedCrc}`);
    }
  }
  const header = new BatchHeaderView(buf, offset);
  const failure = checkContents(header, sizeBytes) ?? checkOffsets(header, origin);
  return failure ?? { ok: true, header, sizeBytes };
}

/** Codec and record count: checks that hold whatever the origin. */
function checkContents(header: BatchHeaderView, sizeBytes: number): BatchValidation | null {
  const codec = header.compression;
  if (codec > COMPRESSION_CODEC_MAX) return invalid('unknown-compression', `codec id ${codec}`);
  const recordCount = header.recordCount;
  if (recordCount < 0) return invalid('invalid-record-count', `recordCount ${recordCount}`);
  const payloadBytes = sizeBytes - BATCH_HEADER_BYTES;
  if (codec === CompressionCodec.none && recordCount > payloadBytes / RECORD_BYTES_MIN) {
    const detail = `recordCount ${recordCount} cannot fit in ${payloadBytes} bytes`;
    return invalid('record-count-exceeds-payload', detail);
  }
  return null;
}

function checkOffsets(header: BatchHeaderView, origin: BatchOrigin): BatchValidation | null {
  const recordCount = header.recordCount;
  const lastOffsetDelta = header.lastOffsetDelta;
  const range = `lastOffsetDelta ${lastOffsetDelta}, recordCount ${recordCount}`;
  if (lastOffsetDelta < 0) return invalid('invalid-offset-range', range);
  if (origin === 'log') {
    if (recordCount > lastOffsetDelta + 1) return invalid('offset-range-mismatch', range);
    const baseOffset = header.baseOffset;
    if (baseOffset < 0 || baseOffset + lastOffsetDelta > Number.MAX_SAFE_INTEGER) {
      return invalid('invalid-offset-range', `baseOffset ${baseOffset} out of range`);
    }
    return null;
  }
  if (recordCount === 0) return invalid('invalid-record-count', range);
  if (recordCount !== lastOffsetDelta + 1) return invalid('offset-range-mismatch', range);
  if (header.isControl) return invalid('control-batch-from-client', 'control batch');
  if (header.hasProducerId && header.baseSequence < 0) {
    return invalid('invalid-sequence', `baseSequence ${header.baseSequence}`);
  }
  return null;
}

function assertHeaderInBounds(buf: Buffer, offset: number): void {
  assert.ok(Number.isInteger(offset) && offset >= 0, 'offset must be a non-negative integer');
  assert.ok(offset + BATCH_HEADER_BYTES <= buf.length, 'batch header outside buffer');
}

/**
 * Assigns the batch's base offset in place. baseOffset is outside the CRC'd range, so the CRC
 * stays valid. With lastOffsetDelta == recordCount - 1 (validated for client batches) the batch
 * then covers baseOffset..baseOffset + recordCount - 1.
 */
export function patchBaseOffset(buf: Buffer, offset: number, baseOffset: number): void {
  assertHeaderInBounds(buf, offset);
  assert.ok(Number.isSafeInteger(baseOffset) && baseOffset >= 0, `bad baseOffset ${baseOffset}`);
  const at = offset + BASE_OFFSET_OFFSET;
  buf.writeUInt32BE(Math.floor(baseOffset / 0x1_0000_0000), at);
  buf.writeUInt32BE(baseOffset >>> 0, at + 4);
}

/** Stamps the leader epoch in place; also outside the CRC'd range. */
export function patchPartitionLeaderEpoch(buf: Buffer, offset: number, epoch: number): void {
  assertHeaderInBounds(buf, offset);
  assert.ok(Number.isInteger(epoch) && epoch >= -1 && epoch <= 0x7fffffff, `bad epoch ${epoch}`);
  buf.writeInt32BE(epoch, offset + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * The CRC-32C of the whole batch `buf` (all its bytes, as a WAL entry's checksum covers them),
 * computed from the batch's own stored CRC instead of a second pass over its records: only the
 * 21 bytes before `attributes` are read. Valid only for a batch whose stored CRC matches its bytes
 * (validateBatch passed, and any later change to the CRC'd range wrote a new CRC); otherwise the
 * result is not the bytes' checksum, and the WAL entry it seals fails its check on recovery.
 */
export function wholeBatchCrc32c(buf: Buffer): number {
  assertHeaderInBounds(buf, 0);
  assert.equal(LOG_OVERHEAD_BYTES + buf.readInt32BE(BATCH_LENGTH_OFFSET), buf.length,
    'the buffer is exactly one batch');
  return crc32cCombine(crc32c(buf.subarray(0, ATTRIBUTES_OFFSET)), buf.readUInt32BE(CRC_OFFSET),
    buf.length - ATTRIBUTES_OFFSET);
}

/** Where one batch lies in a buffer. */
export interface BatchSpan {
  offset: number;
  sizeBytes: number;
}

/**
 * What follows the last whole batch, if anything:
 * - 'partial': a batch cut short. Fetch responses may truncate the last batch to fit maxBytes,
 *   so this is normal there. `declaredBytes` is null when even the length field is cut off.
 * - 'corrupt': a length or magic no batch can have; the bytes from `offset` on are unusable.
 */
export type TrailingBytes =
  | { kind: 'partial'; offset: number; availableBytes: number; declaredBytes: number | null }
  | { kind: 'corrupt'; offset: number; reason: string };

export interface BatchSplit {
  batches: BatchSpan[];
  trailing: TrailingBytes | null;
}

/**
 * Splits `buf[start, end)` into the spans of concatenated batches by their length fields, like
 * Kafka's ByteBufferLogInputStream: no CRC or record checks (validateBatch each span for those).
 * `batchBytesMax` rejects a length larger than any batch the caller accepts.
 */
export function splitBatches(
  buf: Buffer,
  start = 0,
  end = buf.length,
  batchBytesMax = 0x7fffffff,
): BatchSplit {
  assert.ok(0 <= start && start <= end && end <= buf.length, 'window outside buffer');
  const batches: BatchSpan[] = [];
  let offset = start;
  while (offset < end) {
    const availableBytes = end - offset;
    if (availableBytes < LOG_OVERHEAD_BYTES) {
      const trailing = { kind: 'partial' as const, offset, availableBytes, declaredBytes: null };
      return { batches, trailing };
    }
    const batchLength = buf.readInt32BE(offset + BATCH_LENGTH_OFFSET);
    const sizeBytes = LOG_OVERHEAD_BYTES + batchLength;
    const corruption = spanCorruption(buf, offset, availableBytes, batchLength, batchBytesMax);
    if (corruption !== null) {
      return { batches, trailing: { kind: 'corrupt', offset, reason: corruption } };
    }
    if (sizeBytes > availableBytes) {
      const declaredBytes = sizeBytes;
      return { batches, trailing: { kind: 'partial', offset, availableBytes, declaredBytes } };
    }
    batches.push({ offset, sizeBytes });
    offset += sizeBytes;
  }
  assert.equal(offset, end);
  return { batches, trailing: null };
}

function spanCorruption(
  buf: Buffer,
  offset: number,
  availableBytes: number,
  batchLength: number,
  batchBytesMax: number,
): string | null {
  if (batchLength < BATCH_LENGTH_MIN) return `batchLength ${batchLength} < ${BATCH_LENGTH_MIN}`;
  if (LOG_OVERHEAD_BYTES + batchLength > batchBytesMax) {
    return `batch of ${LOG_OVERHEAD_BYTES + batchLength} bytes exceeds ${batchBytesMax}`;
  }
  // Like Kafka, judge the magic as soon as it is there: a garbage length is caught early.
  if (availableBytes > MAGIC_OFFSET) {
    const magic = buf.readInt8(offset + MAGIC_OFFSET);
    if (magic < 0 || magic > MAGIC_V2) return `invalid magic ${magic}`;
  }
  return null;
}
