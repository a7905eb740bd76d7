/**
 * The read cache against a real local folder (wrapped in the fault injector for delays and
 * failures). GET counts come from the store's own `stats()`, so "served from cache" means the
 * store really was not asked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReadCache } from '../../../storage/cache/read-cache.js';
import { readCacheLimits } from '../../../storage/limits.js';
import { FaultyObjectStore } from '../../../storage/object-store/faulty.js';
import { LocalFolderStore } from '../../../storage/object-store/local-folder.js';
import { ObjectStoreError } from '../../../storage/object-store/object-store.js';

const createdDirs: string[] = [];
afterAll(async () => {
  await Promise.all(createdDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const objectKey = 'segments/00000001700000000000-0000000001-0badf00d.seg';
const otherKey = 'segments/00000001700000000001-0000000001-0badf00d.seg';
const objectBytes = 64 * 1024;
/** Byte i of the test objects is i mod 251, so any range is recognisable. */
const content = Buffer.from(Array.from({ length: objectBytes }, (_, i) => i % 251));

let store: FaultyObjectStore;

beforeEach(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-read-cache-'));
  createdDirs.push(dir);
  store = new FaultyObjectStore(await LocalFolderStore.open({ rootDir: dir }));
  await store.put(objectKey, content);
  await store.put(otherKey, content);
});

afterEach(async () => {
  await store.close();
});

function rangeGets(): number {
  return store.stats().rangeGets;
}

/** Read-aheads of one turn are sent at the turn's end (setImmediate): wait for that. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** No two ranges fit in one read-ahead GET: each prefetch is a GET of its own. */
const oneGetPerRange = { prefetchGetBytesMax: 1 };

describe('ReadCache hits and misses', () => {
  it('serves a repeated range from memory and reports hits and misses to the hooks', async () => {
    const hooks: string[] = [];
    const cache = new ReadCache(store, {
      cacheBytesMax: 4096,
      onHit: (sizeBytes) => hooks.push(`hit ${sizeBytes}`),
      onMiss: (sizeBytes) => hooks.push(`miss ${sizeBytes}`),
    });
    const first = await cache.get(objectKey, 100, 300);
    expect(first.equals(content.subarray(100, 300))).toBe(true);
    expect(rangeGets()).toBe(1);
    const second = await cache.get(objectKey, 100, 300);
    expect(second).toBe(first);
    expect(rangeGets()).toBe(1);
    // A different range of the same object is a different entry.
    await cache.get(objectKey, 100, 301);
    expect(rangeGets()).toBe(2);
    expect(hooks).toEqual(['miss 200', 'hit 200', 'miss 201']);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, joins: 0, entries: 2 });
    expect(cache.stats().cachedBytes).toBe(401);
  });

  it('does not pin a larger buffer behind a small cached range', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    const bytes = await cache.get(objectKey, 10, 20);
    expect(bytes.buffer.byteLength).toBe(10);
  });
});

