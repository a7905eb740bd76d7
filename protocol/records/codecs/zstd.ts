/**
 * zstd batch payloads via @toondepauw/node-zstd (napi-rs over libzstd 1.5.7, prebuilt binaries in
 * optional dependencies, so nothing is compiled or downloaded at install time).
 *
 * The binding's decoder is one-shot and unbounded, so before calling it we walk the frames and
 * block headers (no decoding) to bound the output: raw and RLE blocks state their exact size, and
 * a compressed block inflates to at most Block_Maximum_Size = min(window, 128 KiB). A frame that
 * declares its content size is held to it (libzstd fails on a mismatch). Compressors fill every
 * block but the last, so the bound exceeds the true size by under one block: we decode when the
 * bound is within one block of the limit (allocation <= limit + 128 KiB) and then enforce the
 * limit exactly. Only a pathological stream of many short compressed blocks is refused early.
 */
import { Decoder, Encoder } from '@toondepauw/node-zstd';
import { assertOutputLimit, corruptError, DecompressionError, outputLimitError } from './errors.js';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_BYTES_MAX = 128 * 1024;
const BLOCK_RAW = 0;
const BLOCK_RLE = 1;
const BLOCK_COMPRESSED = 2;
/** Kafka's default zstd level. */
const COMPRESSION_LEVEL = 3;

export async function zstdCompress(input: Buffer): Promise<Buffer> {
  return new Encoder(COMPRESSION_LEVEL).encode(input);
}

export async function zstdDecompress(input: Buffer, maxOutputBytes: number): Promise<Buffer> {
  checkOutputBound(input, maxOutputBytes);
  let output: Buffer;
  try {
    output = await new Decoder().decode(input);
  } catch (err) {
    throw corruptError('zstd', err);
  }
  if (output.length > maxOutputBytes) throw outputLimitError('zstd', output.length, maxOutputBytes);
  return output;
}

/** As zstdDecompress, on the calling thread (see gzipDecompressSync for why). */
export function zstdDecompressSync(input: Buffer, maxOutputBytes: number): Buffer {
  checkOutputBound(input, maxOutputBytes);
  let output: Buffer;
  try {
    output = new Decoder().decodeSync(input);
  } catch (err) {
    throw corruptError('zstd', err);
  }
  if (output.length > maxOutputBytes) throw outputLimitError('zstd', output.length, maxOutputBytes);
  return output;
}

/** Refuses, before anything is inflated, a payload whose block headers pass the limit. */
function checkOutputBound(input: Buffer, maxOutputBytes: number): void {
  assertOutputLimit(maxOutputBytes);
  const bound = boundOutput(input);
  if (bound.exactBytes > maxOutputBytes) {
    throw outputLimitError('zstd', bound.exactBytes, maxOutputBytes);
  }
  if (bound.upperBytes > maxOutputBytes + BLOCK_BYTES_MAX) {
    const detail = `block headers allow ${bound.upperBytes} bytes, limit is ${maxOutputBytes}`;
    throw new DecompressionError('output-limit', 'zstd', detail);
  }
}

interface OutputBound {
  /** Bytes the output has at least: declared content sizes, raw and RLE blocks. */
  exactBytes: number;
  /** Bytes the output has at most. */
  upperBytes: number;
}

function corrupt(detail: string, offset: number): DecompressionError {
  return new DecompressionError('corrupt', 'zstd', detail, offset);
}

/** Walks every frame in `input` (zstd frames may be concatenated, skippable frames skipped). */
export function boundOutput(input: Buffer): OutputBound {
  const bound: OutputBound = { exactBytes: 0, upperBytes: 0 };
  let pos = 0;
  if (input.length === 0) throw corrupt('empty zstd payload', 0);
  while (pos < input.length) {
    if (input.length - pos < 8) throw corrupt('frame cut short', pos);
    const magic = input.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      const skipBytes = input.readUInt32LE(pos + 4);
      if (skipBytes > input.length - pos - 8) throw corrupt('skippable frame cut short', pos);
      pos += 8 + skipBytes;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt('bad frame magic', pos);
    pos = boundFrame(input, pos + 4, bound);
  }
  return bound;
}

interface FrameHeader {
  contentSizeBytes: number | null;
  blockMaxBytes: number;
  hasChecksum: boolean;
  end: number;
}

function readFrameHeader(input: Buffer, pos: number): FrameHeader {
  const descriptor = input[pos]!;
  const fcsCode = descriptor >> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  if ((descriptor & 0x08) !== 0) throw corrupt('reserved frame header bit', pos);
  const dictIdBytes = [0, 1, 2, 4][descriptor & 0x03]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsCode]!;
  const windowBytes = singleSegment ? 0 : 1;
  const end = pos + 1 + windowBytes + dictIdBytes + fcsBytes;
  if (end > input.length) throw corrupt('frame header cut short', pos);
  let windowSizeBytes = Number.POSITIVE_INFINITY;
  if (!singleSegment) {
    const wd = input[pos + 1]!;
    const windowBase = 2 ** (10 + (wd >> 3));
    windowSizeBytes = windowBase + (windowBase / 8) * (wd & 0x07);
  }
  const contentSizeBytes = fcsBytes === 0 ? null : readContentSize(input, end - fcsBytes, fcsBytes);
  if (singleSegment) windowSizeBytes = contentSizeBytes!;
  const blockMaxBytes = Math.min(windowSizeBytes, BLOCK_BYTES_MAX);
  return { contentSizeBytes, blockMaxBytes, hasChecksum: (descriptor & 0x04) !== 0, end };
}

function readContentSize(input: Buffer, at: number, sizeBytes: number): number {
  if (sizeBytes === 1) return input[at]!;
  if (sizeBytes === 2) return input.readUInt16LE(at) + 256;
  if (sizeBytes === 4) return input.readUInt32LE(at);
  // Above 2^53 the rounded number is still far over any limit.
  return Number(input.readBigUInt64LE(at));
}

/** Adds one frame's bound; returns where the frame ends. */
function boundFrame(input: Buffer, pos: number, bound: OutputBound): number {
  const header = readFrameHeader(input, pos);
  pos = header.end;
  let exactBytes = 0;
  let upperBytes = 0;
  for (let last = false; !last; ) {
    if (input.length - pos < 3) throw corrupt('block header cut short', pos);
    const word = input.readUIntLE(pos, 3);
    last = (word & 1) === 1;
    const type = (word >> 1) & 0x03;
    const sizeBytes = word >>> 3;
    const contentBytes = type === BLOCK_RLE ? 1 : sizeBytes;
    if (type > BLOCK_COMPRESSED) throw corrupt('reserved block type', pos);
    if (input.length - pos - 3 < contentBytes) throw corrupt('block cut short', pos);
    if (type === BLOCK_RAW || type === BLOCK_RLE) {
      exactBytes += sizeBytes;
      upperBytes += sizeBytes;
    } else {
      upperBytes += header.blockMaxBytes;
    }
    pos += 3 + contentBytes;
  }
  if (header.hasChecksum) pos += 4;
  if (pos > input.length) throw corrupt('frame checksum cut short', pos);
  if (header.contentSizeBytes !== null) {
    // libzstd rejects a frame whose output differs from its declared size.
    exactBytes = header.contentSizeBytes;
    upperBytes = header.contentSizeBytes;
  }
  bound.exactBytes += exactBytes;
  bound.upperBytes += upperBytes;
  return pos;
}
