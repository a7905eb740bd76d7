/**
 * A fault-injecting wrapper for tests (TigerBeetle's testing/storage, kfake's memFS): wraps any
 * ObjectStore and, on request, fails, delays, or "loses the response of" the next calls.
 *
 * The crash window it exists for: a broker uploads a segment, then dies before it records the
 * segment in metadata. `crashAfterUpload` makes a put write the object and then throw, so the
 * caller sees a failure while the store holds the bytes: recovery must cope with the orphan.
 *
 * Faults are consumed in call order, per method. Nothing here is random: a test decides every
 * fault, so a failing run replays identically.
 */
import assert from 'node:assert/strict';
import {
  ObjectStoreError,
  type ListOptions,
  type ObjectHead,
  type ObjectMeta,
  type ObjectStore,
  type ObjectBody,
  type ObjectStoreErrorCode,
  type ObjectStoreOp,
  type ObjectStoreStats,
} from './object-store.js';

/** Bounds a test's fault plans so a typo (1e9) fails loudly instead of hanging. */
export const faultyLimits = {
  callsPerFaultMax: 10_000,
  delayMsMax: 60_000,
} as const;

interface FaultState {
  /** Calls still to fail before reaching the inner store. */
  failCalls: number;
  failCode: ObjectStoreErrorCode;
  delayMs: number;
}

export interface InjectedCounts {
  failed: number;
  delayed: number;
  crashedAfterUpload: number;
}

export class FaultyObjectStore implements ObjectStore {
  readonly engine: string;
  private readonly faults = new Map<ObjectStoreOp, FaultState>();
  private crashAfterUploadCalls = 0;
  private readonly counts: InjectedCounts = { failed: 0, delayed: 0, crashedAfterUpload: 0 };

  constructor(readonly inner: ObjectStore) {
    this.engine = `faulty(${inner.engine})`;
  }

  /** The next `calls` calls of `op` throw ObjectStoreError(code) without reaching the store. */
  failNext(op: ObjectStoreOp, calls: number, code: ObjectStoreErrorCode = 'Unavailable'): this {
    assertCallCount(calls);
    const state = this.faultFor(op);
    state.failCalls = calls;
    state.failCode = code;
    return this;
  }

  /** Every later call of `op` waits `delayMs` before running (0 turns the delay off). */
  delay(op: ObjectStoreOp, delayMs: number): this {
    assert.ok(Number.isSafeInteger(delayMs) && delayMs >= 0 && delayMs <= faultyLimits.delayMsMax);
    this.faultFor(op).delayMs = delayMs;
    return this;
  }

  /**
   * The next `calls` put / putIfAbsent calls write the object, then throw Unavailable as if the
   * process died (or the response was lost) after the upload and before the caller could commit.
   */
  crashAfterUpload(calls: number): this {
    assertCallCount(calls);
    this.crashAfterUploadCalls = calls;
    return this;
  }

  /** Clears every planned fault; counts of injected faults are kept. */
  heal(): this {
    this.faults.clear();
    this.crashAfterUploadCalls = 0;
    return this;
  }

  injected(): InjectedCounts {
    return { ...this.counts };
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    await this.before('put', key);
    await this.inner.put(key, body);
    this.afterUpload('put', key);
  }

  async putIfAbsent(key: string, body: ObjectBody): Promise<boolean> {
    await this.before('putIfAbsent', key);
    const created = await this.inner.putIfAbsent(key, body);
    this.afterUpload('putIfAbsent', key);
    return created;
  }

  async get(key: string): Promise<Buffer | null> {
    await this.before('get', key);
    return this.inner.get(key);
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Buffer> {
    await this.before('getRange', key);
    return this.inner.getRange(key, start, endExclusive);
  }

  async head(key: string): Promise<ObjectHead | null> {
    await this.before('head', key);
    return this.inner.head(key);
  }

  /** Faults apply once per listing (when it starts), not per page. */
  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    await this.before('list', prefix);
    yield* this.inner.list(prefix, options);
  }

  async delete(key: string): Promise<void> {
    await this.before('delete', key);
    await this.inner.delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    await this.before('deleteMany', keys[0] ?? '');
    await this.inner.deleteMany(keys);
  }

  /** The inner store's counters, with injected failures added to `errors`. */
  stats(): ObjectStoreStats {
    const stats = this.inner.stats();
    return { ...stats, errors: stats.errors + this.counts.failed + this.counts.crashedAfterUpload };
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  private faultFor(op: ObjectStoreOp): FaultState {
    let state = this.faults.get(op);
    if (state === undefined) {
      state = { failCalls: 0, failCode: 'Unavailable', delayMs: 0 };
      this.faults.set(op, state);
    }
    return state;
  }

  private async before(op: ObjectStoreOp, key: string): Promise<void> {
    const state = this.faults.get(op);
    if (state === undefined) return;
    if (state.delayMs > 0) {
      this.counts.delayed += 1;
      await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    }
    if (state.failCalls > 0) {
      state.failCalls -= 1;
      this.counts.failed += 1;
      throw new ObjectStoreError(state.failCode, op, key, 'injected by FaultyObjectStore');
    }
  }

  private afterUpload(op: ObjectStoreOp, key: string): void {
    if (this.crashAfterUploadCalls === 0) return;
    this.crashAfterUploadCalls -= 1;
    this.counts.crashedAfterUpload += 1;
    throw new ObjectStoreError(
      'Unavailable',
      op,
      key,
      'injected crash after upload, before commit',
    );
  }
}

function assertCallCount(calls: number): void {
  assert.ok(
    Number.isSafeInteger(calls) && calls >= 0 && calls <= faultyLimits.callsPerFaultMax,
    `fault call count ${calls} must be 0..${faultyLimits.callsPerFaultMax}`,
  );
}
