/** CRC-32C against published check values (RFC 3720 B.4, and the standard "123456789" check). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, crc32cCombine } from '../../../protocol/records/crc32c.js';

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

describe('crc32cCombine', () => {
  it('gives the checksum of the concatenation from the two parts\' checksums', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), (a, b) => {
        const whole = crc32c(Buffer.concat([Buffer.from(a), Buffer.from(b)]));
        return crc32cCombine(crc32c(Buffer.from(a)), crc32c(Buffer.from(b)), b.length) === whole;
      }),
    );
  });

  it('holds for long second parts, where the length has many bits', () => {
    const a = Buffer.from('record batch head');
    for (const bytes of [16_384, 65_535, 1_048_577, 8_388_608 + 12_345, 16_777_216 + 5]) {
      const b = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i += 97) b[i] = i & 0xff;
      expect(crc32cCombine(crc32c(a), crc32c(b), bytes)).toBe(crc32c(Buffer.concat([a, b])));
    }
  });

  it('leaves the first checksum unchanged past an empty second part', () => {
    expect(crc32cCombine(0x12345678, 0, 0)).toBe(0x12345678);
    expect(crc32cCombine(0, crc32c(Buffer.from('x')), 1)).toBe(crc32c(Buffer.from('x')));
  });
});
