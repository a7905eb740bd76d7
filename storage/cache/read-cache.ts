/**
 * A bounded LRU cache of object byte ranges, for Fetches of offsets no longer in the WAL.
 *
 * - `get` serves a range from memory, or with exactly one ranged GET: concurrent misses for the
 *   same range share one request (single flight), so N consumers catching up on one partition
 *   cost one GET, not N.
 * - Cached bytes never exceed `cacheBytesMax`; the least recently used ranges are evicted first.
 *   A range larger than the whole cache is returned to its callers but not cached.
 * - A failed GET is never cached: its callers all see the error, the next `get` tries again.
 * - `prefetch` starts a read-ahead GET and returns at once; its errors are counted, not thrown.
 *   At most `prefetchesInFlightMax` run at a time, holding at most `prefetchBytesInFlightMax`
 *   bytes (more are dropped, not queued: a queued read-ahead is usually stale by the time it
 *   would run). Memory is thus bounded by cacheBytesMax plus the in-flight bounds, however many
 *   consumers read ahead.
 *
 * Whole ranges, not blocks: callers always ask for whole segment entries (one partition's range
 * in one object, as the metadata index records it), so two reads of the same data ask for the
 * same [start, end) and hit the same cache key. Fixed-size blocks would only pay off for partial,
 * overlapping reads, and would cost one GET per block or a coalescing layer. An entry is bounded
 * by one upload's size, and the rare one larger than the cache simply bypasses it.
 *
 * Returned Buffers are shared by every caller of the same range and by the cache: read-only.
 * Objects are immutable and keys are never reused (see segment/naming.ts), so an entry can never
 * be stale; `evictObject` only frees memory early when retention deletes an object.
 */
import assert from 'node:assert/strict';
import { readCacheLimits } from '../limits.js';
import { assertValidRange } from '../object-store/keys.js';
import type { ObjectStore } from '../object-store/object-store.js';

export interface ReadCacheOptions {
  /** Bound on cached range bytes (not counting in-flight reads). 0 keeps only single flight. */
  cacheBytesMax: number;
  /** Read-ahead GETs running at once; further prefetches are dropped. Default in limits.ts. */
  prefetchesInFlightMax?: number;
  /** Bytes of the read-ahead GETs running at once; a prefetch past it is dropped. */
  prefetchBytesInFlightMax?: number;
  /** Called for each `get` served without a GET of its own (cached, or joining one in flight). */
  onHit?: (sizeBytes: number) => void;
  /** Called for each `get` that starts a GET: misses_total counts the demand GETs. */
  onMiss?: (sizeBytes: number) => void;
}

export interface ReadCacheStats {
  /** `get`s served from memory. */
  hits: number;
  /** `get`s that joined a GET already in flight (another get's or a prefetch's). */
  joins: number;
  /** `get`s that started a GET. */
  misses: number;
  /** GETs that failed, prefetches included. */
  storeErrors: number;
  /** Entries evicted to make room (evictObject removals not included). */
  evictions: number;
  /** Ranges fetched but not cached because they exceed cacheBytesMax. */
  uncacheable: number;
  prefetchesStarted: number;
  /** Prefetches that found the range cached or already in flight. */
  prefetchesSkipped: number;
  /** Prefetches refused: too many GETs or bytes in flight, or larger than the cache. */
  prefetchesDropped: number;
  prefetchErrors: number;
  entries: number;
  cachedBytes: number;
  inFlight: number;
  prefetchesInFlight: number;
  prefetchBytesInFlight: number;
}

type Counters = Omit<ReadCacheStats,
  'entries' | 'cachedBytes' | 'inFlight' | 'prefetchesInFlight' | 'prefetchBytesInFlight'>;

interface Entry {
  objectKey: string;
  bytes: Buffer;
}

export const readCacheDefaults = Object.freeze({
  prefetchesInFlightMax: readCacheLimits.prefetchesInFlightMax,
  prefetchBytesInFlightMax: readCacheLimits.prefetchBytesInFlightMax,
});

