/**
 * The record walker (protocol/records/record-walk.ts): every records section our encoder (the
 * same bytes kafkajs writes, see kafkajs-interop.test.ts) produces is accepted; a count, offset,
 * length or varint that disagrees with the bytes is refused with a reason; any input returns
 * instead of throwing.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeRecords, type BatchRecord } from '../../../protocol/records/record.js';
import { walkRecords } from '../../../protocol/records/record-walk.js';
import { Writer } from '../../../protocol/primitives/writer.js';

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));

const recordArb: fc.Arbitrary<BatchRecord> = fc.record({
  key: fc.option(bytes(32), { nil: null }),
  value: fc.option(fc.oneof(bytes(200), fc.nat(5000).map((n) => Buffer.alloc(n, 'v'))), {
    nil: null,
  }),
  headers: fc.array(
    fc.record({ key: fc.string({ maxLength: 8 }), value: fc.option(bytes(16), { nil: null }) }),
    { maxLength: 3 },
  ),
  timestampDelta: fc.oneof(fc.nat(100_000), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
});
const recordsArb = fc.array(recordArb, { minLength: 1, maxLength: 12 });

/** One record body written field by field, so a test can make any field lie. */
function rawRecord(fields: {
  offsetDelta: number;
  key?: number;
  value?: number;
  headers?: [number, number][];
  lengthAdjust?: number;
}): Buffer {
  const body = new Writer(64);
  body.int8(0);
  body.varlong(0n);
  body.varint(fields.offsetDelta);
  body.varint(fields.key ?? -1);
  if ((fields.key ?? -1) > 0) body.raw(Buffer.alloc(fields.key!, 'k'));
  body.varint(fields.value ?? 1);
  if ((fields.value ?? 1) > 0) body.raw(Buffer.alloc(fields.value ?? 1, 'v'));
  const headers = fields.headers ?? [];
  body.varint(headers.length);
  for (const [k, v] of headers) {
    body.varint(k);
    if (k > 0) body.raw(Buffer.alloc(k, 'h'));
    body.varint(v);
    if (v > 0) body.raw(Buffer.alloc(v, 'w'));
  }
  const b = body.toBuffer();
  const out = new Writer(b.length + 5);
  out.varint(b.length + (fields.lengthAdjust ?? 0));
  out.raw(b);
  return out.toBuffer();
}

describe('walkRecords accepts what encoders write', () => {
  it('any records our encoder writes, with their true count', () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        expect(walkRecords(encodeRecords(records), records.length)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('an empty section holds zero records', () => {
    expect(walkRecords(Buffer.alloc(0), 0)).toBeNull();
  });
});

describe('walkRecords refuses records that disagree with the header', () => {
  it('any other declared count', () => {
    fc.assert(
      fc.property(recordsArb, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (records, count) => {
        fc.pre(count !== records.length);
        expect(walkRecords(encodeRecords(records), count)).toMatch(/premature end|remain/);
      }),
      { numRuns: 300 },
    );
  });

  it('a header claiming 2^31 - 1 records over three real ones', () => {
    const section = encodeRecords([0, 1, 2].map(() => ({ key: null, value: Buffer.from('x') })));
    expect(walkRecords(section, 2 ** 31 - 1)).toMatch(/3 of 2147483647/);
  });

  it('any section cut short, or with bytes after the last record', () => {
    fc.assert(
      fc.property(recordsArb, fc.nat(), bytes(8), (records, cut, extra) => {
        const section = encodeRecords(records);
        const prefix = section.subarray(0, cut % section.length);
        expect(walkRecords(prefix, records.length)).not.toBeNull();
        if (extra.length > 0) {
          expect(walkRecords(Buffer.concat([section, extra]), records.length)).not.toBeNull();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('offset deltas other than 0..n-1 in order', () => {
    const swapped = Buffer.concat([rawRecord({ offsetDelta: 1 }), rawRecord({ offsetDelta: 0 })]);
    expect(walkRecords(swapped, 2)).toMatch(/record 0: offset delta 1, expected 0/);
    const gap = Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 2 })]);
    expect(walkRecords(gap, 2)).toMatch(/record 1: offset delta 2/);
    const ok = Buffer.concat([rawRecord({ offsetDelta: 0 }), rawRecord({ offsetDelta: 1 })]);
    expect(walkRecords(ok, 2)).toBeNull();
  });

  it('a record length that is not the bytes its fields take', () => {
    const longer = Buffer.concat([rawRecord({ offsetDelta: 0, lengthAdjust: 1 }), Buffer.from([0])]);
    expect(walkRecords(longer, 1)).toMatch(/its fields take/);
    const shorter = rawRecord({ offsetDelta: 0, value: 4, lengthAdjust: -2 });
    expect(walkRecords(shorter, 1)).toMatch(/record 0/);
    expect(walkRecords(rawRecord({ offsetDelta: 0, lengthAdjust: 1000 }), 1)).toMatch(/length/);
  });

  it('key, value or header lengths past the record, and null header keys', () => {
    expect(walkRecords(rawRecord({ offsetDelta: 0, key: -2 }), 1)).toMatch(/malformed/);
    expect(walkRecords(rawRecord({ offsetDelta: 0, headers: [[-1, 1]] }), 1)).toMatch(/malformed/);
    expect(walkRecords(rawRecord({ offsetDelta: 0, headers: [[2, -1]] }), 1)).toBeNull();
    const body = rawRecord({ offsetDelta: 0, value: 3 });
    // Claim a 50-byte value: it would run past the record into the next one.
    const lying = Buffer.from(body);
    lying[lying.length - 5] = 100; // zigzag(50), in place of zigzag(3)
    expect(walkRecords(Buffer.concat([lying, rawRecord({ offsetDelta: 1 })]), 2)).not.toBeNull();
  });

  it('varints longer than 5 bytes (Kafka: "invalid record structure")', () => {
    const sixByteLength = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0, 0, 0, 0, 0]);
    expect(walkRecords(sixByteLength, 1)).toMatch(/malformed length varint/);
    const section = rawRecord({ offsetDelta: 0 });
    // offsetDelta (byte 3: length, attributes, timestampDelta, offsetDelta) as 6 bytes.
    const body = Buffer.concat([section.subarray(1, 3), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80,
      0x00]), section.subarray(4)]);
    const record = Buffer.concat([Buffer.from([body.length * 2]), body]);
    expect(walkRecords(record, 1)).toMatch(/malformed record structure/);
  });

  it('returns (never throws) on any bytes and count', () => {
    fc.assert(
      fc.property(bytes(200), fc.integer({ min: -5, max: 2 ** 31 - 1 }), (section, count) => {
        const result = walkRecords(section, count);
        expect(result === null || typeof result === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
