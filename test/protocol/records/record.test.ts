/**
 * Whole-batch encode/decode: property round trips for every codec, and a decoder that stays
 * bounded (typed errors, no large allocation) on hostile counts and lengths.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  CompressionCodec,
  CRC_OFFSET,
  RECORD_COUNT_OFFSET,
  validateBatch,
} from '../../../protocol/records/batch-header.js';
import { crc32c } from '../../../protocol/records/crc32c.js';
import {
  decodeBatch,
  decodeRecords,
  encodeBatch,
  type BatchInput,
  type BatchRecord,
} from '../../../protocol/records/record.js';
import { ProtocolDecodeError } from '../../../protocol/primitives/errors.js';
import { DecompressionError } from '../../../protocol/records/compression.js';
import { Writer } from '../../../protocol/primitives/writer.js';

/** Buffer equality without vitest's element-by-element deep compare (slow on 100 KB values). */
function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));

const recordArb: fc.Arbitrary<BatchRecord> = fc.record({
  key: fc.option(bytes(32), { nil: null }),
  value: fc.option(
    fc.oneof(
      bytes(200),
      fc.nat(5000).map((n) => Buffer.alloc(n, 'v')),
    ),
    { nil: null },
  ),
  headers: fc.array(
    fc.record({ key: fc.string({ maxLength: 12 }), value: fc.option(bytes(16), { nil: null }) }),
    { maxLength: 3 },
  ),
  timestampDelta: fc.integer({ min: 0, max: 2 ** 40 }),
});

const CODECS = [
  CompressionCodec.none,
  CompressionCodec.gzip,
  CompressionCodec.snappy,
  CompressionCodec.lz4,
  CompressionCodec.zstd,
];

const batchArb = (compression: CompressionCodec): fc.Arbitrary<BatchInput> =>
  fc.record({
    records: fc.array(recordArb, { minLength: 1, maxLength: 30 }),
    baseTimestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
    partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
    compression: fc.constant(compression),
    isTransactional: fc.boolean(),
    producerId: fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }),
    producerEpoch: fc.integer({ min: -1, max: 32767 }),
    baseSequence: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });

describe.each(CODECS)('codec %i', (codec) => {
  it('round-trips batches through encode and decode', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb(codec), async (input) => {
        const buf = await encodeBatch(input);
        expect(validateBatch(buf, 0, 'client').ok).toBe(true);
        const batch = await decodeBatch(buf, { maxUncompressedBytes: 10 * 1024 * 1024 });
        expect(batch.sizeBytes).toBe(buf.length);
        expect(batch.compression).toBe(codec);
        expect(batch.baseOffset).toBe(input.baseOffset);
        expect(batch.producerId).toBe(input.producerId);
        expect(batch.isTransactional).toBe(input.isTransactional);
        expect(batch.lastOffsetDelta).toBe(input.records.length - 1);
        expect(batch.records).toHaveLength(input.records.length);
        batch.records.forEach((got, i) => {
          const want = input.records[i]!;
          expect(got.offsetDelta).toBe(i);
          expect(got.offset).toBe(input.baseOffset! + i);
          expect(got.timestamp).toBe(input.baseTimestamp + want.timestampDelta!);
          expect(sameBytes(got.key, want.key)).toBe(true);
          expect(sameBytes(got.value, want.value)).toBe(true);
          expect(got.headers).toEqual(want.headers);
        });
      }),
      { numRuns: 25 },
    );
  });
});

