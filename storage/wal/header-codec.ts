/**
 * The WAL stores an opaque payload plus a small typed header that the caller defines, so the same
 * WAL serves partition batches today and anything else later (the WAL never interprets either).
 */
import assert from 'node:assert/strict';

export interface WalHeaderCodec<H> {
  /** Bytes `encode` will write for `header`; at most the WAL's headerBytesMax. */
  encodedBytes(header: H): number;
  /** Writes exactly `encodedBytes(header)` bytes at `offsetBytes`. */
  encode(header: H, target: Buffer, offsetBytes: number): void;
  /** Decodes a header from exactly the bytes `encode` wrote; throws if they are malformed. */
  decode(source: Buffer): H;
}

/** A header that is just bytes: for tests and for callers that frame their own header. */
export const bufferHeaderCodec: WalHeaderCodec<Buffer> = {
  encodedBytes: (header) => header.length,
  encode(header, target, offsetBytes) {
    assert.ok(offsetBytes + header.length <= target.length, 'header fits in target');
    header.copy(target, offsetBytes);
  },
  // Copy: the source is a view of a read buffer that the caller should not pin.
  decode: (source) => Buffer.from(source),
};

/** No header at all. */
export const emptyHeaderCodec: WalHeaderCodec<null> = {
  encodedBytes: () => 0,
  encode() {},
  decode(source) {
    assert.equal(source.length, 0, 'empty header has no bytes');
    return null;
  },
};
