/**
 * Interoperability with kafkajs's own record batch encoder/decoder (an independent
 * implementation). Batches kafkajs writes must pass our header checks and CRC and decode to the
 * same records; batches we write must decode in kafkajs. Codecs on the kafkajs side:
 * gzip built in, snappy from kafkajs-snappy (pure JS, raw Snappy out, xerial or raw in), lz4 from
 * kafkajs-lz4 (lz4 native module, frames with content checksums and 4 MiB blocks). For zstd no
 * kafkajs codec installs here (@kafkajs/zstd's cppzst fails to compile on Node 20), so kafkajs is
 * given our own zstd codec: that checks the batch plumbing, not an independent zstd.
 * Every batch kafkajs writes also passes the broker's record walk (checkBatchRecords).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CompressionCodec, validateBatch } from '../../../protocol/records/batch-header.js';
import { checkBatchRecords } from '../../../protocol/records/batch-records.js';
import { compress, decompress } from '../../../protocol/records/compression.js';
import { decodeBatch, encodeBatch, type BatchRecord } from '../../../protocol/records/record.js';

/** Buffer equality without vitest's element-by-element deep compare (slow on 100 KB values). */
function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

const require = createRequire(import.meta.url);

interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsCodec {
  compress(encoder: KafkajsEncoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}
interface KafkajsRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
  offset: string;
  timestamp: string;
}
interface KafkajsBatch {
  firstOffset: string;
  producerId: string;
  inTransaction: boolean;
  lastOffsetDelta: number;
  records: KafkajsRecord[];
}

const kafkajs = require('kafkajs') as {
  CompressionTypes: Record<'None' | 'GZIP' | 'Snappy' | 'LZ4' | 'ZSTD', number>;
  CompressionCodecs: Record<number, () => KafkajsCodec>;
};
const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): unknown };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch(args: Record<string, unknown>): Promise<KafkajsEncoder>;
};
const KafkajsRecordEncoder = require('kafkajs/src/protocol/recordBatch/record/v0') as (
  args: Record<string, unknown>,
) => KafkajsEncoder;
const kafkajsBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<KafkajsBatch>;
const KafkajsDecoder = require('kafkajs/src/protocol/decoder') as new (buf: Buffer) => unknown;
const SnappyCodec = require('kafkajs-snappy') as () => KafkajsCodec;
const LZ4Codec = require('kafkajs-lz4') as new () => { codec: () => KafkajsCodec };

const { CompressionTypes, CompressionCodecs } = kafkajs;
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: (encoder) => compress(CompressionCodec.zstd, encoder.buffer),
  decompress: (buffer) => decompress(CompressionCodec.zstd, buffer, 64 * 1024 * 1024),
});

const CODECS = [
  ['none', CompressionCodec.none, CompressionTypes.None],
  ['gzip', CompressionCodec.gzip, CompressionTypes.GZIP],
  ['snappy', CompressionCodec.snappy, CompressionTypes.Snappy],
  ['lz4', CompressionCodec.lz4, CompressionTypes.LZ4],
  ['zstd', CompressionCodec.zstd, CompressionTypes.ZSTD],
] as const;

const BASE_TIMESTAMP = 1_700_000_000_000;
const PRODUCER_ID = 4242n;

/** kafkajs keys headers by name, so names are unique per record here; values are non-null
 * because kafkajs's encoder cannot size a null header value. */
const recordsArb = fc.array(
  fc.record({
    key: fc.option(
      fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)),
      { nil: null },
    ),
    value: fc.option(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        fc.nat(150_000).map((n) => Buffer.alloc(n, 'kafka')),
      ),
      { nil: null },
    ),
    headers: fc.uniqueArray(
      fc.record({
        // Prefixed: a JS object lists integer-like keys first, which would reorder headers.
        key: fc.string({ maxLength: 10 }).map((s) => `h-${s}`),
        value: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
      }),
      { selector: (h) => h.key, maxLength: 3 },
    ),
    timestampDelta: fc.nat(100_000),
  }),
  { minLength: 1, maxLength: 8 },
);

