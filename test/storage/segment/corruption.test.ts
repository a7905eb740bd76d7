/**
 * Damaged segment objects: every damage to the trailer or footer is reported as a
 * SegmentFormatError naming the problem, both from a whole object in memory and through ranged
 * GETs of a real local folder. Never a RangeError, never a footer read past its bounds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../../protocol/records/crc32c.js';
import { encodeBatch } from '../../../protocol/records/record.js';
import { LocalFolderStore } from '../../../storage/object-store/local-folder.js';
import {
  footerHeaderBytes,
  SegmentFormatError,
  trailerBytes,
  type SegmentFormatProblem,
} from '../../../storage/segment/format.js';
import { decodeSegmentObject, readSegmentFooter } from '../../../storage/segment/reader.js';
import { buildSegmentObject } from '../../../storage/segment/writer.js';

const topicId = 'Qk9CQk9CQk9CQk9CQk9CQg';
let good: Buffer;
let store: LocalFolderStore;
let dir: string;

beforeAll(async () => {
  const batch = async (baseOffset: number): Promise<Buffer> =>
    encodeBatch({
      records: [{ key: null, value: Buffer.from(`v${baseOffset}`) }],
      baseOffset,
      baseTimestamp: 1_700_000_000_000,
    });
  good = buildSegmentObject([
    { topicId, partition: 0, batches: [await batch(0), await batch(1)] },
    { topicId, partition: 1, batches: [await batch(5)] },
  ]).body;
  dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-segment-corrupt-'));
  store = await LocalFolderStore.open({ rootDir: dir });
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Where the footer starts in `good`, from its trailer. */
function footerPosition(object: Buffer): number {
  return object.length - trailerBytes - object.readUInt32BE(object.length - trailerBytes);
}

/** Rewrites the trailer's CRC to match the (edited) footer: damage a CRC cannot see. */
function resealed(object: Buffer): Buffer {
  const out = Buffer.from(object);
  const footer = out.subarray(footerPosition(out), out.length - trailerBytes);
  out.writeUInt32BE(crc32c(footer), out.length - trailerBytes + 4);
  return out;
}

/** A copy of `good` with `edit` applied. */
function damaged(edit: (copy: Buffer) => void): Buffer {
  const copy = Buffer.from(good);
  edit(copy);
  return copy;
}

const cases: { name: string; object: () => Buffer; problem: SegmentFormatProblem }[] = [
  {
    name: 'a flipped magic byte',
    object: () => damaged((b) => { b[b.length - 1] = 0x30; }),
    problem: 'bad-magic',
  },
  {
    name: 'a flipped footer byte',
    object: () =>
      damaged((b) => {
        const at = footerPosition(b) + 20;
        b[at] = (b[at] ?? 0) ^ 4;
      }),
    problem: 'crc-mismatch',
  },
  {
    name: 'a flipped trailer CRC',
    object: () => damaged((b) => { b[b.length - 12] = (b[b.length - 12] ?? 0) ^ 1; }),
    problem: 'crc-mismatch',
  },
  {
    name: 'a footerLength larger than the object',
    object: () => damaged((b) => b.writeUInt32BE(b.length, b.length - trailerBytes)),
    problem: 'bad-footer-length',
  },
  {
    name: 'a footerLength smaller than a footer header',
    object: () => damaged((b) => b.writeUInt32BE(footerHeaderBytes - 1, b.length - trailerBytes)),
    problem: 'bad-footer-length',
  },
  {
    // A footerLength off by a little, resealed, would be caught too, but by whichever field the
    // shifted bytes break first; bodyBytes is the field that pins the footer's position.
    name: 'a bodyBytes that disagrees with the footer position (with a matching CRC)',
    object: () => {
      const at = (b: Buffer): number => footerPosition(b) + 4;
      return resealed(damaged((b) => b.writeBigUInt64BE(b.readBigUInt64BE(at(b)) - 1n, at(b))));
    },
    problem: 'bad-footer-length',
  },
  {
    name: 'an unknown format version',
    object: () => resealed(damaged((b) => b.writeUInt16BE(2, footerPosition(b)))),
    problem: 'unsupported-version',
  },
  {
    name: 'unknown flags',
    object: () => resealed(damaged((b) => b.writeUInt16BE(1, footerPosition(b) + 2))),
    problem: 'unsupported-version',
  },
  {
    name: 'a range count beyond the footer',
    object: () => resealed(damaged((b) => b.writeUInt32BE(1000, footerPosition(b) + 12))),
    problem: 'malformed-footer',
  },
  {
    name: 'a range position outside the body',
    object: () => {
      // First range: u8 length, topicId, partition i32, then position u64.
      const at = (b: Buffer): number => footerPosition(b) + footerHeaderBytes + 1 + 22 + 4;
      return resealed(damaged((b) => b.writeBigUInt64BE(1_000_000n, at(b))));
    },
    problem: 'bad-range',
  },
  {
    name: 'descending offsets in a range',
    object: () => {
      // lastOffset (i64) follows position u64 and sizeBytes u64 and baseOffset i64.
      const at = (b: Buffer): number =>
        footerPosition(b) + footerHeaderBytes + 1 + 22 + 4 + 8 + 8 + 8;
      return resealed(damaged((b) => b.writeBigInt64BE(-5n, at(b))));
    },
    problem: 'bad-range',
  },
  {
    name: 'a truncated object (tail cut off)',
    object: () => good.subarray(0, good.length - 3),
    problem: 'bad-magic',
  },
  {
    name: 'an object too small to hold a trailer',
    object: () => good.subarray(0, trailerBytes),
    problem: 'too-small',
  },
];

describe('corrupted segment objects', () => {
  it('the undamaged object decodes (the cases below start from a valid object)', () => {
    expect(decodeSegmentObject(good).ranges).toHaveLength(2);
  });

  for (const { name, object, problem } of cases) {
    it(`detects ${name} in memory`, () => {
      const bytes = object();
      let caught: unknown;
      try {
        decodeSegmentObject(bytes, 'k');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SegmentFormatError);
      expect((caught as SegmentFormatError).problem).toBe(problem);
    });

    it(`detects ${name} through ranged GETs`, async () => {
      const bytes = object();
      const key = `segments/corrupt-${name.replace(/[^a-z]+/g, '-')}.seg`;
      await store.put(key, bytes);
      // Small tail reads exercise the second-GET path too.
      for (const tailReadBytes of [trailerBytes, 1 << 16]) {
        const read = readSegmentFooter(store, key, bytes.length, { tailReadBytes });
        await expect(read).rejects.toBeInstanceOf(SegmentFormatError);
        await expect(read).rejects.toMatchObject({ problem, key });
      }
    });
  }
});
