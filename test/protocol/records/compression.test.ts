/**
 * Codecs: round trips, the framing Kafka expects, bounded decompression (zip bombs fail with
 * 'output-limit' before inflating), and damaged input failing with a typed error.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { xxh32 } from '@node-rs/xxhash';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync as snappyRaw } from 'snappy';
import {
  compress,
  CompressionCodec,
  decompress,
  decompressSync,
  DecompressionError,
} from '../../../protocol/records/compression.js';
import { XERIAL_MAGIC } from '../../../protocol/records/codecs/snappy.js';

const CODECS = [
  ['gzip', CompressionCodec.gzip],
  ['snappy', CompressionCodec.snappy],
  ['lz4', CompressionCodec.lz4],
  ['zstd', CompressionCodec.zstd],
] as const;

const MiB = 1024 * 1024;

/** Payloads from empty to a few blocks long, random or repetitive (so they really compress). */
const payloads = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(300_000))
    .map(([pattern, sizeBytes]) => Buffer.alloc(sizeBytes, Buffer.from(pattern))),
);

async function expectFailure(promise: Promise<unknown>, kind: string): Promise<void> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DecompressionError);
  expect((err as DecompressionError).kind).toBe(kind);
}

describe.each(CODECS)('%s', (_name, codec) => {
  it('round-trips arbitrary payloads', async () => {
    await fc.assert(
      fc.asyncProperty(payloads, async (input) => {
        const packed = await compress(codec, input);
        const unpacked = await decompress(codec, packed, input.length);
        expect(unpacked.equals(input)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('stops a zip bomb at the limit', async () => {
    const bomb = await compress(codec, Buffer.alloc(32 * MiB));
    expect(bomb.length).toBeLessThan(2 * MiB);
    await expectFailure(decompress(codec, bomb, MiB), 'output-limit');
    // One byte under the true size is already too much.
    const exact = await compress(codec, Buffer.alloc(100_000, 7));
    await expectFailure(decompress(codec, exact, 99_999), 'output-limit');
    expect((await decompress(codec, exact, 100_000)).length).toBe(100_000);
  });

  it('fails damaged input with a typed error, never anything else', async () => {
    const good = await compress(codec, Buffer.alloc(50_000, 'abcdefg'));
    await fc.assert(
      fc.asyncProperty(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), async (at, x) => {
        const bad = Buffer.from(good);
        bad[at]! ^= x;
        await decompress(codec, bad, 10 * MiB).catch((err: unknown) => {
          expect(err).toBeInstanceOf(DecompressionError);
        });
      }),
      { numRuns: 60 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await decompress(codec, Buffer.from(bytes), MiB).catch((err: unknown) => {
          expect(err).toBeInstanceOf(DecompressionError);
        });
      }),
      { numRuns: 100 },
    );
  });
});

describe.each(CODECS)('%s, decompressSync (the Produce path)', (_name, codec) => {
  /** The outcome of a sync decode in the same shape as an async one, to compare the two. */
  function syncOutcome(input: Buffer, limit: number): Promise<Buffer> {
    try {
      return Promise.resolve(decompressSync(codec, input, limit));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  it('gives what decompress gives: output, or the same kind of failure', async () => {
    const good = await compress(codec, Buffer.alloc(50_000, 'abcdefg'));
    await fc.assert(
      fc.asyncProperty(payloads, fc.nat(good.length - 1), fc.nat(255), async (input, at, x) => {
        const packed = await compress(codec, input);
        expect(decompressSync(codec, packed, input.length).equals(input)).toBe(true);
        const bad = Buffer.from(good);
        bad[at]! ^= x;
        const [a, s] = await Promise.allSettled([decompress(codec, bad, 10 * MiB),
          syncOutcome(bad, 10 * MiB)]);
        expect(s.status).toBe(a.status);
        if (a.status === 'fulfilled' && s.status === 'fulfilled') expect(s.value.equals(a.value)).toBe(true);
        if (a.status === 'rejected' && s.status === 'rejected') {
          expect(s.reason).toBeInstanceOf(DecompressionError);
          expect((s.reason as DecompressionError).kind).toBe((a.reason as DecompressionError).kind);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('stops a zip bomb at the limit', async () => {
    const bomb = await compress(codec, Buffer.alloc(32 * MiB));
    await expectFailure(syncOutcome(bomb, MiB), 'output-limit');
  });
});

describe('gzip', () => {
  it('writes plain gzip that zlib reads', async () => {
    const input = Buffer.from('hello gzip');
    expect(zlib.gunzipSync(await compress(CompressionCodec.gzip, input)).equals(input)).toBe(true);
  });
});

describe('snappy', () => {
  it('writes xerial framing with 32 KiB blocks', async () => {
    const input = Buffer.alloc(70_000, 'xy');
    const out = await compress(CompressionCodec.snappy, input);
    expect(out.subarray(0, 8).equals(XERIAL_MAGIC)).toBe(true);
    expect(out.readInt32BE(8)).toBe(1);
    expect(out.readInt32BE(12)).toBe(1);
    let blocks = 0;
    for (let pos = 16; pos < out.length; pos += 4 + out.readInt32BE(pos)) blocks++;
    expect(blocks).toBe(3);
  });

  it('accepts raw unframed snappy, as Kafka does', async () => {
    const input = Buffer.alloc(5000, 'raw');
    expect((await decompress(CompressionCodec.snappy, snappyRaw(input), 5000)).equals(input)).toBe(
      true,
    );
  });

  it('refuses a block declaring 4 GiB before allocating it', async () => {
    const liar = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    await expectFailure(decompress(CompressionCodec.snappy, liar, MiB), 'output-limit');
  });

  it('refuses a xerial block size past the end', async () => {
    const framed = await compress(CompressionCodec.snappy, Buffer.from('abc'));
    framed.writeInt32BE(1000, 16);
    await expectFailure(decompress(CompressionCodec.snappy, framed, MiB), 'corrupt');
  });
});

/** An LZ4 frame header with the given flags, for frames lz4-napi cannot write. */
function lz4Header(flags: number, bd: number, contentSizeBytes?: bigint): Buffer {
  const descriptor = [flags, bd];
  const head = Buffer.from([0x04, 0x22, 0x4d, 0x18, ...descriptor]);
  let body = head;
  if (contentSizeBytes !== undefined) {
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(contentSizeBytes);
    body = Buffer.concat([head, size]);
  }
  const hc = (xxh32(body.subarray(4), 0) >>> 8) & 0xff;
  return Buffer.concat([body, Buffer.from([hc])]);
}

function storedBlock(data: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32LE((data.length | 0x80000000) >>> 0);
  return Buffer.concat([size, data]);
}

describe('lz4', () => {
  it('writes what Kafka writes: 64 KiB independent blocks, no checksums', async () => {
    const input = Buffer.alloc(200_000, 'lz4!');
    const out = await compress(CompressionCodec.lz4, input);
    expect(out.subarray(0, 7).toString('hex')).toBe('04224d18604082');
    expect(decompressFrameSync(out).equals(input)).toBe(true);
  });

  it('reads frames with block and content checksums', async () => {
    const input = Buffer.alloc(300_000, 'checksums');
    const frame = compressFrameSync(input, { blockChecksums: true, contentChecksum: true });
    expect(frame[4]! & 0x14).toBe(0x14);
    expect((await decompress(CompressionCodec.lz4, frame, input.length)).equals(input)).toBe(true);
    const bad = Buffer.from(frame);
    bad[bad.length - 2]! ^= 1;
    await expectFailure(decompress(CompressionCodec.lz4, bad, MiB), 'corrupt');
  });

  it('reads a declared content size, and refuses one over the limit unread', async () => {
    const data = Buffer.from('declared');
    const frame = Buffer.concat([
      lz4Header(0x68, 0x40, BigInt(data.length)),
      storedBlock(data),
      Buffer.alloc(4),
    ]);
    expect((await decompress(CompressionCodec.lz4, frame, 100)).equals(data)).toBe(true);
    const liar = Buffer.concat([lz4Header(0x68, 0x40, 1n << 40n), storedBlock(data)]);
    await expectFailure(decompress(CompressionCodec.lz4, liar, MiB), 'output-limit');
    const mismatch = Buffer.concat([lz4Header(0x68, 0x40, 3n), storedBlock(data), Buffer.alloc(4)]);
    await expectFailure(decompress(CompressionCodec.lz4, mismatch, MiB), 'corrupt');
  });

  it('stops a 4 MiB-block bomb after at most one block', async () => {
    const bomb = compressFrameSync(Buffer.alloc(64 * MiB));
    expect(bomb[5]).toBe(0x70); // 4 MiB blocks
    await expectFailure(decompress(CompressionCodec.lz4, bomb, MiB), 'output-limit');
  });

  it('refuses a bad header checksum, linked blocks and dictionaries', async () => {
    const good = await compress(CompressionCodec.lz4, Buffer.from('x'));
    const badHc = Buffer.from(good);
    badHc[6]! ^= 1;
    await expectFailure(decompress(CompressionCodec.lz4, badHc, MiB), 'corrupt');
    const linked = Buffer.concat([lz4Header(0x40, 0x40), Buffer.alloc(4)]);
    await expectFailure(decompress(CompressionCodec.lz4, linked, MiB), 'unsupported');
    const dict = Buffer.concat([lz4Header(0x61, 0x40), Buffer.alloc(8)]);
    await expectFailure(decompress(CompressionCodec.lz4, dict, MiB), 'unsupported');
  });

  it('ignores bytes after the end mark, like Kafka', async () => {
    const good = await compress(CompressionCodec.lz4, Buffer.from('tail'));
    const out = await decompress(CompressionCodec.lz4, Buffer.concat([good, Buffer.alloc(9)]), 4);
    expect(out.toString()).toBe('tail');
  });
});

/** zstd frame: single segment with a 4-byte content size, then the given blocks. */
function zstdFrame(contentSizeBytes: number, blocks: Buffer[]): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt32LE(0xfd2fb528, 0);
  header[4] = 0xa0; // FCS field 4 bytes, single segment
  header.writeUInt32LE(contentSizeBytes, 5);
  return Buffer.concat([header, ...blocks]);
}

function zstdBlock(type: 'raw' | 'rle', sizeBytes: number, last: boolean, byte = 0x61): Buffer {
  const word = (sizeBytes << 3) | ((type === 'rle' ? 1 : 0) << 1) | (last ? 1 : 0);
  const header = Buffer.alloc(3);
  header.writeUIntLE(word, 0, 3);
  const content = type === 'rle' ? Buffer.from([byte]) : Buffer.alloc(sizeBytes, byte);
  return Buffer.concat([header, content]);
}

describe('zstd', () => {
  it('reads hand-built raw and RLE frames, concatenated with a skippable frame', async () => {
    const a = zstdFrame(5, [zstdBlock('raw', 2, false), zstdBlock('rle', 3, true, 0x62)]);
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9]);
    const out = await decompress(CompressionCodec.zstd, Buffer.concat([a, skippable, a]), 10);
    expect(out.toString()).toBe('aabbbaabbb');
  });

  it('refuses an RLE bomb from its block headers alone', async () => {
    const blocks = Array.from({ length: 1000 }, (_, i) => zstdBlock('rle', 128 * 1024, i === 999));
    const bomb = zstdFrame(1000 * 128 * 1024, blocks);
    expect(bomb.length).toBeLessThan(5000);
    await expectFailure(decompress(CompressionCodec.zstd, bomb, MiB), 'output-limit');
  });

  it('refuses a declared content size over the limit', async () => {
    const liar = zstdFrame(0xffffffff, [zstdBlock('raw', 1, true)]);
    await expectFailure(decompress(CompressionCodec.zstd, liar, MiB), 'output-limit');
  });
});
