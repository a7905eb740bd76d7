/** Batch header: layout, validation (typed failures, never throws), in-place patches, split. */
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_OFFSET,
  CompressionCodec,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAGIC_OFFSET,
  patchBaseOffset,
  patchPartitionLeaderEpoch,
  readBatchHeader,
  RECORD_COUNT_OFFSET,
  splitBatches,
  validateBatch,
  type BatchValidation,
} from '../../../protocol/records/batch-header.js';
import { crc32c } from '../../../protocol/records/crc32c.js';
import { encodeBatch, type BatchRecord } from '../../../protocol/records/record.js';
import { ProtocolDecodeError } from '../../../protocol/primitives/errors.js';

function records(count: number, valueBytes = 10): BatchRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(valueBytes, i),
    timestampDelta: i * 3,
  }));
}

function sampleBatch(count = 3) {
  return encodeBatch({
    records: records(count),
    baseTimestamp: 1_700_000_000_000,
    producerId: 42n,
    producerEpoch: 7,
    baseSequence: 100,
    isTransactional: true,
    compression: CompressionCodec.none,
  });
}

/** Rewrites the CRC after a test edits a CRC'd field, so a later check is what fails. */
function fixCrc(buf: Buffer, offset = 0): void {
  const sizeBytes = 12 + buf.readInt32BE(offset + BATCH_LENGTH_OFFSET);
  const crc = crc32c(buf.subarray(offset + ATTRIBUTES_OFFSET, offset + sizeBytes));
  buf.writeUInt32BE(crc, offset + CRC_OFFSET);
}

function expectInvalid(result: BatchValidation, reason: string): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.reason).toBe(reason);
}