async function kafkajsEncode(records: BatchRecord[], compression: number): Promise<Buffer> {
  const encoded = records.map((r, offsetDelta) =>
    KafkajsRecordEncoder({
      offsetDelta,
      timestampDelta: r.timestampDelta,
      key: r.key,
      value: r.value,
      headers: Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value])),
    }),
  );
  const batch = await RecordBatch({
    compression,
    firstTimestamp: BASE_TIMESTAMP,
    maxTimestamp: BASE_TIMESTAMP + Math.max(...records.map((r) => r.timestampDelta ?? 0)),
    lastOffsetDelta: records.length - 1,
    producerId: Long.fromValue(PRODUCER_ID.toString()),
    producerEpoch: 3,
    firstSequence: 11,
    transactional: true,
    records: encoded,
  });
  return batch.buffer;
}

function ourEncode(records: BatchRecord[], compression: CompressionCodec): Promise<Buffer> {
  return encodeBatch({
    records,
    compression,
    baseTimestamp: BASE_TIMESTAMP,
    partitionLeaderEpoch: 0,
    producerId: PRODUCER_ID,
    producerEpoch: 3,
    baseSequence: 11,
    isTransactional: true,
  });
}

describe.each(CODECS)('kafkajs interop, %s', (_name, ours, theirs) => {
  it('reads batches kafkajs writes', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, async (records) => {
        const buf = await kafkajsEncode(records, theirs);
        const validation = validateBatch(buf, 0, 'client');
        expect(validation.ok).toBe(true);
        if (!validation.ok) return;
        expect(validation.sizeBytes).toBe(buf.length);
        expect(validation.header.compression).toBe(ours);
        expect(validation.header.recordCount).toBe(records.length);
        // The broker's Produce check (header, then a walk of the records) accepts them.
        const walked = checkBatchRecords(validation.header, validation.sizeBytes, 64 * 1024 * 1024);
        expect(walked.ok).toBe(true);
        const batch = await decodeBatch(buf, { maxUncompressedBytes: 64 * 1024 * 1024 });
        expect(batch.producerId).toBe(PRODUCER_ID);
        expect(batch.baseSequence).toBe(11);
        expect(batch.isTransactional).toBe(true);
        batch.records.forEach((got, i) => {
          const want = records[i]!;
          expect(got.offset).toBe(i);
          expect(got.timestamp).toBe(BASE_TIMESTAMP + want.timestampDelta);
          expect(sameBytes(got.key, want.key)).toBe(true);
          expect(sameBytes(got.value, want.value)).toBe(true);
          expect(got.headers).toEqual(want.headers);
        });
      }),
      { numRuns: 25 },
    );
  });

  it('writes batches kafkajs reads', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, async (records) => {
        const buf = await ourEncode(records, ours);
        const batch = await kafkajsBatchDecoder(new KafkajsDecoder(buf));
        expect(batch.firstOffset).toBe('0');
        expect(batch.producerId).toBe(PRODUCER_ID.toString());
        expect(batch.inTransaction).toBe(true);
        expect(batch.lastOffsetDelta).toBe(records.length - 1);
        expect(batch.records).toHaveLength(records.length);
        batch.records.forEach((got, i) => {
          const want = records[i]!;
          expect(got.offset).toBe(String(i));
          expect(got.timestamp).toBe(String(BASE_TIMESTAMP + want.timestampDelta));
          expect(sameBytes(got.key, want.key)).toBe(true);
          expect(sameBytes(got.value, want.value)).toBe(true);
          const headers = Object.fromEntries((want.headers ?? []).map((h) => [h.key, h.value]));
          expect(got.headers).toEqual(headers);
        });
      }),
      { numRuns: 25 },
    );
  });
});

describe('kafkajs interop, bytes', () => {
  it('writes an uncompressed batch byte-for-byte as kafkajs does', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, async (records) => {
        const theirs = await kafkajsEncode(records, CompressionTypes.None);
        const ours = await ourEncode(records, CompressionCodec.none);
        expect(ours.toString('hex')).toBe(theirs.toString('hex'));
      }),
      { numRuns: 20 },
    );
  });

  it('sees kafkajs-lz4 write frames with content checksums, so ours are verified', async () => {
    const codec = CompressionCodecs[CompressionTypes.LZ4]!();
    const frame = await codec.compress({ buffer: Buffer.alloc(1000, 'x') });
    expect(frame.readUInt32LE(0)).toBe(0x184d2204);
    expect(frame[4]! & 0x04).toBe(0x04);
    const out = await decompress(CompressionCodec.lz4, frame, 1000);
    expect(out.equals(Buffer.alloc(1000, 'x'))).toBe(true);
    frame[frame.length - 1]! ^= 1;
    await expect(decompress(CompressionCodec.lz4, frame, 1000)).rejects.toThrow(/checksum/);
  });
});
