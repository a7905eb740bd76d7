/**
 * Batch payload compression: one entry point over the four Kafka codecs (see codecs/*.ts for how
 * each is framed and bounded).
 *
 * API is async (Promise): gzip and zstd run on libuv's thread pool; snappy and lz4 decode their
 * (<= 64 KiB and <= 4 MiB) blocks synchronously because those bindings run at GB/s and a pool hop
 * per block would cost more than the work.
 *
 * Decompression is bounded: the output never exceeds `maxOutputBytes` (zstd may transiently hold
 * up to one more 128 KiB block), and a larger payload fails with DecompressionError kind
 * 'output-limit' before a large allocation happens. Damaged input fails with kind 'corrupt'.
 */
import assert from 'node:assert/strict';
import { CompressionCodec } from './batch-header.js';
import { gzipCompress, gzipDecompress } from './codecs/gzip.js';
import { lz4Compress, lz4Decompress } from './codecs/lz4.js';
import { snappyCompress, snappyDecompress } from './codecs/snappy.js';
import { zstdCompress, zstdDecompress } from './codecs/zstd.js';

export { CompressionCodec } from './batch-header.js';
export { DecompressionError, type CodecName, type DecompressionFailure } from './codecs/errors.js';

interface Codec {
  compress(input: Buffer): Promise<Buffer>;
  decompress(input: Buffer, maxOutputBytes: number): Promise<Buffer>;
}

const CODECS: Record<Exclude<CompressionCodec, 0>, Codec> = {
  [CompressionCodec.gzip]: { compress: gzipCompress, decompress: gzipDecompress },
  [CompressionCodec.snappy]: { compress: snappyCompress, decompress: snappyDecompress },
  [CompressionCodec.lz4]: { compress: lz4Compress, decompress: lz4Decompress },
  [CompressionCodec.zstd]: { compress: zstdCompress, decompress: zstdDecompress },
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