describe('ReadCache LRU eviction', () => {
  it('evicts the least recently used ranges and never exceeds cacheBytesMax', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 300 });
    await cache.get(objectKey, 0, 100); // A
    await cache.get(objectKey, 100, 200); // B
    await cache.get(objectKey, 200, 300); // C
    expect(cache.stats()).toMatchObject({ cachedBytes: 300, entries: 3, evictions: 0 });
    await cache.get(objectKey, 0, 100); // touch A: B is now least recently used
    await cache.get(objectKey, 300, 400); // D evicts B
    expect(cache.stats()).toMatchObject({ cachedBytes: 300, entries: 3, evictions: 1 });

    const before = rangeGets();
    await cache.get(objectKey, 0, 100); // A: hit
    await cache.get(objectKey, 200, 300); // C: hit
    await cache.get(objectKey, 300, 400); // D: hit
    expect(rangeGets()).toBe(before);
    await cache.get(objectKey, 100, 200); // B: evicted, so a GET; evicts A (LRU now)
    expect(rangeGets()).toBe(before + 1);
    await cache.get(objectKey, 200, 300); // C survived
    expect(rangeGets()).toBe(before + 1);
    await cache.get(objectKey, 0, 100); // A was evicted
    expect(rangeGets()).toBe(before + 2);
    expect(cache.stats().cachedBytes).toBeLessThanOrEqual(300);
  });

  it('evicts several small ranges to fit one large one', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 1000 });
    for (let i = 0; i < 10; i++) await cache.get(objectKey, i * 100, i * 100 + 100);
    await cache.get(objectKey, 5000, 5350);
    expect(cache.stats()).toMatchObject({ entries: 7, cachedBytes: 950, evictions: 4 });
  });

  it('returns a range larger than the cache without caching it or evicting others', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 500 });
    await cache.get(objectKey, 0, 400);
    const big = await cache.get(objectKey, 1000, 2000);
    expect(big.equals(content.subarray(1000, 2000))).toBe(true);
    expect(cache.stats()).toMatchObject({ uncacheable: 1, entries: 1, cachedBytes: 400 });
    const before = rangeGets();
    await cache.get(objectKey, 1000, 2000);
    await cache.get(objectKey, 0, 400);
    expect(rangeGets()).toBe(before + 1);
  });

  it('evictObject frees one object and keeps the others', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    await cache.get(objectKey, 0, 100);
    await cache.get(objectKey, 100, 200);
    await cache.get(otherKey, 0, 100);
    expect(cache.evictObject(objectKey)).toBe(2);
    expect(cache.evictObject(objectKey)).toBe(0);
    expect(cache.stats()).toMatchObject({ entries: 1, cachedBytes: 100, evictions: 0 });
  });
});

describe('ReadCache single flight', () => {
  it('sends one GET for N concurrent gets of the same range', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => cache.get(objectKey, 500, 1500)),
    );
    expect(rangeGets()).toBe(1);
    for (const bytes of results) expect(bytes).toBe(results[0]);
    expect(results[0]?.equals(content.subarray(500, 1500))).toBe(true);
    expect(cache.stats()).toMatchObject({ misses: 1, joins: 9, hits: 0, inFlight: 0 });
  });

  it('shares a GET even for a range too large to cache', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 0 });
    await Promise.all([cache.get(objectKey, 0, 100), cache.get(objectKey, 0, 100)]);
    expect(rangeGets()).toBe(1);
    expect(cache.stats()).toMatchObject({ misses: 1, joins: 1, entries: 0, uncacheable: 1 });
  });
});

describe('ReadCache failures', () => {
  it('fails every waiter of a failed GET, caches nothing, retries on the next get', async () => {
    store.delay('getRange', 20).failNext('getRange', 1);
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    const waiters = Array.from({ length: 3 }, () => cache.get(objectKey, 0, 100));
    for (const waiter of waiters) {
      await expect(waiter).rejects.toMatchObject({ name: 'ObjectStoreError', code: 'Unavailable' });
    }
    expect(store.injected().failed).toBe(1); // one request, shared by the three waiters
    expect(cache.stats()).toMatchObject({ storeErrors: 1, entries: 0, inFlight: 0 });

    const bytes = await cache.get(objectKey, 0, 100);
    expect(bytes.equals(content.subarray(0, 100))).toBe(true);
    expect(cache.stats()).toMatchObject({ misses: 2, entries: 1 });
  });

  it('is not poisoned by a store that throws synchronously', async () => {
    let throwNext = true;
    const throwing: FaultyObjectStore = Object.create(store);
    throwing.getRange = (key: string, start: number, endExclusive: number) => {
      if (!throwNext) return store.getRange(key, start, endExclusive);
      throwNext = false;
      throw new ObjectStoreError('Io', 'getRange', key, 'thrown before any promise');
    };
    const cache = new ReadCache(throwing, { cacheBytesMax: 4096 });
    await expect(cache.get(objectKey, 0, 100)).rejects.toMatchObject({ code: 'Io' });
    expect(cache.stats()).toMatchObject({ storeErrors: 1, inFlight: 0 });
    const bytes = await cache.get(objectKey, 0, 100);
    expect(bytes.equals(content.subarray(0, 100))).toBe(true);
  });

  it('passes a missing object through as the store error', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    const read = cache.get('segments/missing.seg', 0, 10);
    await expect(read).rejects.toBeInstanceOf(ObjectStoreError);
    await expect(read).rejects.toMatchObject({ code: 'NotFound' });
    expect(cache.stats()).toMatchObject({ storeErrors: 1, entries: 0, inFlight: 0 });
  });

  it('asserts on an invalid range before asking the store', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    await expect(cache.get(objectKey, 10, 10)).rejects.toThrow(/must not be empty/);
    expect(() => cache.prefetch(objectKey, -1, 10)).toThrow(/start/);
    expect(rangeGets()).toBe(0);
  });
});

