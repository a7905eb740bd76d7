/**
 * The JavaScript raw-Snappy decoder (codecs/snappy-block.ts) against the native binding: the same
 * bytes for every block the binding writes, the same verdict on damaged blocks, and 'corrupt'
 * (never an out-of-bounds write or a RangeError) for each kind of damage.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compressSync, uncompressSync } from 'snappy';
import { decodeSnappyBlock } from '../../../protocol/records/codecs/snappy-block.js';
import { CompressionCodec, decompressSync,
  DecompressionError } from '../../../protocol/records/compression.js';

/** The varint preamble of a raw block: [declared length, preamble bytes]. */
function preamble(block: Buffer): [number, number] {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    value += (block[i]! & 0x7f) * 2 ** (7 * i);
    if ((block[i]! & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('bad preamble');
}

function decodeJs(block: Buffer): Buffer {
  const [declared, bodyStart] = preamble(block);
  return decodeSnappyBlock(block, bodyStart, declared, 0);
}

function decodeNative(block: Buffer): Buffer | 'error' {
  try {
    return uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch {
    return 'error';
  }
}

/** Random bytes, repetitive runs (long copies, overlapping ones) and JSON-like text. */
const payloads = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.nat(70_000))
    .map(([pattern, n]) => Buffer.alloc(n, Buffer.from(pattern))),
  fc.array(fc.constantFrom('{"agent":', '"task-', '12', '"}', ' ', 'tool_call', ','),
    { maxLength: 400 }).map((parts) => Buffer.from(parts.join(''))),
);

function expectCorrupt(fn: () => unknown): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DecompressionError);
  expect((err as DecompressionError).kind).toBe('corrupt');
}

describe('raw Snappy block in JavaScript', () => {
  it('decodes what the binding writes, byte for byte', () => {
    fc.assert(fc.property(payloads, (input) => {
      expect(decodeJs(compressSync(input)).equals(input)).toBe(true);
    }), { numRuns: 300 });
  });

  it('gives the binding\'s verdict on damaged blocks', () => {
    const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })),
      { minLength: 1, maxLength: 4 });
    const damaged = fc.tuple(payloads, flips, fc.nat())
      .map(([input, byteFlips, cut]) => {
        const block = Buffer.from(compressSync(input));
        const [, bodyStart] = preamble(block);
        // Damage the body only: a damaged preamble is snappy.ts's check, before either decoder.
        for (const [at, value] of byteFlips) {
          const bodyBytes = block.length - bodyStart;
          if (bodyBytes > 0) block[bodyStart + (at % bodyBytes)] = value;
        }
        if (cut % 3 === 0) return block;
        return block.subarray(0, Math.max(bodyStart, block.length - (cut % 8)));
      });
    fc.assert(fc.property(damaged, (block) => {
      const native = decodeNative(block);
      if (native === 'error') expectCorrupt(() => decodeJs(block));
      else expect(decodeJs(block).equals(native)).toBe(true);
    }), { numRuns: 2000 });
  });

  it('refuses each kind of damage as corrupt', () => {
    // Preamble 4, then: a copy from 1 byte back with nothing written yet.
    expectCorrupt(() => decodeSnappyBlock(Buffer.from([0x04, 0x01, 0x01]), 1, 4, 0));
    // Literal 'ab', then a two-byte-offset copy of length 2 from 0 bytes back.
    expectCorrupt(() => decodeSnappyBlock(Buffer.from([0x04, 0x04, 0x61, 0x62, 0x06, 0x00, 0x00]),
      1, 4, 0));
    // A literal of 5 bytes with 2 left in the block.
    expectCorrupt(() => decodeSnappyBlock(Buffer.from([0x05, 0x10, 0x61, 0x62]), 1, 5, 0));
    // A literal longer than the declared length.
    expectCorrupt(() => decodeSnappyBlock(Buffer.from([0x01, 0x04, 0x61, 0x62]), 1, 1, 0));
    // A copy running past the declared length (literal 'a', copy 8 from 1 back, declared 4).
    expectCorrupt(() => decodeSnappyBlock(Buffer.from([0x04, 0x00, 0x61, 0x11, 0x01]), 1, 4, 0));
    // Cut short in a four-byte-offset copy's offset.
    const cutCopy = Buffer.from([0x04, 0x00, 0x61, 0x03, 0x01, 0x00]);
    expectCorrupt(() => decodeSnappyBlock(cutCopy, 1, 4, 0));
    // Inflates to fewer bytes than declared.
    expectCorrupt(() => decodeSnappyBlock(Buffer.from([0x04, 0x00, 0x61]), 1, 4, 0));
    // A 2-byte body declaring 1,000 bytes: more than any element could write, refused before
    // the output is allocated (the message says which check refused it).
    expect(() => decodeSnappyBlock(Buffer.from([0xe8, 0x07, 0x00, 0x61]), 2, 1000, 0))
      .toThrow(/cannot inflate to 1000 bytes/);
    // A four-byte literal length cut short.
    expectCorrupt(() => decodeSnappyBlock(Buffer.from([0x04, 0xfc, 0x01]), 1, 4, 0));
  });

  it('decodes small (ours) and large (the binding) blocks through decompressSync', () => {
    const small = Buffer.from('{"agent":"a-1","task":"t-9"}'.repeat(20));
    const large = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i * 7919 % 251));
    for (const input of [small, large]) {
      const out = decompressSync(CompressionCodec.snappy, compressSync(input), input.length);
      expect(out.equals(input)).toBe(true);
    }
  });
});
