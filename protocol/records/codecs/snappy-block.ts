/**
 * A raw Snappy block decoded in JavaScript, for small blocks. The native binding costs about 4 µs
 * a call even for a tiny block (the N-API crossing and its output buffer), and the one-record
 * batches an agent fleet sends are all tiny: the binding was 4–6% of a broker's CPU on that load
 * (issue 13). This loop decodes a 600-byte JSON record in about 1.6 µs. The two break even near
 * 1.3 KiB compressed; larger blocks stay native (snappy.ts picks by size).
 *
 * The format (github.com/google/snappy, format_description.txt): a varint with the uncompressed
 * length, then elements, each a tag byte whose low two bits say what follows:
 *   00 literal: length-1 in the tag's upper six bits, or (60..63) in the next 1..4 bytes;
 *   01 copy: length 4..11 from three tag bits, offset 11 bits (three tag bits, one byte);
 *   10 copy: length 1..64 from the tag, offset in two little-endian bytes;
 *   11 copy: length 1..64 from the tag, offset in four little-endian bytes.
 * A copy reads `offset` bytes back in the output and may overlap what it writes (a run).
 *
 * Every read and write is bounds-checked: a damaged block fails with 'corrupt' and never writes
 * outside the output, which is allocated once at the declared length after the caller checked it.
 */
import { DecompressionError } from './errors.js';

/**
 * Most output bytes one input byte can yield: a copy with a two-byte offset writes up to 64
 * bytes for its 3 (21.3 per byte); a one-byte-offset copy 11 for 2, literals 1 for 1.
 */
const INFLATION_MAX = 22;

/**
 * Decodes `block` (a whole raw Snappy block) into a new Buffer of `declaredBytes`, the length its
 * preamble gave, which starts at `bodyStart`. `offset` places errors in the caller's payload.
 */
export function decodeSnappyBlock(block: Buffer, bodyStart: number, declaredBytes: number,
  offset: number): Buffer {
  // No element writes more than INFLATION_MAX bytes per byte it takes, so a longer declared
  // length is a lie: refused before it is allocated (a 1 KiB block cannot ask for megabytes).
  if (declaredBytes > (block.length - bodyStart) * INFLATION_MAX) {
    throw corrupt(offset, `a ${block.length}-byte block cannot inflate to ${declaredBytes} bytes`);
  }
  const out = Buffer.allocUnsafe(declaredBytes);
  let ip = bodyStart;
  let op = 0;
  const end = block.length;
  while (ip < end) {
    const tag = block[ip++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let length = (tag >>> 2) + 1;
      if (length > 60) {
        const extraBytes = length - 60;
        if (ip + extraBytes > end) throw corrupt(offset + ip, 'literal length cut short');
        length = 0;
        for (let i = 0; i < extraBytes; i++) length += block[ip + i]! * 2 ** (8 * i);
        length += 1;
        ip += extraBytes;
      }
      if (length > end - ip) throw corrupt(offset + ip, 'literal runs past the block');
      if (length > declaredBytes - op) throw corrupt(offset + ip, 'literal runs past the length');
      copyBytes(block, ip, out, op, length);
      ip += length;
      op += length;
      continue;
    }
    let length: number;
    let back: number;
    if (kind === 1) {
      if (ip + 1 > end) throw corrupt(offset + ip, 'copy cut short');
      length = ((tag >>> 2) & 7) + 4;
      back = ((tag >>> 5) << 8) | block[ip]!;
      ip += 1;
    } else if (kind === 2) {
      if (ip + 2 > end) throw corrupt(offset + ip, 'copy cut short');
      length = (tag >>> 2) + 1;
      back = block[ip]! | (block[ip + 1]! << 8);
      ip += 2;
    } else {
      if (ip + 4 > end) throw corrupt(offset + ip, 'copy cut short');
      length = (tag >>> 2) + 1;
      back = block.readUInt32LE(ip);
      ip += 4;
    }
    if (back === 0 || back > op) throw corrupt(offset + ip, `copy from ${back} back at ${op}`);
    if (length > declaredBytes - op) throw corrupt(offset + ip, 'copy runs past the length');
    // Byte by byte: a copy is at most 64 bytes, and when it overlaps what it writes (`back` below
    // `length`: a run of a short pattern) each byte may be one this copy just wrote.
    for (let i = 0; i < length; i++, op++) out[op] = out[op - back]!;
  }
  if (op !== declaredBytes) {
    throw corrupt(offset + ip, `block inflates to ${op} bytes, its preamble says ${declaredBytes}`);
  }
  return out;
}

/** Buffer#copy costs more to call than a short loop costs to run; literals are mostly short. */
function copyBytes(from: Buffer, fromStart: number, to: Buffer, toStart: number, length: number) {
  if (length > 32) {
    from.copy(to, toStart, fromStart, fromStart + length);
    return;
  }
  for (let i = 0; i < length; i++) to[toStart + i] = from[fromStart + i]!;
}

function corrupt(offset: number, detail: string): DecompressionError {
  return new DecompressionError('corrupt', 'snappy', detail, offset);
}
