/**
 * CRC-32C (Castagnoli), the checksum of record batch v2 (it covers attributes..end of batch).
 *
 * Backed by @node-rs/crc32: a napi-rs binding that uses the SSE4.2 / ARMv8 CRC instructions and
 * ships prebuilt binaries as optional dependencies (no install script). It measures 4-6 GB/s
 * here, against well under 1 GB/s for table-driven JavaScript, and CRC runs on every produced
 * batch.
 */
import assert from 'node:assert/strict';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * CRC-32C of `buf`, as an unsigned 32-bit integer.
 *
 * `initial` continues a running checksum: `crc32c(b, crc32c(a))` equals `crc32c(a ++ b)`.
 */
export function crc32c(buf: Uint8Array, initial = 0): number {
  // The binding returns the u32 as a JS number already; `>>> 0` pins it unsigned regardless.
  return nativeCrc32c(buf, initial) >>> 0;
}

/** CRC-32C's polynomial, bit-reversed (the checksum is computed least significant bit first). */
const POLYNOMIAL_REVERSED = 0x82f63b78;

/**
 * a·b modulo the polynomial, both in the checksum's reversed bit order (bit 31 is x^0). `a` must
 * not be 0: every caller passes a power of x, which never is.
 */
function multiplyModP(a: number, b: number): number {
  let m = 0x8000_0000;
  let product = 0;
  for (;;) {
    if ((a & m) !== 0) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = (b & 1) !== 0 ? (b >>> 1) ^ POLYNOMIAL_REVERSED : b >>> 1;
  }
  return product >>> 0;
}

/**
 * x^(8·b·256^k) modulo the polynomial for every byte value b and k = 0..3: shifting past any
 * length below 2^32 bytes is then at most four multiplications, one per byte of the length.
 */
const SHIFT_BY_LENGTH_BYTE = ((): Uint32Array[] => {
  const tables: Uint32Array[] = [];
  let step = 0x0080_0000; // x^8: past one zero byte
  for (let k = 0; k < 4; k++) {
    const table = new Uint32Array(256);
    table[0] = 0x8000_0000; // x^0
    for (let b = 1; b < 256; b++) table[b] = multiplyModP(step, table[b - 1]!);
    tables.push(table);
    step = multiplyModP(step, table[255]!); // x^(8·256^(k+1)) = x^(8·256^k) · x^(8·255·256^k)
  }
  return tables;
})();

/** x^(8·bytes) modulo the polynomial: shifting a checksum past `bytes` zero bytes. */
function xToEightTimes(bytes: number): number {
  let p = 0x8000_0000; // x^0
  for (let k = 0; k < 4; k++) {
    const b = (bytes >>> (8 * k)) & 0xff;
    if (b !== 0) p = multiplyModP(SHIFT_BY_LENGTH_BYTE[k]![b]!, p);
  }
  return p;
}

/**
 * The CRC-32C of `a ++ b` from the CRC-32C of `a`, that of `b` and the length of `b`, without
 * reading either (zlib's crc32_combine, for this polynomial): a few hundred integer operations
 * whatever the length. It lets a checksum over bytes that already carry a verified checksum of
 * most of themselves (a record batch in a WAL entry) skip a second pass over them.
 */
export function crc32cCombine(crcA: number, crcB: number, bytesB: number): number {
  assert.ok(Number.isInteger(bytesB) && bytesB >= 0 && bytesB <= 0xffff_ffff, `length ${bytesB}`);
  return (multiplyModP(xToEightTimes(bytesB), crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}
