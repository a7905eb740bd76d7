/**
 * CRC-32C (Castagnoli), the checksum of record batch v2 (it covers attributes..end of batch).
 *
 * Backed by @node-rs/crc32: a napi-rs binding that uses the SSE4.2 / ARMv8 CRC instructions and
 * ships prebuilt binaries as optional dependencies (no install script). It measures 4-6 GB/s
 * here, against well under 1 GB/s for table-driven JavaScript, and CRC runs on every produced
 * batch.
 */
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
