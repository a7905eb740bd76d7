/**
 * Segment objects end to end: build from real v2 batches, PUT to a real local folder, read the
 * footer back with ranged GETs, and check each partition's range parses into the original batches.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitBatches } from '../../../protocol/records/batch-header.js';
import { decodeBatch, encodeBatch } from '../../../protocol/records/record.js';
import { LocalFolderStore } from '../../../storage/object-store/local-folder.js';
import {
  SegmentFormatError,
  trailerBytes,
  type SegmentRange,
} from '../../../storage/segment/format.js';
import {
  checkRangeBatches,
  decodeSegmentObject,
  readSegmentFooter,
} from '../../../storage/segment/reader.js';
import { buildSegmentObject, type SegmentPart } from '../../../storage/segment/writer.js';

const createdDirs: string[] = [];
afterAll(async () => {
  await Promise.all(createdDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function openStore(): Promise<LocalFolderStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-segment-'));
  createdDirs.push(dir);
  return LocalFolderStore.open({ rootDir: dir });
}

const topicA = 'AAAAAAAAAAAAAAAAAAAAAA';
const topicB = 'zzzzzzzzzzzzzzzzzzzzzz';

/** `count` records starting at `baseOffset`, values naming the partition and offset. */
async function makeBatch(
  label: string,
  baseOffset: number,
  count: number,
  options: { baseTimestamp?: number; epoch?: number } = {},
): Promise<Buffer> {
  const records = Array.from({ length: count }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.from(`${label}@${baseOffset + i}`),
    timestampDelta: i * 10,
  }));
  return encodeBatch({
    records,
    baseOffset,
    baseTimestamp: options.baseTimestamp ?? 1_700_000_000_000 + baseOffset,
    partitionLeaderEpoch: options.epoch ?? 3,
  });
}

async function sampleParts(): Promise<SegmentPart[]> {
  // Deliberately out of (topicId, partition) order: the writer sorts.
  return [
    {
      topicId: topicB,
      partition: 0,
      batches: [await makeBatch('b0', 100, 2), await makeBatch('b0', 102, 3, { epoch: 4 })],
    },
    { topicId: topicA, partition: 7, batches: [await makeBatch('a7', 0, 1)] },
    {
      topicId: topicA,
      partition: 2,
      // Two batches in one Buffer, and an offset gap (as compaction leaves).
      batches: [
        Buffer.concat([await makeBatch('a2', 10, 4), await makeBatch('a2', 20, 1)]),
        await makeBatch('a2', 21, 2, { baseTimestamp: 1_800_000_000_000 }),
      ],
    },
  ];
}

describe('segment object round trip (local folder)', () => {
  let store: LocalFolderStore;
  beforeEach(async () => {
    store = await openStore();
  });
  afterEach(async () => {
    await store.close();
  });

  it('indexes ranges in partition order with offsets, timestamps and epochs', async () => {
    const parts = await sampleParts();
    const { body, ranges } = buildSegmentObject(parts);
    expect(ranges.map((r) => `${r.topicId}:${r.partition}`)).toEqual([
      `${topicA}:2`,
      `${topicA}:7`,
      `${topicB}:0`,
    ]);
    const [a2, a7, b0] = ranges as [SegmentRange, SegmentRange, SegmentRange];
    expect(a2).toMatchObject({ position: 0, baseOffset: 10, lastOffset: 22, batchCount: 3 });
    expect(a2.maxTimestampMs).toBe(1_800_000_000_010);
    expect(a7).toMatchObject({ position: a2.sizeBytes, baseOffset: 0, lastOffset: 0 });
    expect(b0).toMatchObject({ baseOffset: 100, lastOffset: 104, leaderEpoch: 4, batchCount: 2 });
    expect(b0.position + b0.sizeBytes).toBeLessThan(body.length - trailerBytes);
    expect(decodeSegmentObject(body).ranges).toEqual(ranges);
  });

  it('reads the footer back with one ranged GET and serves ranges as whole batches', async () => {
    const parts = await sampleParts();
    const { body, ranges } = buildSegmentObject(parts);
    const key = 'segments/00000001700000000000-0000000001-0badf00d.seg';
    await store.put(key, body);
    const head = await store.head(key);
    expect(head?.sizeBytes).toBe(body.length);

    const before = store.stats().rangeGets;
    const footer = await readSegmentFooter(store, key, body.length);
    expect(store.stats().rangeGets - before).toBe(1);
    expect(footer.ranges).toEqual(ranges);
    expect(footer.formatVersion).toBe(1);

    for (const range of footer.ranges) {
      const part = parts.find(
        (p) => p.topicId === range.topicId && p.partition === range.partition,
      );
      const bytes = await store.getRange(key, range.position, range.position + range.sizeBytes);
      // The range is exactly the partition's batches, byte for byte: a Fetch can send it as-is.
      expect(bytes.equals(Buffer.concat(part?.batches ?? []))).toBe(true);
      expect(checkRangeBatches(bytes, range, key)).toHaveLength(range.batchCount);
    }
  });

  it('decodes the records of every range back to what was produced', async () => {
    const { body, ranges } = buildSegmentObject(await sampleParts());
    const key = 'segments/00000001700000000001-0000000001-0badf00d.seg';
    await store.put(key, body);
    const footer = await readSegmentFooter(store, key, body.length);
    const values: string[] = [];
    for (const range of footer.ranges) {
      const bytes = await store.getRange(key, range.position, range.position + range.sizeBytes);
      for (const span of splitBatches(bytes).batches) {
        const options = { offset: span.offset, maxUncompressedBytes: 1 << 20 };
        const batch = await decodeBatch(bytes, options);
        for (const record of batch.records) values.push(record.value?.toString() ?? 'null');
      }
    }
    expect(ranges).toHaveLength(3);
    expect(values).toEqual([
      'a2@10', 'a2@11', 'a2@12', 'a2@13', 'a2@20', 'a2@21', 'a2@22',
      'a7@0',
      'b0@100', 'b0@101', 'b0@102', 'b0@103', 'b0@104',
    ]);
  });

  it('needs a second GET when the footer is larger than the first tail read', async () => {
    const parts: SegmentPart[] = [];
    for (let p = 0; p < 40; p++) {
      parts.push({ topicId: topicA, partition: p, batches: [await makeBatch(`p${p}`, p * 5, 1)] });
    }
    const { body, ranges } = buildSegmentObject(parts);
    const key = 'segments/00000001700000000002-0000000001-0badf00d.seg';
    await store.put(key, body);
    const before = store.stats().rangeGets;
    const footer = await readSegmentFooter(store, key, body.length, { tailReadBytes: 256 });
    expect(store.stats().rangeGets - before).toBe(2);
    expect(footer.ranges).toEqual(ranges);
    // A tail read larger than the object reads it all in one GET.
    const again = await readSegmentFooter(store, key, body.length, { tailReadBytes: 1 << 24 });
    expect(again.ranges).toEqual(ranges);
  });

  it('reports a size larger than the object as a store error, not a format error', async () => {
    const { body } = buildSegmentObject(await sampleParts());
    const key = 'segments/00000001700000000003-0000000001-0badf00d.seg';
    await store.put(key, body);
    await expect(readSegmentFooter(store, key, body.length + 10)).rejects.toMatchObject({
      name: 'ObjectStoreError',
      code: 'RangeNotSatisfiable',
    });
  });
});

