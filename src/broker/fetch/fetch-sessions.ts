/**
 * Incremental fetch sessions (KIP-227): the broker remembers what a fetcher asked for last time,
 * so each later Fetch names only the partitions whose position changed, and each answer carries
 * only the partitions with something new (records, a moved high watermark or log start, an
 * error). A consumer of a dozen partitions that gets one record at a time sends and receives one
 * partition instead of a dozen. This module is the cache of sessions and its eviction rules, as
 * Kafka's FetchSessionCache: pure state, no I/O; fetch-context.ts applies it to requests.
 *
 * Sessions live in this broker's memory only: after a restart, or on another broker, an
 * incremental Fetch gets FETCH_SESSION_ID_NOT_FOUND and the client starts a new session with a
 * full Fetch. Bounded by the number of sessions (max.incremental.fetch.session.cache.slots) and
 * by the partitions all sessions hold together (fetchSessionLimits).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { FetchRequestFetchPartition } from '../../../protocol/generated/messages/fetch.js';

/**
 * What the fetcher asked for one partition (the request's own fields, so the session's
 * partitions are read as they are, without a copy per Fetch), and what it was last told.
 */
export interface SessionPartition extends FetchRequestFetchPartition {
  /** The topic's id (requests v13+) or '' before; `topic` is '' when the id names it. */
  topicId: string;
  topic: string;
  /** Last told: -1 before the first answer and after an error, so the next answer includes it. */
  highWatermark: bigint;
  localLogStartOffset: bigint;
  /** The two above as they were before the last answer, to take it back if it is withheld. */
  highWatermarkBefore: bigint;
  localLogStartOffsetBefore: bigint;
}

export class FetchSession {
  /** The epoch the next incremental Fetch must carry (1 after the full Fetch that made it). */
  epoch = 1;
  lastUsedMs: number;
  /** The order partitions are read in: one answered with records moves to the back (KIP-227's
   *  fairness, as Kafka's IncrementalFetchContext). */
  private readonly order = new Set<SessionPartition>();
  /** The same partitions by topic (its id when the session uses ids, else its name). */
  private readonly byTopic = new Map<string, Map<number, SessionPartition>>();

  constructor(readonly id: number, readonly usesTopicIds: boolean, readonly createdMs: number) {
    this.lastUsedMs = createdMs;
  }

  get size(): number { return this.order.size; }

  /** The session's partitions, in read order. */
  partitions(): IterableIterator<SessionPartition> {
    return this.order.values();
  }

  /** The partition of the topic named `topicId` (or `topic`, by the session's kind). */
  find(topicId: string, topic: string, partition: number): SessionPartition | undefined {
    return this.byTopic.get(this.usesTopicIds ? topicId : topic)?.get(partition);
  }

  /** Adds `p` at the back, replacing a partition of the same topic and index. */
  add(p: SessionPartition): void {
    const key = this.usesTopicIds ? p.topicId : p.topic;
    let partitions = this.byTopic.get(key);
    if (partitions === undefined) {
      partitions = new Map();
      this.byTopic.set(key, partitions);
    }
    const replaced = partitions.get(p.partition);
    if (replaced !== undefined) this.order.delete(replaced);
    partitions.set(p.partition, p);
    this.order.add(p);
  }

  remove(topicId: string, topic: string, partition: number): void {
    const key = this.usesTopicIds ? topicId : topic;
    const partitions = this.byTopic.get(key);
    const p = partitions?.get(partition);
    if (p === undefined) return;
    partitions!.delete(partition);
    if (partitions!.size === 0) this.byTopic.delete(key);
    this.order.delete(p);
  }

  moveToBack(p: SessionPartition): void {
    if (this.order.delete(p)) this.order.add(p);
  }

  /** Puts the partitions back in `order`, which must hold exactly the session's partitions. */
  restoreOrder(order: readonly SessionPartition[]): void {
    assert.equal(order.length, this.order.size, 'the same partitions, reordered');
    this.order.clear();
    for (const p of order) this.order.add(p);
    assert.equal(order.length, this.order.size, 'no partition twice');
  }

  /** Kafka's nextEpoch: wraps to 1, never back to 0 (full) or -1 (final). */
  advanceEpoch(): void {
    this.epoch = this.epoch === 2 ** 31 - 1 ? 1 : this.epoch + 1;
  }
}

