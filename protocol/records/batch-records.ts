/**
 * The record-level half of checking a produced batch, after validateBatch has checked its header
 * and CRC: decompress the payload (bounded) and walk the records (record-walk.ts). Kafka's broker
 * does the same walk in LogValidator before it assigns offsets; without it a batch whose payload
 * is not what its codec says, or whose header claims records it does not hold, is stored and
 * then stops every consumer that reaches it.
 *
 * The batch itself stays untouched: the decompressed copy is only walked, then dropped.
 * Synchronous on purpose (see decompressSync): the caller appends right after, in request order.
 */
import { type BatchHeaderView, BATCH_HEADER_BYTES, CompressionCodec } from './batch-header.js';
import { decompressSync, DecompressionError } from './compression.js';
import { walkRecords } from './record-walk.js';

/**
 * - INVALID_RECORD: the records do not match the header (count, offsets, lengths), as Kafka's
 *   InvalidRecordException; also a payload that inflates past the caller's limit, or uses an
 *   LZ4 feature Kafka does not read either (dictionaries, linked blocks).
 * - CORRUPT_MESSAGE: the payload is not valid for its codec (damaged bytes; Kafka fails these
 *   with a decompression error that surfaces as UNKNOWN_SERVER_ERROR).
 */
export type BatchRecordsCheck =
  | { ok: true; uncompressedBytes: number }
  | { ok: false; errorName: 'INVALID_RECORD' | 'CORRUPT_MESSAGE'; detail: string };

/**
 * Checks the records of a batch that validateBatch accepted (`header`, `sizeBytes` from it).
 * `uncompressedBytesMax` caps the decompressed payload: a larger one fails without being
 * inflated further (zip bombs). `uncompressedBytes` is what was inflated (0 when uncompressed).
 */
export function checkBatchRecords(
  header: BatchHeaderView,
  sizeBytes: number,
  uncompressedBytesMax: number,
): BatchRecordsCheck {
  const payload = header.buf.subarray(
    header.offset + BATCH_HEADER_BYTES,
    header.offset + sizeBytes,
  );
  // validateBatch refused codec ids above COMPRESSION_CODEC_MAX.
  const codec = header.compression as CompressionCodec;
  let records = payload;
  if (codec !== CompressionCodec.none) {
    try {
      records = decompressSync(codec, payload, uncompressedBytesMax);
    } catch (err) {
      if (!(err instanceof DecompressionError)) throw err;
      const errorName = err.kind === 'corrupt' ? 'CORRUPT_MESSAGE' : 'INVALID_RECORD';
      return { ok: false, errorName, detail: `records payload: ${err.message}` };
    }
  }
  const failure = walkRecords(records, header.recordCount);
  if (failure !== null) return { ok: false, errorName: 'INVALID_RECORD', detail: failure };
  const uncompressedBytes = codec === CompressionCodec.none ? 0 : records.length;
  return { ok: true, uncompressedBytes };
}
