/**
 * Whole-batch encode and decode, records included. For tools, tests and benchmarks: the broker's
 * hot paths use batch-header.ts and never decode records.
 *
 * Decoding is bounded like the rest of the codec: the batch is validated first (CRC included),
 * decompression is capped by `maxUncompressedBytes`, and every count and length is checked
 * against the bytes that remain before anything is allocated. Failures throw ProtocolDecodeError
 * (DecompressionError for the payload codec).
 */
import assert from 'node:assert/strict';
import { ProtocolDecodeError } from '../primitives/errors.js';
import { Reader } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import {
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CompressionCodec,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD_BYTES,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_ID,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BYTES_MIN,
  RECORD_COUNT_OFFSET,
  validateBatch,
  type BatchOrigin,
  type TimestampType,
} from './batch-header.js';
import { compress, decompress } from './compression.js';
import { crc32c } from './crc32c.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface BatchRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Milliseconds after the batch's baseTimestamp. Default 0. */
  timestampDelta?: number;
  /** Offset after the batch's baseOffset. Default: the record's index in the batch. */
  offsetDelta?: number;
}

export interface BatchInput {
  records: BatchRecord[];
  baseTimestamp: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: CompressionCodec;
  timestampType?: TimestampType;
  isTransactional?: boolean;
  isControl?: boolean;
  /** Default: baseTimestamp + the largest timestampDelta. */
  maxTimestamp?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  /** Default: the largest offsetDelta (recordCount - 1 for default deltas), -1 if empty. */
  lastOffsetDelta?: number;
}

export interface DecodedRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** baseOffset + offsetDelta. */
  offset: number;
  /** baseTimestamp + timestampDelta, or maxTimestamp for LogAppendTime batches (as Kafka). */
  timestamp: number;
  /** Zero-copy views into the input (or the decompressed payload). */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedBatch {
  baseOffset: number;
  sizeBytes: number;
  partitionLeaderEpoch: number;
  compression: CompressionCodec;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  records: DecodedRecord[];
}

export interface DecodeOptions {
  /** Where the batch starts in the buffer. Default 0. */
  offset?: number;
  /** Cap on the decompressed records payload (a zip bomb fails, it is not inflated). */
  maxUncompressedBytes: number;
  /** Which offset rules to check (see validateBatch). Default 'log'. */
  origin?: BatchOrigin;
}