export class ReadCache {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  /** Cache ids of each object's entries, so evictObject need not scan. */
  private readonly idsByObject = new Map<string, Set<string>>();
  private readonly inFlight = new Map<string, Promise<Buffer>>();
  private readonly cacheBytesMax: number;
  private readonly prefetchesInFlightMax: number;
  private readonly prefetchBytesInFlightMax: number;
  private cachedBytes = 0;
  private prefetchesInFlight = 0;
  private prefetchBytesInFlight = 0;
  private readonly counts: Counters = {
    hits: 0,
    joins: 0,
    misses: 0,
    storeErrors: 0,
    evictions: 0,
    uncacheable: 0,
    prefetchesStarted: 0,
    prefetchesSkipped: 0,
    prefetchesDropped: 0,
    prefetchErrors: 0,
  };

  constructor(
    private readonly store: ObjectStore,
    private readonly options: ReadCacheOptions,
  ) {
    this.cacheBytesMax = options.cacheBytesMax;
    this.prefetchesInFlightMax =
      options.prefetchesInFlightMax ?? readCacheDefaults.prefetchesInFlightMax;
    this.prefetchBytesInFlightMax =
      options.prefetchBytesInFlightMax ?? readCacheDefaults.prefetchBytesInFlightMax;
    assert.ok(Number.isSafeInteger(this.cacheBytesMax) && this.cacheBytesMax >= 0, 'cacheBytesMax');
    assert.ok(
      Number.isSafeInteger(this.prefetchesInFlightMax) && this.prefetchesInFlightMax >= 0,
      'prefetchesInFlightMax',
    );
    assert.ok(
      Number.isSafeInteger(this.prefetchBytesInFlightMax) && this.prefetchBytesInFlightMax >= 0,
      'prefetchBytesInFlightMax',
    );
  }

