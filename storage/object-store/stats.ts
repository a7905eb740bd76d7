/**
 * Request counters shared by the engines, so every engine counts the same things the same way.
 */
import assert from 'node:assert/strict';
import { ObjectStoreError, type ObjectStoreOp, type ObjectStoreStats } from './object-store.js';

export function emptyStats(): ObjectStoreStats {
  return {
    puts: 0,
    gets: 0,
    rangeGets: 0,
    heads: 0,
    lists: 0,
    deletes: 0,
    bytesIn: 0,
    bytesOut: 0,
    errors: 0,
    retries: 0,
  };
}

/** Turns whatever an engine caught into an ObjectStoreError. */
export type ErrorMapper = (op: ObjectStoreOp, key: string, error: unknown) => ObjectStoreError;

export class StatsRecorder {
  private readonly counts = emptyStats();

  /** Counts one call of `op` before it runs, so a call that throws is still counted. */
  request(op: ObjectStoreOp, keyCount = 1): void {
    assert.ok(Number.isSafeInteger(keyCount) && keyCount >= 0);
    switch (op) {
      case 'put':
      case 'putIfAbsent':
        this.counts.puts += 1;
        return;
      case 'get':
        this.counts.gets += 1;
        return;
      case 'getRange':
        this.counts.rangeGets += 1;
        return;
      case 'head':
        this.counts.heads += 1;
        return;
      case 'list':
        this.counts.lists += 1;
        return;
      case 'delete':
      case 'deleteMany':
        this.counts.deletes += keyCount;
        return;
    }
  }

  bytesIn(sizeBytes: number): void {
    assert.ok(sizeBytes >= 0);
    this.counts.bytesIn += sizeBytes;
  }

  bytesOut(sizeBytes: number): void {
    assert.ok(sizeBytes >= 0);
    this.counts.bytesOut += sizeBytes;
  }

  retries(extraAttempts: number): void {
    assert.ok(Number.isSafeInteger(extraAttempts) && extraAttempts >= 0);
    this.counts.retries += extraAttempts;
  }

  /** Counts an injected failure (faulty.ts) that never reached an engine. */
  error(): void {
    this.counts.errors += 1;
  }

  /**
   * Runs one engine call, mapping anything it throws to ObjectStoreError and counting it once.
   * Named `guard` rather than wrapping each engine method in try/catch by hand.
   */
  async guard<T>(
    op: ObjectStoreOp,
    key: string,
    map: ErrorMapper,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.counts.errors += 1;
      throw error instanceof ObjectStoreError ? error : map(op, key, error);
    }
  }

  snapshot(): ObjectStoreStats {
    return { ...this.counts };
  }
}