/** Encodes a complete v2 batch, CRC included. */
export async function encodeBatch(input: BatchInput): Promise<Buffer> {
  const codec = input.compression ?? CompressionCodec.none;
  const plain = encodeRecords(input.records);
  const payload = codec === CompressionCodec.none ? plain : await compress(codec, plain);
  const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
  writeHeader(buf, input, codec);
  payload.copy(buf, BATCH_HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

function writeHeader(buf: Buffer, input: BatchInput, codec: CompressionCodec): void {
  const records = input.records;
  let lastOffsetDelta = -1;
  let timestampDeltaMax = 0;
  records.forEach((r, i) => {
    lastOffsetDelta = Math.max(lastOffsetDelta, r.offsetDelta ?? i);
    timestampDeltaMax = Math.max(timestampDeltaMax, r.timestampDelta ?? 0);
  });
  const attributes =
    codec |
    (input.timestampType === 'logAppendTime' ? ATTR_LOG_APPEND_TIME : 0) |
    (input.isTransactional === true ? ATTR_TRANSACTIONAL : 0) |
    (input.isControl === true ? ATTR_CONTROL : 0);
  const maxTimestamp = input.maxTimestamp ?? input.baseTimestamp + timestampDeltaMax;
  buf.writeBigInt64BE(BigInt(input.baseOffset ?? 0), BASE_OFFSET_OFFSET);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD_BYTES, BATCH_LENGTH_OFFSET);
  const epoch = input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH;
  buf.writeInt32BE(epoch, PARTITION_LEADER_EPOCH_OFFSET);
  buf.writeInt8(MAGIC_V2, MAGIC_OFFSET);
  buf.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(input.lastOffsetDelta ?? lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  buf.writeBigInt64BE(BigInt(input.baseTimestamp), BASE_TIMESTAMP_OFFSET);
  buf.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP_OFFSET);
  buf.writeBigInt64BE(input.producerId ?? NO_PRODUCER_ID, PRODUCER_ID_OFFSET);
  buf.writeInt16BE(input.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(input.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  buf.writeInt32BE(records.length, RECORD_COUNT_OFFSET);
}

/** Encodes an uncompressed v2 batch synchronously (control batches: a broker writes them). */
export function encodeUncompressedBatch(input: Omit<BatchInput, 'compression'>): Buffer {
  const payload = encodeRecords(input.records);
  const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + payload.length);
  writeHeader(buf, input, CompressionCodec.none);
  payload.copy(buf, BATCH_HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

/** The records section: each record is [varint length][body]. */
export function encodeRecords(records: BatchRecord[]): Buffer {
  const out = new Writer(1024);
  out.at = 'Record';
  records.forEach((record, index) => {
    const body = encodeRecordBody(record, index);
    out.varint(body.length);
    out.raw(body);
  });
  return out.toBuffer();
}

function encodeRecordBody(record: BatchRecord, index: number): Buffer {
  const timestampDelta = record.timestampDelta ?? 0;
  assert.ok(Number.isSafeInteger(timestampDelta), `timestampDelta ${timestampDelta}`);
  const w = new Writer(64 + (record.key?.length ?? 0) + (record.value?.length ?? 0));
  w.at = `Record[${index}]`;
  w.int8(0); // record attributes: unused by Kafka
  w.varlong(BigInt(timestampDelta));
  w.varint(record.offsetDelta ?? index);
  writeVarBytes(w, record.key);
  writeVarBytes(w, record.value);
  const headers = record.headers ?? [];
  w.varint(headers.length);
  for (const header of headers) {
    writeVarBytes(w, Buffer.from(header.key, 'utf8'));
    writeVarBytes(w, header.value);
  }
  return w.toBuffer();
}

function writeVarBytes(w: Writer, bytes: Buffer | null): void {
  if (bytes === null) {
    w.varint(-1);
    return;
  }
  w.varint(bytes.length);
  w.raw(bytes);
}

/** Validates and decodes the batch at `options.offset`, decompressing if needed. */
export async function decodeBatch(buf: Buffer, options: DecodeOptions): Promise<DecodedBatch> {
  const offset = options.offset ?? 0;
  const validation = validateBatch(buf, offset, options.origin ?? 'log');
  if (!validation.ok) {
    const reason = `${validation.reason}: ${validation.detail}`;
    throw new ProtocolDecodeError(reason, 'RecordBatch', offset);
  }
  const h = validation.header;
  // validateBatch refused codec ids above COMPRESSION_CODEC_MAX.
  const codec = h.compression as CompressionCodec;
  const end = offset + validation.sizeBytes;
  let payload = buf.subarray(offset + BATCH_HEADER_BYTES, end);
  if (codec !== CompressionCodec.none) {
    payload = await decompress(codec, payload, options.maxUncompressedBytes);
  }
  const batch: DecodedBatch = {
    baseOffset: h.baseOffset,
    sizeBytes: validation.sizeBytes,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    compression: codec,
    timestampType: h.timestampType,
    isTransactional: h.isTransactional,
    isControl: h.isControl,
    lastOffsetDelta: h.lastOffsetDelta,
    baseTimestamp: h.baseTimestamp,
    maxTimestamp: h.maxTimestamp,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    records: [],
  };
  batch.records = decodeRecords(payload, h.recordCount, batch);
  return batch;
}

type RecordContext = Pick<DecodedBatch, 'baseOffset' | 'baseTimestamp' | 'maxTimestamp'> & {
  timestampType: TimestampType;
};

/** Decodes exactly `recordCount` records filling all of `payload`. */
export function decodeRecords(
  payload: Buffer,
  recordCount: number,
  context: RecordContext,
): DecodedRecord[] {
  const r = new Reader(payload);
  r.at = 'Record';
  if (recordCount < 0 || recordCount > payload.length / RECORD_BYTES_MIN) {
    r.fail(`${recordCount} records cannot fit in ${payload.length} bytes`, 0);
  }
  const records: DecodedRecord[] = [];
  for (let i = 0; i < recordCount; i++) {
    r.at = `Record[${i}]`;
    const start = r.pos;
    const sizeBytes = r.varint();
    if (sizeBytes < RECORD_BYTES_MIN - 1 || sizeBytes > r.remaining()) {
      r.fail(`record length ${sizeBytes}, ${r.remaining()} bytes remain`, start);
    }
    const body = new Reader(payload, r.pos, r.pos + sizeBytes);
    body.at = r.at;
    r.pos += sizeBytes;
    records.push(decodeRecordBody(body, context));
  }
  if (r.remaining() !== 0) r.fail(`${r.remaining()} bytes after the last record`);
  return records;
}

function decodeRecordBody(r: Reader, context: RecordContext): DecodedRecord {
  const attributes = r.int8();
  const deltaStart = r.pos;
  const timestampDeltaBig = r.varlong();
  const timestampDelta = Number(timestampDeltaBig);
  if (!Number.isSafeInteger(timestampDelta)) r.fail('timestampDelta beyond 2^53', deltaStart);
  const offsetDelta = r.varint();
  const key = readVarBytes(r);
  const value = readVarBytes(r);
  const headers = readHeaders(r);
  if (r.remaining() !== 0) r.fail(`${r.remaining()} bytes left in the record`);
  const timestamp =
    context.timestampType === 'logAppendTime'
      ? context.maxTimestamp
      : context.baseTimestamp + timestampDelta;
  const offset = context.baseOffset + offsetDelta;
  return { attributes, timestampDelta, offsetDelta, offset, timestamp, key, value, headers };
}

function readVarBytes(r: Reader): Buffer | null {
  const start = r.pos;
  const sizeBytes = r.varint();
  if (sizeBytes === -1) return null;
  if (sizeBytes < 0) r.fail(`negative length ${sizeBytes}`, start);
  return r.raw(sizeBytes);
}

function readHeaders(r: Reader): RecordHeader[] {
  const start = r.pos;
  const count = r.varint();
  // A header takes at least 2 bytes (two empty lengths): bound the count before allocating.
  if (count < 0 || count * 2 > r.remaining()) r.fail(`header count ${count}`, start);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyStart = r.pos;
    const key = readVarBytes(r);
    if (key === null) r.fail('null header key', keyStart);
    headers.push({ key: key.toString('utf8'), value: readVarBytes(r) });
  }
  return headers;
}