describe('ReadCache prefetch', () => {
  it('reads ahead into the cache so the next get is a hit', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    expect(cache.prefetch(objectKey, 0, 1000)).toBe(true);
    await cache.whenIdle();
    const bytes = await cache.get(objectKey, 0, 1000);
    expect(bytes.equals(content.subarray(0, 1000))).toBe(true);
    expect(rangeGets()).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 0, prefetchesStarted: 1 });
    // Already cached: nothing to do.
    expect(cache.prefetch(objectKey, 0, 1000)).toBe(false);
    expect(cache.stats().prefetchesSkipped).toBe(1);
  });

  it('lets a get join a prefetch in flight', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    cache.prefetch(objectKey, 0, 1000);
    await cache.get(objectKey, 0, 1000);
    expect(rangeGets()).toBe(1);
    expect(cache.stats()).toMatchObject({ joins: 1, misses: 0 });
  });

  it('bounds prefetches in flight and drops ranges larger than the cache', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 4096, prefetchesInFlightMax: 2,
      ...oneGetPerRange });
    expect(cache.prefetch(objectKey, 0, 100)).toBe(true);
    expect(cache.prefetch(objectKey, 100, 200)).toBe(true);
    expect(cache.prefetch(objectKey, 200, 300)).toBe(false);
    expect(cache.prefetch(objectKey, 0, 100)).toBe(false); // in flight: skipped, not dropped
    expect(cache.stats()).toMatchObject({
      prefetchesInFlight: 2,
      prefetchesDropped: 1,
      prefetchesSkipped: 1,
    });
    await cache.whenIdle();
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 0, entries: 2 });
    expect(cache.prefetch(objectKey, 200, 300)).toBe(true);
    expect(cache.prefetch(objectKey, 0, 5000)).toBe(false);
    expect(cache.stats().prefetchesDropped).toBe(2);
    await cache.whenIdle();
    expect(rangeGets()).toBe(3);
  });

  it('swallows and counts prefetch errors, and the range stays fetchable', async () => {
    store.failNext('getRange', 1);
    const cache = new ReadCache(store, { cacheBytesMax: 4096 });
    expect(cache.prefetch(objectKey, 0, 100)).toBe(true);
    await cache.whenIdle();
    expect(cache.stats()).toMatchObject({
      prefetchErrors: 1,
      storeErrors: 1,
      prefetchesInFlight: 0,
      entries: 0,
    });
    const bytes = await cache.get(objectKey, 0, 100);
    expect(bytes.equals(content.subarray(0, 100))).toBe(true);
    expect(cache.stats()).toMatchObject({ misses: 1, entries: 1 });
  });
});

