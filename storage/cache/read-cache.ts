/**
 * A bounded LRU cache of object byte ranges, for Fetches of offsets no longer in the WAL.
 *
 * - `get` serves a range from memory, or with exactly one ranged GET: concurrent misses for the
 *   same range share one request (single flight), so N consumers catching up on one partition
 *   cost one GET, not N.
 * - Cached bytes never exceed `cacheBytesMax`; the least recently used ranges are evicted first.
 *   A range larger than the whole cache is returned to its callers but not cached.
 * - A failed GET is never cached: its callers all see the error, the next `get` tries again.
 * - `prefetch` starts a read-ahead and returns at once; its errors are counted, not thrown.
 *   At most `prefetchesInFlightMax` read-ahead GETs run at a time, holding at most
 *   `prefetchBytesInFlightMax` bytes (more are dropped, not queued: a queued read-ahead is usually
 *   stale by the time it would run). Memory is thus bounded by cacheBytesMax plus the in-flight
 *   bounds, however many consumers read ahead.
 * - Read-aheads asked for in the same turn of the event loop are coalesced: ranges of one object
 *   that are adjacent (or nearly: `prefetchGapBytesMax`) become one GET of up to
 *   `prefetchGetBytesMax`, sent at the end of the turn and split into its ranges when it lands.
 *   A range that extends a queued run rides on that run's GET and takes no GET slot. A Fetch over
 *   many partitions starts every partition's read-ahead at once, and their pieces of one segment
 *   object sit side by side (format.ts orders them by partition), so a catch-up pays about one GET
 *   per object instead of one per partition per object. Demand `get`s are not delayed: they start
 *   their GET at once, or join the read-ahead already queued or in flight for their range.
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
  /** Largest gap between two read-ahead ranges one GET may span (its bytes are read, unused). */
  prefetchGapBytesMax?: number;
  /** Largest read-ahead GET coalesced from several ranges. */
  prefetchGetBytesMax?: number;
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
  /** GETs the prefetches made: fewer than prefetchesStarted when ranges were coalesced. */
  prefetchGets: number;
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

/** A read-ahead range waiting for the end of the turn, when its object's ranges are coalesced. */
interface QueuedRange {
  start: number;
  endExclusive: number;
  /** Read-ahead GETs this range counts for in prefetchesInFlight: 1 for the first of a run. */
  getShare: 0 | 1;
  resolve: (bytes: Buffer) => void;
  reject: (error: unknown) => void;
}

/** Read-ahead ranges of one object that one GET will read: [start, endExclusive) covers them. */
interface QueuedRun {
  start: number;
  endExclusive: number;
  ranges: QueuedRange[];
}

export const readCacheDefaults = Object.freeze({
  prefetchesInFlightMax: readCacheLimits.prefetchesInFlightMax,
  prefetchBytesInFlightMax: readCacheLimits.prefetchBytesInFlightMax,
  prefetchGapBytesMax: readCacheLimits.prefetchGapBytesMax,
  prefetchGetBytesMax: readCacheLimits.prefetchGetBytesMax,
});