describe('decodeBatch', () => {
  const sample = (compression: CompressionCodec = CompressionCodec.none) =>
    encodeBatch({
      records: [
        { key: null, value: Buffer.from('a') },
        { key: Buffer.from('k'), value: null, headers: [{ key: 'h', value: Buffer.from('v') }] },
      ],
      baseTimestamp: 1000,
      compression,
    });

  it('uses maxTimestamp for LogAppendTime batches, as Kafka', async () => {
    const buf = await encodeBatch({
      records: [{ key: null, value: null, timestampDelta: 5 }],
      baseTimestamp: 1000,
      maxTimestamp: 9999,
      timestampType: 'logAppendTime',
    });
    const batch = await decodeBatch(buf, { maxUncompressedBytes: 1024 });
    expect(batch.records[0]!.timestamp).toBe(9999);
  });

  it('refuses an invalid batch with the validation reason', async () => {
    const buf = await sample();
    buf[buf.length - 1]! ^= 1;
    await expect(decodeBatch(buf, { maxUncompressedBytes: 1024 })).rejects.toThrow(
      /crc-mismatch/,
    );
  });

  it('passes the decompression limit through', async () => {
    const buf = await encodeBatch({
      records: [{ key: null, value: Buffer.alloc(100_000) }],
      baseTimestamp: 0,
      compression: CompressionCodec.zstd,
    });
    const err = await decodeBatch(buf, { maxUncompressedBytes: 50_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecompressionError);
    expect((err as DecompressionError).kind).toBe('output-limit');
  });

  it('refuses a compressed batch whose count exceeds what the payload can hold', async () => {
    const buf = await sample(CompressionCodec.gzip);
    buf.writeInt32BE(0x7fffffff, RECORD_COUNT_OFFSET);
    buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
    await expect(decodeBatch(buf, { maxUncompressedBytes: 1024 })).rejects.toThrow(
      ProtocolDecodeError,
    );
  });

  it('throws only ProtocolDecodeError for any corruption of the records section', async () => {
    const buf = await sample();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: BATCH_HEADER_BYTES, max: buf.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const bad = Buffer.from(buf);
          bad[at]! ^= x;
          bad.writeUInt32BE(crc32c(bad.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
          await decodeBatch(bad, { maxUncompressedBytes: 1024 }).catch((e: unknown) => {
            expect(e).toBeInstanceOf(ProtocolDecodeError);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('decodeRecords bounds', () => {
  const context = {
    baseOffset: 0,
    baseTimestamp: 0,
    maxTimestamp: 0,
    timestampType: 'createTime' as const,
  };

  function payload(write: (w: Writer) => void): Buffer {
    const w = new Writer();
    write(w);
    return w.toBuffer();
  }

  it('refuses a record count larger than the bytes allow, before allocating', () => {
    expect(() => decodeRecords(Buffer.alloc(20), 1_000_000_000, context)).toThrow(
      ProtocolDecodeError,
    );
  });

  it('refuses a record length past the end', () => {
    const p = payload((w) => w.varint(1_000_000));
    expect(() => decodeRecords(Buffer.concat([p, Buffer.alloc(10)]), 1, context)).toThrow(
      /record length/,
    );
  });

  it('refuses a key length past the end of its record', () => {
    const body = payload((w) => {
      w.int8(0);
      w.varlong(0n);
      w.varint(0);
      w.varint(50_000); // key length
      w.varint(-1);
      w.varint(0);
    });
    const p = payload((w) => {
      w.varint(body.length);
      w.raw(body);
    });
    expect(() => decodeRecords(p, 1, context)).toThrow(ProtocolDecodeError);
  });

  it('refuses a huge header count before allocating', () => {
    const body = payload((w) => {
      w.int8(0);
      w.varlong(0n);
      w.varint(0);
      w.varint(-1);
      w.varint(-1);
      w.varint(2_000_000_000);
    });
    const p = payload((w) => {
      w.varint(body.length);
      w.raw(body);
    });
    expect(() => decodeRecords(p, 1, context)).toThrow(/header count/);
  });

  it('refuses trailing bytes after the declared records', () => {
    const body = payload((w) => {
      w.int8(0);
      w.varlong(0n);
      w.varint(0);
      w.varint(-1);
      w.varint(-1);
      w.varint(0);
    });
    const p = payload((w) => {
      w.varint(body.length);
      w.raw(body);
      w.int8(0);
    });
    expect(decodeRecords(p.subarray(0, p.length - 1), 1, context)).toHaveLength(1);
    expect(() => decodeRecords(p, 1, context)).toThrow(/after the last record/);
  });
});