describe('ReadCache read-ahead bounds', () => {
  it('bounds the bytes of prefetches in flight, and frees them as GETs settle', async () => {
    store.delay('getRange', 20).failNext('getRange', 1); // the first read-ahead fails
    const cache = new ReadCache(store, { cacheBytesMax: 4096, prefetchesInFlightMax: 10,
      prefetchBytesInFlightMax: 250, ...oneGetPerRange });
    expect(cache.prefetch(objectKey, 0, 100)).toBe(true);
    expect(cache.prefetch(objectKey, 100, 200)).toBe(true);
    // 200 + 100 > 250: dropped, though a GET slot is free; a smaller range still fits.
    expect(cache.prefetch(objectKey, 200, 300)).toBe(false);
    expect(cache.prefetch(objectKey, 300, 350)).toBe(true);
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 3, prefetchBytesInFlight: 250,
      prefetchesDropped: 1 });
    // The failed read-ahead frees its bytes too.
    await cache.whenIdle();
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 0, prefetchBytesInFlight: 0,
      prefetchErrors: 1, entries: 2 });
    expect(cache.prefetch(objectKey, 200, 300)).toBe(true);
    await cache.whenIdle();
    expect(rangeGets()).toBe(3); // the failed one never reached the store
  });

  it('defaults to the read-ahead bounds in storage/limits.ts', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024, ...oneGetPerRange });
    const started = Array.from({ length: readCacheLimits.prefetchesInFlightMax + 1 },
      (_, i) => cache.prefetch(objectKey, i * 10, i * 10 + 10));
    expect(started.filter(Boolean)).toHaveLength(readCacheLimits.prefetchesInFlightMax);
    expect(cache.stats().prefetchesDropped).toBe(1);
    await cache.whenIdle();
  });
});

describe('ReadCache read-ahead coalescing', () => {
  it('reads adjacent ranges of one object asked for in one turn with one GET', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024, prefetchGapBytesMax: 50 });
    // Out of order, as partitions' read-aheads arrive: the flush sorts them by position.
    expect(cache.prefetch(objectKey, 1000, 2000)).toBe(true);
    expect(cache.prefetch(objectKey, 0, 1000)).toBe(true);
    expect(cache.prefetch(objectKey, 2040, 3000)).toBe(true); // a gap of 40: same GET
    expect(cache.prefetch(objectKey, 3100, 4000)).toBe(true); // a gap of 100: a GET of its own
    expect(cache.prefetch(otherKey, 4000, 5000)).toBe(true); // another object: its own GET
    // A range that joins another's GET takes no GET slot of its own.
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 3, prefetchGets: 0 });
    await nextTurn();
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 3, prefetchGets: 3,
      prefetchBytesInFlight: 1000 + 1000 + 960 + 900 + 1000 });
    await cache.whenIdle();
    expect(rangeGets()).toBe(3);
    expect(cache.stats()).toMatchObject({ prefetchesStarted: 5, prefetchesInFlight: 0,
      prefetchBytesInFlight: 0, entries: 5 });
    // Each range is cached as its own entry with its own bytes: later gets are hits.
    for (const [key, start, end] of [[objectKey, 0, 1000], [objectKey, 1000, 2000],
      [objectKey, 2040, 3000], [objectKey, 3100, 4000], [otherKey, 4000, 5000]] as const) {
      const bytes = await cache.get(key, start, end);
      expect(bytes.equals(content.subarray(start, end))).toBe(true);
      expect(bytes.buffer.byteLength).toBe(end - start); // its own memory, not the GET's body
    }
    expect(cache.stats()).toMatchObject({ hits: 5, misses: 0 });
    expect(rangeGets()).toBe(3);
  });

  it('caps a coalesced GET at prefetchGetBytesMax', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024, prefetchGetBytesMax: 2500 });
    for (let i = 0; i < 5; i++) cache.prefetch(objectKey, i * 1000, i * 1000 + 1000);
    // A range larger than the cap is still read, with a GET of its own.
    cache.prefetch(objectKey, 10_000, 13_000);
    await cache.whenIdle();
    // [0, 2000) [2000, 4000) [4000, 5000) [10000, 13000)
    expect(cache.stats()).toMatchObject({ prefetchGets: 4, entries: 6 });
    expect(rangeGets()).toBe(4);
  });

  it('lets a range inside a gap its run already spans join that GET', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024, prefetchGapBytesMax: 50 });
    cache.prefetch(objectKey, 0, 100);
    cache.prefetch(objectKey, 140, 200); // a gap of 40: the GET reads [0, 200)
    cache.prefetch(objectKey, 110, 130); // inside that gap: no GET of its own
    expect(cache.stats().prefetchesInFlight).toBe(1);
    await cache.whenIdle();
    expect(rangeGets()).toBe(1);
    const bytes = await cache.get(objectKey, 110, 130);
    expect(bytes.equals(content.subarray(110, 130))).toBe(true);
    expect(cache.stats()).toMatchObject({ prefetchGets: 1, hits: 1, entries: 3 });
  });
});