export class ReadCache {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  /** Cache ids of each object's entries, so evictObject need not scan. */
  private readonly idsByObject = new Map<string, Set<string>>();
  private readonly inFlight = new Map<string, Promise<Buffer>>();
  /** Read-aheads of this turn by object, as the runs each GET will read; see flushPrefetches. */
  private readonly queued = new Map<string, QueuedRun[]>();
  private flushScheduled = false;
  private readonly cacheBytesMax: number;
  private readonly prefetchesInFlightMax: number;
  private readonly prefetchBytesInFlightMax: number;
  private readonly prefetchGapBytesMax: number;
  private readonly prefetchGetBytesMax: number;
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
    prefetchGets: 0,
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
    this.prefetchGapBytesMax = options.prefetchGapBytesMax ?? readCacheDefaults.prefetchGapBytesMax;
    this.prefetchGetBytesMax = options.prefetchGetBytesMax ?? readCacheDefaults.prefetchGetBytesMax;
    assert.ok(Number.isSafeInteger(this.prefetchGapBytesMax) && this.prefetchGapBytesMax >= 0,
      'prefetchGapBytesMax');
    assert.ok(Number.isSafeInteger(this.prefetchGetBytesMax) && this.prefetchGetBytesMax > 0,
      'prefetchGetBytesMax');
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
    return this.track(key, start, endExclusive, id, false,
      Promise.resolve().then(() => this.store.getRange(key, start, endExclusive)));
  }

  /**
   * Starts reading a range into the cache and returns at once: true if it was queued for a
   * read-ahead GET (sent at the end of the turn, possibly with its neighbours), false if it was
   * cached, in flight already, or dropped. Never throws for store errors (they are counted);
   * asserts on invalid ranges like `get`.
   */
  prefetch(key: string, start: number, endExclusive: number): boolean {
    assertValidRange(start, endExclusive);
    const id = cacheIdOf(key, start, endExclusive);
    if (this.entries.has(id) || this.inFlight.has(id)) {
      this.counts.prefetchesSkipped += 1;
      return false;
    }
    const sizeBytes = endExclusive - start;
    let runs = this.queued.get(key);
    // A range that extends a queued run of its object rides on that run's GET: no slot of its own.
    const run = runs?.find((r) => this.canExtend(r, start, endExclusive));
    if (sizeBytes > this.cacheBytesMax ||
      (run === undefined && this.prefetchesInFlight >= this.prefetchesInFlightMax) ||
      this.prefetchBytesInFlight + sizeBytes > this.prefetchBytesInFlightMax) {
      this.counts.prefetchesDropped += 1;
      return false;
    }
    this.counts.prefetchesStarted += 1;
    this.prefetchBytesInFlight += sizeBytes;
    let queued!: QueuedRange;
    const bytes = new Promise<Buffer>((resolve, reject) => {
      queued = { start, endExclusive, getShare: run === undefined ? 1 : 0, resolve, reject };
    });
    if (run !== undefined) {
      run.ranges.push(queued);
      run.start = Math.min(run.start, start);
      run.endExclusive = Math.max(run.endExclusive, endExclusive);
    } else {
      this.prefetchesInFlight += 1;
      if (runs === undefined) {
        runs = [];
        this.queued.set(key, runs);
      }
      runs.push({ start, endExclusive, ranges: [queued] });
    }
    assert.ok(this.prefetchesInFlight <= this.prefetchesInFlightMax);
    assert.ok(this.prefetchBytesInFlight <= this.prefetchBytesInFlightMax);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushPrefetches());
    }
    // Registered in flight now, so a get in this same turn joins it. The failure is counted
    // inside track; the catch only keeps the rejection from going unhandled.
    this.track(key, start, endExclusive, id, true, bytes, () => queued.getShare)
      .catch(() => undefined);
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
   * Registers a range's read for single flight and caches what it returns. Both outcomes are
   * handled in `.then` callbacks, which always run after `inFlight.set` below, even if the read
   * has already failed, so a failed read can never be left registered (which would poison the
   * range). `getShare` says how many read-ahead GETs the range counts for when it settles.
   */
  private track(
    key: string,
    start: number,
    endExclusive: number,
    id: string,
    isPrefetch: boolean,
    read: Promise<Buffer>,
    getShare: () => number = () => 1,
  ): Promise<Buffer> {
    assert.ok(!this.inFlight.has(id) && !this.entries.has(id), 'single flight');
    const request: Promise<Buffer> = read.then(
      (bytes) => {
        assert.equal(bytes.length, endExclusive - start, 'a read returns its whole range');
        this.fetchSettled(id, request, isPrefetch, endExclusive - start, getShare());
        return this.insert(key, id, bytes);
      },
      (error: unknown) => {
        this.fetchSettled(id, request, isPrefetch, endExclusive - start, getShare());
        this.counts.storeErrors += 1;
        if (isPrefetch) this.counts.prefetchErrors += 1;
        throw error;
      },
    );
    this.inFlight.set(id, request);
    return request;
  }

  private fetchSettled(id: string, request: Promise<Buffer>, isPrefetch: boolean,
    sizeBytes: number, getShare: number): void {
    assert.equal(this.inFlight.get(id), request, 'only this request is in flight for the range');
    this.inFlight.delete(id);
    if (isPrefetch) {
      this.prefetchesInFlight -= getShare;
      this.prefetchBytesInFlight -= sizeBytes;
    }
    assert.ok(this.prefetchesInFlight >= 0 && this.prefetchBytesInFlight >= 0);
  }

  /**
   * Whether [start, endExclusive) may join `run`'s GET: at most prefetchGapBytesMax from the
   * bytes the run reads (0 inside them: a range in a gap the run already spans costs nothing),
   * and the GET stays within the cap.
   */
  private canExtend(run: QueuedRun, start: number, endExclusive: number): boolean {
    const gapBytes = Math.max(0, start - run.endExclusive, run.start - endExclusive);
    const spanBytes = Math.max(run.endExclusive, endExclusive) - Math.min(run.start, start);
    return gapBytes <= this.prefetchGapBytesMax && spanBytes <= this.prefetchGetBytesMax;
  }

  /**
   * Sends this turn's read-aheads, one GET per run. Runs of one object that have grown to meet
   * (ranges filling the space between them) are merged first when the merge fits the cap, which
   * frees a GET slot each.
   */
  private flushPrefetches(): void {
    this.flushScheduled = false;
    const byObject = [...this.queued];
    this.queued.clear();
    for (const [key, runs] of byObject) {
      runs.sort((a, b) => a.start - b.start);
      let current = runs[0]!;
      for (const next of runs.slice(1)) {
        if (this.canExtend(current, next.start, next.endExclusive)) {
          next.ranges[0]!.getShare = 0;
          this.prefetchesInFlight -= 1;
          current.ranges.push(...next.ranges);
          current.endExclusive = Math.max(current.endExclusive, next.endExclusive);
        } else {
          this.sendPrefetchRun(key, current);
          current = next;
        }
      }
      this.sendPrefetchRun(key, current);
    }
    assert.ok(this.prefetchesInFlight >= 0);
  }

  /** One GET for a run of ranges of one object, each resolved with its own bytes. */
  private sendPrefetchRun(key: string, run: QueuedRun): void {
    const ranges = run.ranges.sort((a, b) => a.start - b.start);
    assert.ok(ranges.length > 0 && ranges[0]!.start === run.start);
    assert.equal(ranges.filter((r) => r.getShare === 1).length, 1, 'a run is one GET');
    for (let i = 1; i < ranges.length; i++) {
      assert.ok(ranges[i]!.start >= ranges[i - 1]!.endExclusive,
        'entries of an object do not overlap');
    }
    const { start, endExclusive } = run;
    this.counts.prefetchGets += 1;
    Promise.resolve()
      .then(() => this.store.getRange(key, start, endExclusive))
      .then((bytes) => {
        // A view of the GET's body: insert() copies what it caches into memory of its own.
        for (const r of ranges) r.resolve(bytes.subarray(r.start - start, r.endExclusive - start));
      }, (error: unknown) => {
        for (const r of ranges) r.reject(error);
      });
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
