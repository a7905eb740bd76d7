/**
 * LZ4 batch payloads in the standard LZ4 frame format, which Kafka uses for magic 2 (magic 0/1
 * had a broken header checksum; not supported here).
 *
 * We parse the frame ourselves and hand single blocks to `lz4-napi` (napi-rs over lz4_flex,
 * prebuilt): its one-shot frame decoder cannot be bounded, while block by block every allocation
 * is at most one block (<= 4 MiB) and the running total is checked against the limit after each.
 * Checksums are verified with @node-rs/xxhash: the header checksum always, block and content
 * checksums when the frame carries them.
 *
 * Like Kafka's Lz4BlockInputStream we require independent blocks, refuse dictionaries, and ignore
 * bytes after the end mark. We write what Kafka writes: 64 KiB independent blocks, no checksums.
 */
import { compressSync, uncompressSync } from 'lz4-napi';
import { xxh32, Xxh32 } from '@node-rs/xxhash';
import { assertOutputLimit, corruptError, DecompressionError, outputLimitError } from './errors.js';

const FRAME_MAGIC = 0x184d2204;
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_RESERVED = 0x8f;
const BLOCK_UNCOMPRESSED = 0x80000000;
/** Kafka's Lz4BlockOutputStream block size (BD code 4). */
const WRITE_BLOCK_BYTES = 64 * 1024;
const WRITE_FLG = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENT;
const WRITE_BD = 4 << 4;
/** An LZ4 block inflates at most ~255x (one 255 length byte per output run); used only to size
 * the first decode attempt, which is retried at full block size if it was too small. */
const BLOCK_EXPANSION_MAX = 256;

