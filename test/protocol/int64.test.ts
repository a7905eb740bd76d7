/**
 * int64 fields go through a DataView of the writer's (and reader's) current buffer rather than
 * Buffer's BigInt methods (protocol/primitives/writer.ts). The view must follow the buffer when
 * the writer grows it or cuts a chunk at a large byte string, and a value outside int64 must be
 * refused, as Buffer refused it, not wrapped.
 */
import { expect, it } from 'vitest';
import { ProtocolEncodeError } from '../../protocol/primitives/errors.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';

const EDGES = [0n, 1n, -1n, 2n ** 31n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)];

it('int64s round-trip across buffer growth and chunk cuts, at the edges of the range', () => {
  const w = new Writer(16);
  const written: bigint[] = [];
  for (let i = 0; i < 300; i++) {
    const edge = EDGES[i % EDGES.length]!;
    const v = i % 2 === 0 ? edge : edge / 3n;
    written.push(v);
    w.int64(v);
    // A byte string this large is kept by reference: the writer cuts its buffer, starts another.
    if (i % 100 === 50) w.bytes(Buffer.alloc(5000, i));
  }
  const r = new Reader(w.toBuffer());
  for (let i = 0; i < 300; i++) {
    expect(r.int64()).toBe(written[i]);
    if (i % 100 === 50) expect(r.bytes()).toEqual(Buffer.alloc(5000, i));
  }
  expect(r.remaining()).toBe(0);
});

it('a reader over a slice of a larger buffer reads the slice, not the buffer beneath', () => {
  const backing = Buffer.alloc(64, 0xff);
  backing.writeBigInt64BE(-2n, 24);
  expect(new Reader(backing.subarray(24, 32)).int64()).toBe(-2n);
});

it('a value outside int64 is refused, not wrapped', () => {
  const w = new Writer();
  expect(() => w.int64(2n ** 63n)).toThrow(ProtocolEncodeError);
  expect(() => w.int64(-(2n ** 63n) - 1n)).toThrow(ProtocolEncodeError);
  expect(w.length).toBe(0);
});