  /** Bytes [start, endExclusive) of object `key`; throws what the store throws. */
  async get(key: string, start: number, endExclusive: number): Promise<Buffer> {
    assertValidRange(start, endExclusive);
    const id = cacheIdOf(key, start, endExclusive);
    const sizeBytes = endExclusive - start;
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      // Re-inserting moves the entry to the most recently used end.
      this.entries.delete(id);
      this.entries.set(id, entry);
      this.counts.hits += 1;
      this.options.onHit?.(sizeBytes);
      return entry.bytes;
    }
    const pending = this.inFlight.get(id);
    if (pending !== undefined) {
      this.counts.joins += 1;
      this.options.onHit?.(sizeBytes);
      return pending;
    }
    this.counts.misses += 1;
    this.options.onMiss?.(sizeBytes);
    return this.fetch(key, start, endExclusive, id, false);
  }

  /**
   * Starts reading a range into the cache and returns at once: true if a GET was started. Never
   * throws for store errors (they are counted); asserts on invalid ranges like `get`.
   */
  prefetch(key: string, start: number, endExclusive: number): boolean {
    assertValidRange(start, endExclusive);
    const id = cacheIdOf(key, start, endExclusive);
    if (this.entries.has(id) || this.inFlight.has(id)) {
      this.counts.prefetchesSkipped += 1;
      return false;
    }
    const sizeBytes = endExclusive - start;
    const tooLarge = sizeBytes > this.cacheBytesMax;
    if (tooLarge || this.prefetchesInFlight >= this.prefetchesInFlightMax ||
      this.prefetchBytesInFlight + sizeBytes > this.prefetchBytesInFlightMax) {
      this.counts.prefetchesDropped += 1;
      return false;
    }
    this.counts.prefetchesStarted += 1;
    this.prefetchesInFlight += 1;
    this.prefetchBytesInFlight += sizeBytes;
    assert.ok(this.prefetchesInFlight <= this.prefetchesInFlightMax);
    assert.ok(this.prefetchBytesInFlight <= this.prefetchBytesInFlightMax);
    // The failure is counted inside fetch; this only keeps the rejection from going unhandled.
    this.fetch(key, start, endExclusive, id, true).catch(() => undefined);
    return true;
  }

  /**
   * Drops every cached range of `key` (its object was deleted); returns how many were dropped.
   * A GET of the object still in flight may cache its range afterwards: harmless (the bytes are
   * what the object held), and LRU ages it out, so no tombstones are kept.
   */
  evictObject(key: string): number {
    const ids = this.idsByObject.get(key);
    if (ids === undefined) return 0;
    const count = ids.size;
    for (const id of [...ids]) this.remove(id);
    assert.ok(!this.idsByObject.has(key));
    return count;
  }

  /** Resolves once no GET is in flight (tests, shutdown). Never rejects. */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  stats(): ReadCacheStats {
    return {
      ...this.counts,
      entries: this.entries.size,
      cachedBytes: this.cachedBytes,
      inFlight: this.inFlight.size,
      prefetchesInFlight: this.prefetchesInFlight,
      prefetchBytesInFlight: this.prefetchBytesInFlight,
    };
  }

  /**
   * One GET, registered for single flight before it starts. Both outcomes are handled in `.then`
   * callbacks, which always run after `inFlight.set` below, even if the store throws at once, so a
   * failed request can never be left registered (which would poison the range).
   */
  private fetch(
    key: string,
    start: number,
    endExclusive: number,
    id: string,
    isPrefetch: boolean,
  ): Promise<Buffer> {
    assert.ok(!this.inFlight.has(id) && !this.entries.has(id), 'single flight');
    const request: Promise<Buffer> = Promise.resolve()
      .then(() => this.store.getRange(key, start, endExclusive))
      .then(
        (bytes) => {
          this.fetchSettled(id, request, isPrefetch, endExclusive - start);
          return this.insert(key, id, bytes);
        },
        (error: unknown) => {
          this.fetchSettled(id, request, isPrefetch, endExclusive - start);
          this.counts.storeErrors += 1;
          if (isPrefetch) this.counts.prefetchErrors += 1;
          throw error;
        },
      );
    this.inFlight.set(id, request);
    return request;
  }

  private fetchSettled(id: string, request: Promise<Buffer>, isPrefetch: boolean,
    sizeBytes: number): void {
    assert.equal(this.inFlight.get(id), request, 'only this request is in flight for the range');
    this.inFlight.delete(id);
    if (isPrefetch) {
      this.prefetchesInFlight -= 1;
      this.prefetchBytesInFlight -= sizeBytes;
    }
    assert.ok(this.prefetchesInFlight >= 0 && this.prefetchBytesInFlight >= 0);
  }

  /** Caches a fetched range if it fits; returns the Buffer every caller of the range gets. */
  private insert(objectKey: string, id: string, fetched: Buffer): Buffer {
    assert.ok(!this.entries.has(id), 'single flight: one insert per range');
    if (fetched.length > this.cacheBytesMax) {
      this.counts.uncacheable += 1;
      return fetched;
    }
    const bytes = ownBytes(fetched);
    while (this.cachedBytes + bytes.length > this.cacheBytesMax) {
      const oldest = this.entries.keys().next();
      assert.ok(oldest.done !== true, 'an empty cache has room for a range that fits');
      this.remove(oldest.value);
      this.counts.evictions += 1;
    }
    this.entries.set(id, { objectKey, bytes });
    let ids = this.idsByObject.get(objectKey);
    if (ids === undefined) {
      ids = new Set();
      this.idsByObject.set(objectKey, ids);
    }
    ids.add(id);
    this.cachedBytes += bytes.length;
    assert.ok(this.cachedBytes <= this.cacheBytesMax);
    return bytes;
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    assert.ok(entry !== undefined, `entry ${id} is cached`);
    this.entries.delete(id);
    this.cachedBytes -= entry.bytes.length;
    const ids = this.idsByObject.get(entry.objectKey);
    assert.ok(ids !== undefined && ids.delete(id), 'object index matches entries');
    if (ids.size === 0) this.idsByObject.delete(entry.objectKey);
    assert.ok(this.cachedBytes >= 0);
  }
}

/** Keys cannot contain ':' (keys.ts), so the id is unambiguous. */
function cacheIdOf(key: string, start: number, endExclusive: number): string {
  return `${key}:${start}:${endExclusive}`;
}

/**
 * A Buffer may be a view into a larger ArrayBuffer (Node's 8 KiB pool for small allocations, or
 * a whole HTTP response). Caching the view would pin the larger memory while cachedBytes counts
 * only the view, so such ranges are copied into memory of their own (allocUnsafeSlow: unpooled).
 */
function ownBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const owned = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(owned);
  return owned;
}