export interface FetchSessionCacheOptions {
  /** Sessions at most (Kafka's max.incremental.fetch.session.cache.slots); 0 turns sessions off. */
  slots: number;
  /** A session unused this long may be evicted by any new one (Kafka: 120 s). */
  evictionMs: number;
  /** Partitions all sessions together may hold. */
  partitionsMax: number;
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private partitionCount = 0;
  private evictionCount = 0;
  private incrementalCount = 0;

  constructor(private readonly options: FetchSessionCacheOptions) {
    assert.ok(Number.isSafeInteger(options.slots) && options.slots >= 0, 'slots');
    assert.ok(options.evictionMs > 0 && options.partitionsMax > 0, 'eviction and partition bounds');
  }

  /** For /metrics: sessions and partitions held; incremental fetches and evictions since start. */
  stats(): Record<string, number> {
    return { sessions: this.sessions.size, partitions: this.partitionCount,
      incremental_fetches: this.incrementalCount, evictions: this.evictionCount };
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  /**
   * A new session of `partitions` (in request order), or null when there is no room: every slot
   * is taken by a session that is neither stale nor smaller and older than the eviction time,
   * or its partitions would pass the cache's bound. The fetcher then keeps sending full Fetches.
   */
  create(nowMs: number, usesTopicIds: boolean, partitions: SessionPartition[]):
    FetchSession | null {
    if (this.options.slots === 0) return null;
    if (partitions.length > this.options.partitionsMax - this.partitionCount) return null;
    if (this.sessions.size >= this.options.slots && !this.tryEvict(nowMs, partitions.length)) {
      return null;
    }
    const session = new FetchSession(this.newId(), usesTopicIds, nowMs);
    for (const p of partitions) session.add(p);
    this.sessions.set(session.id, session);
    this.partitionCount += session.size;
    this.assertBounds();
    return session;
  }

  remove(id: number): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    this.sessions.delete(id);
    this.partitionCount -= session.size;
    this.assertBounds();
  }

  /** Records a session's use by an incremental Fetch and its change in size; false when it
   *  would pass the bound (the caller then drops it). */
  touch(session: FetchSession, nowMs: number, sizeBefore: number): boolean {
    assert.equal(this.sessions.get(session.id), session, 'touch of a session not cached');
    const grown = session.size - sizeBefore;
    if (grown > this.options.partitionsMax - this.partitionCount) return false;
    this.partitionCount += grown;
    this.incrementalCount++;
    session.lastUsedMs = nowMs;
    // Map order is least recently used first: re-inserting moves this one to the end.
    this.sessions.delete(session.id);
    this.sessions.set(session.id, session);
    this.assertBounds();
    return true;
  }

  /**
   * Kafka's rule: a new session evicts the least recently used one if that has been idle longer
   * than the eviction time; otherwise the smallest session created longer ago than that, if the
   * new one holds more partitions. No session is evicted by one the same size or smaller.
   */
  private tryEvict(nowMs: number, newSize: number): boolean {
    const oldest = this.sessions.values().next().value;
    if (oldest === undefined) return false;
    if (nowMs - oldest.lastUsedMs > this.options.evictionMs) return this.evict(oldest);
    let smallest: FetchSession | null = null;
    for (const s of this.sessions.values()) {
      if (nowMs - s.createdMs <= this.options.evictionMs) continue;
      if (smallest === null || s.size < smallest.size) smallest = s;
    }
    if (smallest === null || smallest.size >= newSize) return false;
    return this.evict(smallest);
  }

  private evict(session: FetchSession): true {
    this.remove(session.id);
    this.evictionCount++;
    return true;
  }

  /** Positive, unique on this broker; 0 means "no session" on the wire. */
  private newId(): number {
    for (;;) {
      const id = randomInt(1, 2 ** 31 - 1);
      if (!this.sessions.has(id)) return id;
    }
  }

  private assertBounds(): void {
    assert.ok(this.sessions.size <= this.options.slots, 'sessions within slots');
    assert.ok(this.partitionCount >= 0 && this.partitionCount <= this.options.partitionsMax,
      'session partitions within bound');
  }
}