describe('readBatchHeader', () => {
  it('reads every field of an encoded batch', async () => {
    const buf = await sampleBatch();
    const h = readBatchHeader(buf, 0);
    expect(h.baseOffset).toBe(0);
    expect(h.sizeBytes).toBe(buf.length);
    expect(h.partitionLeaderEpoch).toBe(-1);
    expect(h.magic).toBe(2);
    expect(h.crc).toBe(crc32c(buf.subarray(ATTRIBUTES_OFFSET)));
    expect(h.compression).toBe(CompressionCodec.none);
    expect(h.timestampType).toBe('createTime');
    expect(h.isTransactional).toBe(true);
    expect(h.isControl).toBe(false);
    expect(h.hasDeleteHorizonMs).toBe(false);
    expect(h.lastOffsetDelta).toBe(2);
    expect(h.lastOffset).toBe(2);
    expect(h.baseTimestamp).toBe(1_700_000_000_000);
    expect(h.maxTimestamp).toBe(1_700_000_000_006);
    expect(h.producerId).toBe(42n);
    expect(h.hasProducerId).toBe(true);
    expect(h.producerEpoch).toBe(7);
    expect(h.baseSequence).toBe(100);
    expect(h.recordCount).toBe(3);
  });

  it('decodes attribute bits', async () => {
    const buf = await encodeBatch({
      records: records(1),
      baseTimestamp: 0,
      compression: CompressionCodec.zstd,
      timestampType: 'logAppendTime',
      isControl: true,
    });
    const h = readBatchHeader(buf, 0);
    expect(h.compression).toBe(CompressionCodec.zstd);
    expect(h.timestampType).toBe('logAppendTime');
    expect(h.isControl).toBe(true);
    expect(h.isTransactional).toBe(false);
    expect(h.hasProducerId).toBe(false);
    expect(h.producerId).toBe(-1n);
  });

  it('reads negative and large int64 fields as exact numbers', async () => {
    const buf = await sampleBatch();
    buf.writeBigInt64BE(-1n, 27);
    buf.writeBigInt64BE(BigInt(Number.MAX_SAFE_INTEGER), 0);
    const h = readBatchHeader(buf, 0);
    expect(h.baseTimestamp).toBe(-1);
    expect(h.baseOffset).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('throws ProtocolDecodeError, not RangeError, on a short buffer', async () => {
    const buf = await sampleBatch();
    expect(() => readBatchHeader(buf.subarray(0, 60), 0)).toThrow(ProtocolDecodeError);
    expect(() => readBatchHeader(buf, buf.length - 10)).toThrow(ProtocolDecodeError);
    expect(() => readBatchHeader(buf, buf.length + 10)).toThrow(ProtocolDecodeError);
  });
});

describe('validateBatch', () => {
  it('accepts a well-formed producer batch', async () => {
    const buf = await sampleBatch();
    const result = validateBatch(buf, 0, 'client');
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.sizeBytes).toBe(buf.length);
      expect(result.header.recordCount).toBe(3);
    }
  });

  it('validates a batch at an offset inside a larger buffer', async () => {
    const one = await sampleBatch();
    const buf = Buffer.concat([Buffer.alloc(5, 0xee), one, Buffer.alloc(7, 0xee)]);
    const result = validateBatch(buf, 5);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.sizeBytes).toBe(one.length);
  });

  it('reports a corrupted CRC', async () => {
    const buf = await sampleBatch();
    buf[buf.length - 1]! ^= 0x01;
    const result = validateBatch(buf, 0);
    expectInvalid(result, 'crc-mismatch');
    if (!result.ok) expect(result.errorName).toBe('CORRUPT_MESSAGE');
  });

  it('reports a flipped bit in every CRC-covered byte', async () => {
    const buf = await sampleBatch(1);
    for (let at = ATTRIBUTES_OFFSET; at < buf.length; at++) {
      const copy = Buffer.from(buf);
      copy[at]! ^= 0x10;
      expectInvalid(validateBatch(copy, 0), 'crc-mismatch');
    }
  });

  it('reports bad and legacy magic', async () => {
    const buf = await sampleBatch();
    buf.writeInt8(1, MAGIC_OFFSET);
    const legacy = validateBatch(buf, 0);
    expectInvalid(legacy, 'unsupported-magic');
    if (!legacy.ok) expect(legacy.errorName).toBe('INVALID_RECORD');
    buf.writeInt8(7, MAGIC_OFFSET);
    expectInvalid(validateBatch(buf, 0), 'invalid-magic');
  });

  it('reports every short prefix as a typed failure, never a throw', async () => {
    const buf = await sampleBatch();
    for (let n = 0; n < buf.length; n++) {
      const result = validateBatch(buf.subarray(0, n), 0);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(['short-buffer', 'truncated']).toContain(result.reason);
    }
  });

  it('reports batchLength below the header size', async () => {
    const buf = await sampleBatch();
    buf.writeInt32BE(48, BATCH_LENGTH_OFFSET);
    expectInvalid(validateBatch(buf, 0), 'batch-length-too-small');
    buf.writeInt32BE(-5, BATCH_LENGTH_OFFSET);
    expectInvalid(validateBatch(buf, 0), 'batch-length-too-small');
  });

  it('reports batchLength past the end of the buffer', async () => {
    const buf = await sampleBatch();
    buf.writeInt32BE(0x7fffffff, BATCH_LENGTH_OFFSET);
    expectInvalid(validateBatch(buf, 0), 'truncated');
  });

  it('reports an unknown codec id', async () => {
    const buf = await sampleBatch();
    buf.writeInt16BE(buf.readInt16BE(ATTRIBUTES_OFFSET) | 0x07, ATTRIBUTES_OFFSET);
    fixCrc(buf);
    const result = validateBatch(buf, 0);
    expectInvalid(result, 'unknown-compression');
    if (!result.ok) expect(result.errorName).toBe('UNSUPPORTED_COMPRESSION_TYPE');
  });

  it('reports a negative record count, and one the payload cannot hold', async () => {
    const buf = await sampleBatch();
    buf.writeInt32BE(-1, RECORD_COUNT_OFFSET);
    fixCrc(buf);
    expectInvalid(validateBatch(buf, 0), 'invalid-record-count');
    buf.writeInt32BE(1_000_000, RECORD_COUNT_OFFSET);
    fixCrc(buf);
    expectInvalid(validateBatch(buf, 0, 'log'), 'record-count-exceeds-payload');
  });

  it('requires lastOffsetDelta == recordCount - 1 from clients, as Kafka', async () => {
    const buf = await sampleBatch(3);
    buf.writeInt32BE(5, LAST_OFFSET_DELTA_OFFSET);
    fixCrc(buf);
    expectInvalid(validateBatch(buf, 0, 'client'), 'offset-range-mismatch');
    // A compacted batch in the log may have fewer records than its offset range.
    expect(validateBatch(buf, 0, 'log').ok).toBe(true);
    buf.writeInt32BE(1, LAST_OFFSET_DELTA_OFFSET);
    fixCrc(buf);
    expectInvalid(validateBatch(buf, 0, 'log'), 'offset-range-mismatch');
    buf.writeInt32BE(-1, LAST_OFFSET_DELTA_OFFSET);
    fixCrc(buf);
    expectInvalid(validateBatch(buf, 0, 'client'), 'invalid-offset-range');
    expectInvalid(validateBatch(buf, 0, 'log'), 'invalid-offset-range');
  });

  it('refuses empty batches from clients but keeps compacted-empty ones in the log', async () => {
    const buf = await encodeBatch({ records: [], baseTimestamp: 0, lastOffsetDelta: 4 });
    expectInvalid(validateBatch(buf, 0, 'client'), 'invalid-record-count');
    expect(validateBatch(buf, 0, 'log').ok).toBe(true);
  });

  it('refuses control batches and negative sequences from clients', async () => {
    const control = await encodeBatch({ records: records(1), baseTimestamp: 0, isControl: true });
    expectInvalid(validateBatch(control, 0, 'client'), 'control-batch-from-client');
    expect(validateBatch(control, 0, 'log').ok).toBe(true);
    const idempotent = await encodeBatch({
      records: records(2),
      baseTimestamp: 0,
      producerId: 9n,
      baseSequence: -1,
    });
    expectInvalid(validateBatch(idempotent, 0, 'client'), 'invalid-sequence');
    const plain = await encodeBatch({ records: records(2), baseTimestamp: 0, baseSequence: -1 });
    expect(validateBatch(plain, 0, 'client').ok).toBe(true);
  });

  it('refuses log batches whose offsets leave the safe integer range', async () => {
    const buf = await sampleBatch();
    buf.writeBigInt64BE(-10n, 0);
    expectInvalid(validateBatch(buf, 0, 'log'), 'invalid-offset-range');
    expect(validateBatch(buf, 0, 'client').ok).toBe(true); // the broker overwrites it
    buf.writeBigInt64BE(BigInt(Number.MAX_SAFE_INTEGER), 0);
    expectInvalid(validateBatch(buf, 0, 'log'), 'invalid-offset-range');
  });

  it('never throws on random bytes', async () => {
    const { default: fc } = await import('fast-check');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const result = validateBatch(Buffer.from(bytes), 0);
        return typeof result.ok === 'boolean';
      }),
    );
  });
});

