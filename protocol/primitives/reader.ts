import { ProtocolDecodeError } from './errors.js';
import { uuidFromBytes } from './uuid.js';

/** An unknown tagged field kept as raw bytes so that re-encoding preserves it. */
export interface TaggedField {
  tag: number;
  data: Buffer;
}

/**
 * A bounds-checked cursor over a Buffer.
 *
 * Every read checks the bytes that remain before touching them, and every length prefix is checked
 * against the bytes that remain *before* anything is allocated, so a hostile frame cannot make the
 * decoder allocate more than the frame itself. Failures throw ProtocolDecodeError naming `at`, the
 * field the generated code says it is reading.
 *
 * Byte strings are returned as subarrays of the input (zero copy): callers that keep them beyond
 * the life of the request buffer must copy.
 */
export class Reader {
  /** Field being decoded; generated decoders set it before each read so errors name the field. */
  at = '?';
  pos: number;
  end: number;
  private view: DataView | undefined;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    if (start < 0 || end > buf.length || start > end) {
      throw new ProtocolDecodeError('reader window outside buffer', 'Reader', start);
    }
    this.pos = start;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string, offset = this.pos): never {
    throw new ProtocolDecodeError(reason, this.at, offset);
  }

  private need(n: number): number {
    const p = this.pos;
    if (n > this.end - p) this.fail(`needs ${n} bytes, ${this.end - p} remain`);
    this.pos = p + n;
    return p;
  }

  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }

  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }

  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }

  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }

  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }

  int64(): bigint {
    const p = this.need(8);
    // DataView's BigInt getter is a V8 builtin (17-18 ns a read here, Buffer's 49-50 ns); the view
    // is made on the first int64, as many requests have none.
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    return this.view.getBigInt64(p);
  }

  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }

  uuid(): string {
    const p = this.need(16);
    return uuidFromBytes(this.buf, p);
  }

  /** Unsigned LEB128 varint of at most 5 bytes (32 bits). */
  uvarint(): number {
    const start = this.pos;
    let result = 0;
    // 128^i kept in a variable: `2 ** (7 * i)` is not constant-folded and made every varint
    // ~8x slower (a Math.pow call), which showed as flexible Produce decode costing 2-3x v7's.
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) this.fail('varint runs past end', start);
      const b = this.buf[this.pos++]!;
      if (i === 4 && b > 0x0f) this.fail('varint exceeds 32 bits', start);
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    return this.fail('varint exceeds 5 bytes', start);
  }

  /** Zig-zag signed 32-bit varint, as record fields use. */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zig-zag signed 64-bit varint (varlong), at most 10 bytes. */
  varlong(): bigint {
    const start = this.pos;
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('varlong runs past end', start);
      const b = this.buf[this.pos++]!;
      if (i === 9 && b > 0x01) this.fail('varlong exceeds 64 bits', start);
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
    }
    return this.fail('varlong exceeds 10 bytes', start);
  }

  /** Raw bytes of a known length, as a zero-copy view. */
  raw(length: number): Buffer {
    if (length < 0) this.fail(`negative length ${length}`);
    const p = this.need(length);
    return this.buf.subarray(p, p + length);
  }

  private utf8(length: number): string {
    const p = this.need(length);
    return this.buf.toString('utf8', p, p + length);
  }

  string(): string {
    const n = this.int16();
    if (n < 0) this.fail(`null or negative string length ${n}`, this.pos - 2);
    return this.utf8(n);
  }

  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) this.fail(`negative string length ${n}`, this.pos - 2);
    return this.utf8(n);
  }

  compactString(): string {
    const start = this.pos;
    const n = this.uvarint() - 1;
    if (n < 0) this.fail('null compact string where one is required', start);
    return this.utf8(n);
  }

  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.utf8(n);
  }

  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) this.fail(`null or negative bytes length ${n}`, this.pos - 4);
    return this.raw(n);
  }

  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) this.fail(`negative bytes length ${n}`, this.pos - 4);
    return this.raw(n);
  }

  compactBytes(): Buffer {
    const start = this.pos;
    const n = this.uvarint() - 1;
    if (n < 0) this.fail('null compact bytes where they are required', start);
    return this.raw(n);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint() - 1;
    return n < 0 ? null : this.raw(n);
  }

  /**
   * Length of a classic array, -1 for null. Each element takes at least `minElementBytes`, so a
   * count larger than remaining/minElementBytes is rejected before the caller allocates.
   */
  arrayLength(minElementBytes: number): number {
    const start = this.pos;
    const n = this.int32();
    if (n === -1) return -1;
    if (n < 0) this.fail(`negative array length ${n}`, start);
    this.checkCount(n, minElementBytes, start);
    return n;
  }

  /** Length of a compact array (varint N+1), -1 for null. */
  compactArrayLength(minElementBytes: number): number {
    const start = this.pos;
    const n = this.uvarint() - 1;
    if (n < 0) return -1;
    this.checkCount(n, minElementBytes, start);
    return n;
  }

  private checkCount(n: number, minElementBytes: number, start: number): void {
    if (n * Math.max(1, minElementBytes) > this.end - this.pos) {
      this.fail(`array of ${n} elements cannot fit in ${this.end - this.pos} bytes`, start);
    }
  }

  /** Number of fields in a tagged-field section (each takes at least two bytes). */
  tagCount(): number {
    const start = this.pos;
    const count = this.uvarint();
    this.checkCount(count, 2, start);
    return count;
  }

  /**
   * Limits the reader to the next `size` bytes (one tagged field) and returns the old end, which
   * `widen` restores. Decoding a known tagged field inside the window cannot overrun it.
   */
  narrow(size: number): number {
    if (size > this.end - this.pos) this.fail(`tagged field of ${size} bytes overruns frame`);
    const savedEnd = this.end;
    this.end = this.pos + size;
    return savedEnd;
  }

  widen(savedEnd: number): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} trailing bytes in tagged field`);
    this.end = savedEnd;
  }

  /** The rest of a narrowed window as an unknown tagged field, kept raw for re-encoding. */
  unknownTag(tag: number): TaggedField {
    return { tag, data: this.raw(this.end - this.pos) };
  }
}