export async function lz4Compress(input: Buffer): Promise<Buffer> {
  const parts: Buffer[] = [frameHeader()];
  for (let pos = 0; pos < input.length; pos += WRITE_BLOCK_BYTES) {
    const chunk = input.subarray(pos, pos + WRITE_BLOCK_BYTES);
    // lz4-napi's block output is [u32 LE uncompressed size][LZ4 block]; the frame wants the block.
    const compressed = compressSync(chunk).subarray(4);
    const stored = compressed.length >= chunk.length;
    const body = stored ? chunk : compressed;
    const size = Buffer.allocUnsafe(4);
    size.writeUInt32LE((body.length | (stored ? BLOCK_UNCOMPRESSED : 0)) >>> 0, 0);
    parts.push(size, body);
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

function frameHeader(): Buffer {
  const header = Buffer.allocUnsafe(7);
  header.writeUInt32LE(FRAME_MAGIC, 0);
  header[4] = WRITE_FLG;
  header[5] = WRITE_BD;
  header[6] = headerChecksum(header.subarray(4, 6));
  return header;
}

function headerChecksum(descriptor: Buffer): number {
  return (xxh32(descriptor, 0) >>> 8) & 0xff;
}

interface FrameDescriptor {
  flags: number;
  blockMaxBytes: number;
  contentSizeBytes: number | null;
  /** Where the first block starts. */
  dataOffset: number;
}

function corrupt(detail: string, offset: number): DecompressionError {
  return new DecompressionError('corrupt', 'lz4', detail, offset);
}

function readDescriptor(input: Buffer): FrameDescriptor {
  if (input.length < 7 || input.readUInt32LE(0) !== FRAME_MAGIC) {
    throw corrupt('not an LZ4 frame (bad magic)', 0);
  }
  const flags = input[4]!;
  const bd = input[5]!;
  if ((flags & FLG_VERSION_MASK) !== FLG_VERSION_01) throw corrupt(`version flags ${flags}`, 4);
  if ((flags & FLG_RESERVED) !== 0 || (bd & BD_RESERVED) !== 0) {
    throw corrupt('reserved bits set', 4);
  }
  if ((flags & FLG_DICT_ID) !== 0) {
    throw new DecompressionError('unsupported', 'lz4', 'frames with a dictionary id', 4);
  }
  if ((flags & FLG_BLOCK_INDEPENDENT) === 0) {
    throw new DecompressionError('unsupported', 'lz4', 'linked (dependent) blocks', 4);
  }
  const blockCode = (bd >> 4) & 0x07;
  if (blockCode < 4) throw corrupt(`block size code ${blockCode}`, 5);
  const blockMaxBytes = 1 << (2 * blockCode + 8);
  let pos = 6;
  let contentSizeBytes: number | null = null;
  if ((flags & FLG_CONTENT_SIZE) !== 0) {
    if (input.length < pos + 9) throw corrupt('frame descriptor cut short', pos);
    // Above 2^53 it is surely over any limit; a rounded number still compares correctly.
    contentSizeBytes = Number(input.readBigUInt64LE(pos));
    pos += 8;
  }
  if (input.length < pos + 1) throw corrupt('frame descriptor cut short', pos);
  if (input[pos] !== headerChecksum(input.subarray(4, pos))) throw corrupt('header checksum', pos);
  return { flags, blockMaxBytes, contentSizeBytes, dataOffset: pos + 1 };
}

/** Decompresses one LZ4 frame; fails with 'output-limit' once output would pass maxOutputBytes. */
export async function lz4Decompress(input: Buffer, maxOutputBytes: number): Promise<Buffer> {
  return lz4DecompressSync(input, maxOutputBytes);
}

export function lz4DecompressSync(input: Buffer, maxOutputBytes: number): Buffer {
  assertOutputLimit(maxOutputBytes);
  const frame = readDescriptor(input);
  if (frame.contentSizeBytes !== null && frame.contentSizeBytes > maxOutputBytes) {
    throw outputLimitError('lz4', frame.contentSizeBytes, maxOutputBytes);
  }
  const contentHash = (frame.flags & FLG_CONTENT_CHECKSUM) !== 0 ? new Xxh32(0) : null;
  const blocks: Buffer[] = [];
  let totalBytes = 0;
  let pos = frame.dataOffset;
  for (;;) {
    const budgetBytes = maxOutputBytes - totalBytes;
    const next = readBlock(input, pos, frame, budgetBytes);
    pos = next.end;
    if (next.block === null) break; // end mark
    if (next.block.length > budgetBytes) {
      throw outputLimitError('lz4', totalBytes + next.block.length, maxOutputBytes);
    }
    contentHash?.update(next.block);
    blocks.push(next.block);
    totalBytes += next.block.length;
  }
  checkContent(input, pos, frame, totalBytes, contentHash);
  return Buffer.concat(blocks, totalBytes);
}

/** The block at `pos`, inflated (null for the end mark), and where the next one starts. */
function readBlock(input: Buffer, pos: number, frame: FrameDescriptor, budgetBytes: number) {
  if (input.length - pos < 4) throw corrupt('block size cut short', pos);
  const word = input.readUInt32LE(pos);
  if (word === 0) return { block: null, end: pos + 4 };
  const sizeBytes = (word & ~BLOCK_UNCOMPRESSED) >>> 0;
  if (sizeBytes > frame.blockMaxBytes) throw corrupt(`block of ${sizeBytes} bytes`, pos);
  const checksumBytes = (frame.flags & FLG_BLOCK_CHECKSUM) !== 0 ? 4 : 0;
  if (input.length - pos - 4 < sizeBytes + checksumBytes) throw corrupt('block cut short', pos);
  const data = input.subarray(pos + 4, pos + 4 + sizeBytes);
  const end = pos + 4 + sizeBytes + checksumBytes;
  if (checksumBytes !== 0 && xxh32(data, 0) !== input.readUInt32LE(end - 4)) {
    throw corrupt('block checksum', pos);
  }
  const stored = (word & BLOCK_UNCOMPRESSED) !== 0;
  const block = stored ? data : inflateBlock(data, frame.blockMaxBytes, budgetBytes, pos);
  return { block, end };
}

function checkContent(
  input: Buffer,
  pos: number,
  frame: FrameDescriptor,
  totalBytes: number,
  contentHash: Xxh32 | null,
): void {
  if (frame.contentSizeBytes !== null && frame.contentSizeBytes !== totalBytes) {
    throw corrupt(`content size ${frame.contentSizeBytes}, inflated ${totalBytes}`, pos);
  }
  if (contentHash === null) return;
  if (input.length - pos < 4) throw corrupt('content checksum cut short', pos);
  if (contentHash.digest() !== input.readUInt32LE(pos)) throw corrupt('content checksum', pos);
}

/**
 * Inflates one compressed block. lz4_flex takes the output capacity as a 4-byte prefix and fails
 * rather than write past it, so the first try asks only for what the block can plausibly need
 * and what the budget allows; a failure is retried once at the full block size (still bounded)
 * to tell "over the limit" from "corrupt".
 */
function inflateBlock(data: Buffer, blockMaxBytes: number, budgetBytes: number, offset: number) {
  const plausibleBytes = data.length * BLOCK_EXPANSION_MAX + 64;
  const firstCapacity = Math.min(blockMaxBytes, plausibleBytes, budgetBytes + 1);
  try {
    return inflateWithCapacity(data, firstCapacity);
  } catch (err) {
    if (firstCapacity === blockMaxBytes) throw corruptError('lz4', err, offset);
  }
  try {
    return inflateWithCapacity(data, blockMaxBytes);
  } catch (err) {
    throw corruptError('lz4', err, offset);
  }
}

function inflateWithCapacity(data: Buffer, capacityBytes: number): Buffer {
  const prefixed = Buffer.allocUnsafe(4 + data.length);
  prefixed.writeUInt32LE(capacityBytes, 0);
  data.copy(prefixed, 4);
  return uncompressSync(prefixed);
}