describe('ReadCache read-ahead runs', () => {
  it('gives a range that extends a queued run no GET slot of its own', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024, prefetchesInFlightMax: 2,
      prefetchGapBytesMax: 50 });
    expect(cache.prefetch(objectKey, 200, 300)).toBe(true); // a GET slot
    expect(cache.prefetch(objectKey, 100, 200)).toBe(true); // extends that run downwards
    expect(cache.prefetch(objectKey, 300, 400)).toBe(true); // and upwards
    expect(cache.prefetch(otherKey, 0, 100)).toBe(true); // the second slot
    // Too far from any run: it needs a slot, and none is free.
    expect(cache.prefetch(objectKey, 1000, 1100)).toBe(false);
    expect(cache.prefetch(otherKey, 120, 200)).toBe(true); // a gap of 20: extends
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 2, prefetchesDropped: 1 });
    await cache.whenIdle();
    expect(rangeGets()).toBe(2);
    expect(cache.stats()).toMatchObject({ prefetchGets: 2, prefetchesInFlight: 0, entries: 5 });
    const bytes = await cache.get(otherKey, 120, 200);
    expect(bytes.equals(content.subarray(120, 200))).toBe(true);
  });

  it('merges runs that grew to meet, and frees the slot at once', async () => {
    store.delay('getRange', 20);
    const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024, prefetchesInFlightMax: 2,
      prefetchGapBytesMax: 0 });
    expect(cache.prefetch(objectKey, 0, 100)).toBe(true);
    expect(cache.prefetch(objectKey, 200, 300)).toBe(true); // a gap of 100: its own run
    expect(cache.prefetch(objectKey, 100, 200)).toBe(true); // fills the gap, joins the first
    expect(cache.stats().prefetchesInFlight).toBe(2);
    await nextTurn();
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 1, prefetchGets: 1 });
    await cache.whenIdle();
    expect(rangeGets()).toBe(1);
    expect(cache.stats()).toMatchObject({ prefetchesInFlight: 0, entries: 3 });
  });

  it('lets a get in the same turn join a queued read-ahead', async () => {
    const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024 });
    cache.prefetch(objectKey, 0, 100);
    cache.prefetch(objectKey, 100, 200);
    const bytes = await cache.get(objectKey, 100, 200);
    expect(bytes.equals(content.subarray(100, 200))).toBe(true);
    expect(rangeGets()).toBe(1);
    expect(cache.stats()).toMatchObject({ joins: 1, misses: 0 });
  });

  it('fails every range of a failed coalesced GET, caches none, and frees their bounds',
    async () => {
      store.failNext('getRange', 1);
      const cache = new ReadCache(store, { cacheBytesMax: 64 * 1024 });
      cache.prefetch(objectKey, 0, 100);
      cache.prefetch(objectKey, 100, 200);
      cache.prefetch(objectKey, 200, 300);
      await cache.whenIdle();
      expect(cache.stats()).toMatchObject({ prefetchGets: 1, prefetchErrors: 3, storeErrors: 3,
        prefetchesInFlight: 0, prefetchBytesInFlight: 0, entries: 0, inFlight: 0 });
      // Nothing is poisoned: a get reads the range again.
      const bytes = await cache.get(objectKey, 100, 200);
      expect(bytes.equals(content.subarray(100, 200))).toBe(true);
      expect(cache.stats()).toMatchObject({ misses: 1, entries: 1 });
    });
});
