/**
 * Batch payload compression: one entry point over the four Kafka codecs (see codecs/*.ts for how
 * each is framed and bounded).
 *
 * API is async (Promise): gzip and zstd run on libuv's thread pool; snappy and lz4 decode their
 * (<= 64 KiB and <= 4 MiB) blocks synchronously because those bindings run at GB/s and a pool hop
 * per block would cost more than the work. `decompressSync` does all four on the calling thread,
 * for callers that must finish before anything else happens (the Produce path's record check).
 *
 * Decompression is bounded: the output never exceeds `maxOutputBytes` (zstd may transiently hold
 * up to one more 128 KiB block), and a larger payload fails with DecompressionError kind
 * 'output-limit' before a large allocation happens. Damaged input fails with kind 'corrupt'.
 */
import assert from 'node:assert/strict';
import { CompressionCodec } from './batch-header.js';
import { gzipCompress, gzipDecompress, gzipDecompressSync } from './codecs/gzip.js';
import { lz4Compress, lz4Decompress, lz4DecompressSync } from './codecs/lz4.js';
import { snappyCompress, snappyDecompress, snappyDecompressSync } from './codecs/snappy.js';
import { zstdCompress, zstdDecompress, zstdDecompressSync } from './codecs/zstd.js';

export { CompressionCodec } from './batch-header.js';
export { DecompressionError, type CodecName, type DecompressionFailure } from './codecs/errors.js';

interface Codec {
  compress(input: Buffer): Promise<Buffer>;
  decompress(input: Buffer, maxOutputBytes: number): Promise<Buffer>;
  decompressSync(input: Buffer, maxOutputBytes: number): Buffer;
}

const CODECS: Record<Exclude<CompressionCodec, 0>, Codec> = {
  [CompressionCodec.gzip]: {
    compress: gzipCompress, decompress: gzipDecompress, decompressSync: gzipDecompressSync,
  },
  [CompressionCodec.snappy]: {
    compress: snappyCompress, decompress: snappyDecompress, decompressSync: snappyDecompressSync,
  },
  [CompressionCodec.lz4]: {
    compress: lz4Compress, decompress: lz4Decompress, decompressSync: lz4DecompressSync,
  },
  [CompressionCodec.zstd]: {
    compress: zstdCompress, decompress: zstdDecompress, decompressSync: zstdDecompressSync,
  },
};

function codecFor(codec: CompressionCodec): Codec {
  assert.ok(codec !== CompressionCodec.none, 'no codec for uncompressed payloads');
  const found = CODECS[codec];
  assert.ok(found !== undefined, `unknown compression codec ${codec}`);
  return found;
}

/** Compresses a records payload as Kafka's Java producer frames it for `codec`. */
export function compress(codec: CompressionCodec, input: Buffer): Promise<Buffer> {
  return codecFor(codec).compress(input);
}

/** Decompresses a records payload, refusing to produce more than `maxOutputBytes`. */
export function decompress(
  codec: CompressionCodec,
  input: Buffer,
  maxOutputBytes: number,
): Promise<Buffer> {
  return codecFor(codec).decompress(input, maxOutputBytes);
}

/**
 * As decompress, on the calling thread, with the same bound. The Produce path uses it so that
 * checking a batch cannot be overtaken by a later request's append; the cost is measured in
 * bench/micro/produce-decode.ts.
 */
export function decompressSync(
  codec: CompressionCodec,
  input: Buffer,
  maxOutputBytes: number,
): Buffer {
  return codecFor(codec).decompressSync(input, maxOutputBytes);
}
