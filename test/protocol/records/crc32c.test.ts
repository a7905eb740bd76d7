/** CRC-32C against published check values (RFC 3720 B.4, and the standard "123456789" check). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c } from '../../../protocol/records/crc32c.js';

describe('crc32c', () => {
  it('matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('matches RFC 3720 iSCSI vectors', () => {
    expect(crc32c(Buffer.alloc(32, 0x00))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(crc32c(ascending)).toBe(0x46dd794e);
    const descending = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
    expect(crc32c(descending)).toBe(0x113fdb5c);
  });

  it('is 0 for empty input and unsigned otherwise', () => {
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const crc = crc32c(Buffer.from(bytes));
        return Number.isInteger(crc) && crc >= 0 && crc <= 0xffffffff;
      }),
    );
  });

  it('continues a running checksum across chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(512), (bytes, cut) => {
        const buf = Buffer.from(bytes);
        const at = Math.min(cut, buf.length);
        const chained = crc32c(buf.subarray(at), crc32c(buf.subarray(0, at)));
        return chained === crc32c(buf);
      }),
    );
  });
});