describe('patch in place', () => {
  it('patches baseOffset and leader epoch without invalidating the CRC', async () => {
    const buf = await sampleBatch();
    const crcBefore = buf.readUInt32BE(CRC_OFFSET);
    patchBaseOffset(buf, 0, 2 ** 40 + 12345);
    patchPartitionLeaderEpoch(buf, 0, 17);
    expect(buf.readUInt32BE(CRC_OFFSET)).toBe(crcBefore);
    const result = validateBatch(buf, 0, 'log');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.header.baseOffset).toBe(2 ** 40 + 12345);
    expect(result.header.lastOffset).toBe(2 ** 40 + 12345 + 2);
    expect(result.header.partitionLeaderEpoch).toBe(17);
    expect(buf.readBigInt64BE(0)).toBe(2n ** 40n + 12345n);
  });

  it('patches a batch inside a larger buffer, leaving its neighbours alone', async () => {
    const a = await sampleBatch(1);
    const b = await sampleBatch(2);
    const buf = Buffer.concat([a, b]);
    const before = Buffer.from(buf);
    patchBaseOffset(buf, a.length, Number.MAX_SAFE_INTEGER);
    expect(buf.subarray(0, a.length).equals(before.subarray(0, a.length))).toBe(true);
    expect(buf.subarray(a.length + 8).equals(before.subarray(a.length + 8))).toBe(true);
    expect(readBatchHeader(buf, a.length).baseOffset).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('asserts on values it cannot represent', async () => {
    const buf = await sampleBatch();
    expect(() => patchBaseOffset(buf, 0, -1)).toThrow();
    expect(() => patchBaseOffset(buf, 0, 2 ** 53)).toThrow();
    expect(() => patchBaseOffset(buf, buf.length - 10, 0)).toThrow();
    expect(() => patchPartitionLeaderEpoch(buf, 0, 2 ** 31)).toThrow();
  });
});

describe('splitBatches', () => {
  it('splits concatenated batches', async () => {
    const parts = [await sampleBatch(1), await sampleBatch(2), await sampleBatch(3)];
    const buf = Buffer.concat(parts);
    const split = splitBatches(buf);
    expect(split.trailing).toBeNull();
    expect(split.batches).toEqual([
      { offset: 0, sizeBytes: parts[0]!.length },
      { offset: parts[0]!.length, sizeBytes: parts[1]!.length },
      { offset: parts[0]!.length + parts[1]!.length, sizeBytes: parts[2]!.length },
    ]);
    for (const span of split.batches) expect(validateBatch(buf, span.offset).ok).toBe(true);
  });

  it('reports a truncated last batch as partial, for every cut point', async () => {
    const first = await sampleBatch(1);
    const second = await sampleBatch(4);
    const buf = Buffer.concat([first, second]);
    for (let cut = first.length + 1; cut < buf.length; cut++) {
      const split = splitBatches(buf.subarray(0, cut));
      expect(split.batches).toEqual([{ offset: 0, sizeBytes: first.length }]);
      const declaredBytes = cut - first.length >= 12 ? second.length : null;
      expect(split.trailing).toEqual({
        kind: 'partial',
        offset: first.length,
        availableBytes: cut - first.length,
        declaredBytes,
      });
    }
  });

  it('reports a corrupt length or magic and stops there', async () => {
    const first = await sampleBatch(1);
    const bad = Buffer.from(await sampleBatch(1));
    bad.writeInt32BE(3, BATCH_LENGTH_OFFSET);
    const split = splitBatches(Buffer.concat([first, bad]));
    expect(split.batches).toHaveLength(1);
    expect(split.trailing?.kind).toBe('corrupt');
    const badMagic = Buffer.from(await sampleBatch(1));
    badMagic.writeInt8(9, MAGIC_OFFSET);
    expect(splitBatches(badMagic).trailing).toMatchObject({ kind: 'corrupt', offset: 0 });
  });

  it('honours batchBytesMax and a window', async () => {
    const one = await sampleBatch(1);
    const buf = Buffer.concat([Buffer.alloc(3), one, Buffer.alloc(3)]);
    expect(splitBatches(buf, 3, 3 + one.length).batches).toEqual([
      { offset: 3, sizeBytes: one.length },
    ]);
    expect(splitBatches(one, 0, one.length, one.length - 1).trailing?.kind).toBe('corrupt');
    expect(splitBatches(Buffer.alloc(0))).toEqual({ batches: [], trailing: null });
  });

  it('never throws on random bytes', async () => {
    const { default: fc } = await import('fast-check');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const split = splitBatches(Buffer.from(bytes));
        const covered = split.batches.reduce((n, s) => n + s.sizeBytes, 0);
        return covered === (split.trailing?.offset ?? bytes.length);
      }),
    );
  });

  it('has a header of 61 bytes', () => {
    expect(BATCH_HEADER_BYTES).toBe(61);
  });
});
