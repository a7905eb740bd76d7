/**
 * checkBatchRecords: the record-level check a produced batch gets after its header and CRC pass.
 * Valid batches of every codec pass (kafkajs-written ones in kafkajs-interop.test.ts); a payload
 * that is not its codec's format, records that disagree with the header, and payloads that
 * inflate past the limit are refused with Kafka's error, whatever their CRC says.
 */
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ATTRIBUTES_OFFSET, BATCH_HEADER_BYTES, BATCH_LENGTH_OFFSET, CompressionCodec, CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD_BYTES, RECORD_COUNT_OFFSET, validateBatch,
} from '../../../protocol/records/batch-header.js';
import { checkBatchRecords } from '../../../protocol/records/batch-records.js';
import { compress } from '../../../protocol/records/compression.js';
import { crc32c } from '../../../protocol/records/crc32c.js';
import { encodeBatch, encodeRecords, type BatchRecord } from '../../../protocol/records/record.js';

const MiB = 1024 * 1024;
const CODECS = [
  ['none', CompressionCodec.none], ['gzip', CompressionCodec.gzip],
  ['snappy', CompressionCodec.snappy], ['lz4', CompressionCodec.lz4],
  ['zstd', CompressionCodec.zstd],
] as const;
const COMPRESSED = CODECS.filter(([, c]) => c !== CompressionCodec.none);

function records(count: number, valueBytes = 20): BatchRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`k${i}`), value: Buffer.alloc(valueBytes, i % 256),
    headers: [{ key: 'h', value: Buffer.from('v') }], timestampDelta: i,
  }));
}

function batchOf(recs: BatchRecord[], compression: CompressionCodec): Promise<Buffer> {
  return encodeBatch({ records: recs, compression, baseTimestamp: 1_700_000_000_000 });
}

/** Recomputes the CRC after a test edits the CRC'd part, as a client that lies would. */
function fixCrc(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}

/** The header of `batch` over another payload, with a correct length and CRC. */
function withPayload(batch: Buffer, payload: Buffer): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), payload]);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BATCH_LENGTH_OFFSET);
  return fixCrc(out);
}

function check(batch: Buffer, uncompressedBytesMax = 64 * MiB) {
  const header = validateBatch(batch, 0, 'client');
  expect(header.ok).toBe(true); // every case here passes the header + CRC checks
  if (!header.ok) throw new Error(header.detail);
  return checkBatchRecords(header.header, header.sizeBytes, uncompressedBytesMax);
}

describe.each(CODECS)('checkBatchRecords, %s', (_name, codec) => {
  it('accepts any batch our encoder writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.nat(3000), async (count, valueBytes) => {
        const recs = records(count, valueBytes);
        const result = check(await batchOf(recs, codec));
        const plain = encodeRecords(recs).length;
        expect(result).toEqual({ ok: true,
          uncompressedBytes: codec === CompressionCodec.none ? 0 : plain });
      }),
      { numRuns: 20 },
    );
  });

  it('refuses a header claiming more records (and the matching last offset delta)', async () => {
    const batch = await batchOf(records(3), codec);
    // Uncompressed, the header check already refuses a count the payload cannot hold (7 bytes
    // a record at least); compressed, nothing bounds it before the walk: claim 2^31 - 1.
    const payloadBytes = batch.length - BATCH_HEADER_BYTES;
    const claimed = codec === CompressionCodec.none ? Math.floor(payloadBytes / 7) : 2 ** 31 - 1;
    batch.writeInt32BE(claimed, RECORD_COUNT_OFFSET);
    batch.writeInt32BE(claimed - 1, LAST_OFFSET_DELTA_OFFSET);
    const result = check(fixCrc(batch));
    expect(result).toMatchObject({ ok: false, errorName: 'INVALID_RECORD' });
    expect(result.ok === false && result.detail).toMatch(new RegExp(`3 of ${claimed} declared`));
  });

  it('refuses a header claiming fewer records than the payload holds', async () => {
    const batch = await batchOf(records(5), codec);
    batch.writeInt32BE(4, RECORD_COUNT_OFFSET);
    batch.writeInt32BE(3, LAST_OFFSET_DELTA_OFFSET);
    expect(check(fixCrc(batch))).toMatchObject({ ok: false, errorName: 'INVALID_RECORD' });
  });
});

describe.each(COMPRESSED)('checkBatchRecords, %s payload', (_name, codec) => {
  it('refuses random bytes under a correct CRC', async () => {
    const batch = await batchOf(records(2), codec);
    for (let i = 0; i < 20; i++) {
      const result = check(withPayload(batch, randomBytes(16 + i * 37)));
      expect(result.ok).toBe(false);
      // Damaged bytes; a random snappy length preamble may also claim more than the limit.
      if (!result.ok) expect(['CORRUPT_MESSAGE', 'INVALID_RECORD']).toContain(result.errorName);
    }
  });

  it('refuses a payload that inflates past the limit, before inflating it all', async () => {
    const recs = records(64, 64 * 1024); // 4 MiB of very compressible records
    const result = check(await batchOf(recs, codec), 1 * MiB);
    expect(result).toMatchObject({ ok: false, errorName: 'INVALID_RECORD' });
    expect(result.ok === false && result.detail).toMatch(/output-limit/);
  });

  it('refuses a valid stream of the codec whose content is not records', async () => {
    const batch = await batchOf(records(2), codec);
    const notRecords = await compress(codec, Buffer.from('hello, this is not a record set'));
    expect(check(withPayload(batch, notRecords))).toMatchObject({ ok: false,
      errorName: 'INVALID_RECORD' });
  });
});

describe('checkBatchRecords, gzip specifics', () => {
  it('a gzip-flagged batch of random bytes is CORRUPT_MESSAGE', async () => {
    const batch = await batchOf(records(2), CompressionCodec.gzip);
    expect(check(withPayload(batch, randomBytes(200)))).toMatchObject({ ok: false,
      errorName: 'CORRUPT_MESSAGE' });
  });

  it('a gzip bomb (1 KiB to 100 MiB) is refused under the default 64 MiB budget', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(100 * MiB), { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    const batch = await batchOf(records(1), CompressionCodec.gzip);
    expect(check(withPayload(batch, bomb))).toMatchObject({ ok: false,
      errorName: 'INVALID_RECORD' });
  });
});