describe('checkRangeBatches', () => {
  it('refuses bytes that are not what the index entry claims', async () => {
    const { body, ranges } = buildSegmentObject(await sampleParts());
    const range = ranges[0] as SegmentRange;
    const bytes = body.subarray(range.position, range.position + range.sizeBytes);
    expect(() => checkRangeBatches(bytes, { ...range, lastOffset: 99 })).toThrow(/lastOffset/);
    expect(() => checkRangeBatches(bytes, { ...range, baseOffset: 11 })).toThrow(/baseOffset/);
    expect(() => checkRangeBatches(bytes, { ...range, batchCount: 2 })).toThrow(/batches/);
    expect(() => checkRangeBatches(bytes.subarray(1), range)).toThrow(SegmentFormatError);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0xff;
    expect(() => checkRangeBatches(flipped, range)).toThrow(/crc-mismatch/);
  });
});

describe('the CRC of a stored batch', () => {
  it('is not checked again by the writer (produce did) but is by the reader', async () => {
    const corrupt = Buffer.from(await makeBatch('x', 0, 3));
    corrupt[corrupt.length - 1] = (corrupt[corrupt.length - 1] ?? 0) ^ 1;
    const { body, ranges } = buildSegmentObject([{ topicId: topicA, partition: 0,
      batches: [corrupt] }]);
    const range = ranges[0] as SegmentRange;
    expect(() => checkRangeBatches(body.subarray(range.position, range.position + range.sizeBytes),
      range)).toThrow(/crc-mismatch/);
  });
});

describe('buildSegmentObject refuses what it could not index', () => {
  it('asserts on overlapping offsets, duplicate partitions, bad batches, empty input', async () => {
    const b0 = await makeBatch('x', 0, 3);
    const b2 = await makeBatch('x', 2, 1);
    expect(() => buildSegmentObject([])).toThrow(/at least one partition/);
    expect(() => buildSegmentObject([{ topicId: topicA, partition: 0, batches: [] }])).toThrow(
      /no batches/,
    );
    expect(() =>
      buildSegmentObject([{ topicId: topicA, partition: 0, batches: [b0, b2] }]),
    ).toThrow(/not ascending/);
    expect(() =>
      buildSegmentObject([
        { topicId: topicA, partition: 0, batches: [b0] },
        { topicId: topicA, partition: 0, batches: [b2] },
      ]),
    ).toThrow(/given twice/);
    const badMagic = Buffer.from(b0);
    badMagic[16] = 7;
    expect(() => buildSegmentObject([{ topicId: topicA, partition: 0, batches: [badMagic] }]))
      .toThrow(/magic/);
    expect(() =>
      buildSegmentObject([{ topicId: topicA, partition: 0, batches: [b0.subarray(0, 70)] }]),
    ).toThrow(/after the last whole batch/);
    expect(() => buildSegmentObject([{ topicId: 'a/b c', partition: 0, batches: [b0] }])).toThrow(
      /topicId/,
    );
  });
});
