/**
 * The history reader's read-ahead, against a real SQLite segment index and real segment bytes in
 * a local folder (wrapped in the fault injector only to keep GETs in flight for a while). GETs
 * are counted by the store itself and by the read cache's stats, never timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeUncompressedBatch } from '../../protocol/records/record.js';
import { ReadCache } from '../../storage/cache/read-cache.js';
import { FaultyObjectStore } from '../../storage/object-store/faulty.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { partitionLimits } from '../../src/limits.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { createMetrics } from '../../src/metrics.js';
import { ObjectHistoryReader } from '../../src/partition/history-reader.js';
import { topicRecord } from '../metadata/contract/fixtures.js';

const MiB = 1024 * 1024;
/** Records per entry: one batch per entry, one entry per object. */
const recordsPerEntry = 10;

let dir: string;
let store: FaultyObjectStore;
let metadata: SqliteMetadata;
let topicId: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-history-reader-'));
  store = new FaultyObjectStore(await LocalFolderStore.open({ rootDir: dir }));
  metadata = new SqliteMetadata(':memory:');
  const topic = topicRecord('history', 1);
  topicId = topic.topicId;
  await metadata.topics.create(topic, 1);
});

afterEach(async () => {
  await store.close();
  await metadata.close();
  await rm(dir, { recursive: true, force: true });
});

/** Uploads `count` entries of partition 0, each one batch of `valueBytes`-byte records. */
async function uploadEntries(count: number, valueBytes: number): Promise<number[]> {
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const baseOffset = i * recordsPerEntry;
    const batch = encodeUncompressedBatch({ baseTimestamp: 1, baseOffset,
      records: Array.from({ length: recordsPerEntry },
        () => ({ key: null, value: Buffer.alloc(valueBytes, i) })) });
    const objectKey = `segments/${String(i).padStart(20, '0')}.seg`;
    await store.put(objectKey, batch);
    await metadata.segments.commit({ objectKey, objectSizeBytes: batch.length,
      entries: [{ topicId, partition: 0, baseOffset, lastOffset: baseOffset + recordsPerEntry - 1,
        objectKey, position: 0, sizeBytes: batch.length, maxTimestampMs: 1, leaderEpoch: 0 }],
      producerStates: new Map(), leaderEpochs: new Map([[`${topicId}:0`, 0]]) });
    sizes.push(batch.length);
  }
  return sizes;
}

function readerOver(cache: ReadCache): ObjectHistoryReader {
  return new ObjectHistoryReader(metadata, cache, createMetrics());
}

describe('ObjectHistoryReader read-ahead', () => {
  it('starts the GETs of every entry a read needs at once, and reads ahead past them', async () => {
    const sizes = await uploadEntries(partitionLimits.historyEntriesPerReadMax + 2, 1000);
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 64 * MiB });
    // Three whole entries fit maxBytes: the read needs entries 0-2.
    const maxBytes = sizes[0]! + sizes[1]! + sizes[2]!;
    const chunk = await readerOver(cache).read(topicId, 0, 0, Infinity, maxBytes, true);
    expect(chunk.sizeBytes).toBe(maxBytes);
    expect(chunk.nextOffset).toBe(3 * recordsPerEntry);
    // One demand GET; entries 1-3 (3 to learn that it no longer fits) were prefetched with it
    // and joined or found cached, and the read-ahead covers the rest of the looked-up entries
    // (tiny here, far below the byte bound).
    const stats = cache.stats();
    expect(stats.misses).toBe(1);
    expect(stats.joins + stats.hits).toBe(3);
    expect(stats.prefetchesStarted).toBe(partitionLimits.historyEntriesPerReadMax - 1);
    await cache.whenIdle();
    expect(store.stats().rangeGets).toBe(partitionLimits.historyEntriesPerReadMax);
    // The next sequential read needs no GET of its own (it reads the last two entries ahead).
    await readerOver(cache).read(topicId, 0, chunk.nextOffset, Infinity, maxBytes, true);
    expect(cache.stats().misses).toBe(1);
    await cache.whenIdle();
    expect(store.stats().rangeGets).toBe(sizes.length);
  });

  it('reads ahead at most historyReadAheadBytesMax past maxBytes', async () => {
    // Entries just under 1 MiB: the read-ahead bound admits whole entries while less than
    // historyReadAheadBytesMax + maxBytes lies before them.
    const entryBytesApprox = MiB - 4096;
    const sizes = await uploadEntries(partitionLimits.historyEntriesPerReadMax,
      Math.floor(entryBytesApprox / recordsPerEntry));
    const cache = new ReadCache(store, { cacheBytesMax: 64 * MiB });
    const maxBytes = 1;
    await readerOver(cache).read(topicId, 0, 0, Infinity, maxBytes, true);
    let before = 0;
    let expected = 0;
    const aheadBytesMax = maxBytes + partitionLimits.historyReadAheadBytesMax;
    for (let i = 0; i < sizes.length && before < aheadBytesMax; i++) {
      if (i > 0) expected += 1;
      before += sizes[i]!;
    }
    expect(expected).toBeLessThan(sizes.length - 1); // the bound, not the entry count, stops it
    expect(cache.stats().prefetchesStarted).toBe(expected);
    await cache.whenIdle();
    expect(store.stats().rangeGets).toBe(1 + expected);
  });

  it('does not read ahead into what the tail serves (endOffset)', async () => {
    await uploadEntries(6, 1000);
    const cache = new ReadCache(store, { cacheBytesMax: 64 * MiB });
    // Entries 0-1 lie below endOffset; 2-5 are still in the tail.
    const chunk = await readerOver(cache).read(topicId, 0, 0, 2 * recordsPerEntry, 1, true);
    expect(chunk.nextOffset).toBe(recordsPerEntry);
    await cache.whenIdle();
    expect(cache.stats().prefetchesStarted).toBe(1);
    expect(store.stats().rangeGets).toBe(2);
  });

  it('prefetch starts a read without waiting, and the read then joins it', async () => {
    const sizes = await uploadEntries(3, 1000);
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 64 * MiB });
    const reader = readerOver(cache);
    reader.prefetch(topicId, 0, 0, Infinity, sizes[0]!);
    const chunk = await reader.read(topicId, 0, 0, Infinity, sizes[0]!, true);
    expect(chunk.nextOffset).toBe(recordsPerEntry);
    await cache.whenIdle();
    expect(cache.stats().misses).toBe(0);
    expect(store.stats().rangeGets).toBe(3);
  });
});
