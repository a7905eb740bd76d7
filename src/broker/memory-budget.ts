/**
 * The broker-wide budget for bytes held on behalf of clients. Per-connection caps (in-flight
 * requests, unsent bytes) stop one client; this stops many together. It has two pools of the same
 * size, so that clients that do not read their answers cannot stop the ones that send:
 *
 * - requests (as Kafka's `queued.max.request.bytes`): a connection reserves a frame's whole size
 *   when it reads the frame's size prefix, and only if the frame fits; otherwise it stops reading
 *   until request bytes are released (when requests are answered).
 * - answers: data a fetch has read, and answers not yet handed to the kernel. Work already done
 *   cannot be refused, so answers are counted without admission; fetches shrink to the room left
 *   (to one batch when none is, Kafka's rule for making progress).
 *
 * Bytes read from a socket before their frame is admitted are "loose": counted, but outside the
 * admission check, or a crowd of waiting connections could hold all the room with the first read
 * of frames that then never fit. Each connection has at most one socket read (64 KiB) loose.
 *
 * The bound this gives, stated in the README: twice the budget, plus one socket read per
 * connection, plus one batch per fetch answered while the answers' pool is spent.
 */
import assert from 'node:assert/strict';

export class MemoryBudget {
  private requests = 0;
  private answers = 0;
  private loose = 0;
  /** Highest requests + answers + loose seen. */
  private peak = 0;
  /** Connections waiting for request room: each is called once, then forgotten. */
  private readonly waiters = new Set<() => void>();

  constructor(readonly limitBytes: number) {
    assert.ok(Number.isSafeInteger(limitBytes) && limitBytes > 0, 'memory budget must be positive');
  }

  get requestBytes(): number {
    return this.requests;
  }

  get answerBytes(): number {
    return this.answers;
  }

  get looseBytes(): number {
    return this.loose;
  }

  get peakBytes(): number {
    return this.peak;
  }

  /** Room left for fetched data and answers (0 when their pool is spent). */
  get answerRoomBytes(): number {
    return Math.max(0, this.limitBytes - this.answers);
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Reserves `bytes` for a request if they fit, or if no request holds any (so a request as large
   * as the whole budget can still be read alone).
   */
  tryReserveRequest(bytes: number): boolean {
    assertCount(bytes);
    if (this.requests + bytes > this.limitBytes && this.requests > 0) return false;
    this.requests += bytes;
    this.notePeak();
    return true;
  }

  releaseRequest(bytes: number): void {
    assertCount(bytes);
    assert.ok(bytes <= this.requests, `released ${bytes} request bytes of ${this.requests} held`);
    this.requests -= bytes;
    if (this.waiters.size > 0 && this.requests < this.limitBytes) this.wake();
  }

  /** Counts answer bytes without admission: work already done cannot be refused. */
  addAnswer(bytes: number): void {
    assertCount(bytes);
    this.answers += bytes;
    this.notePeak();
  }

  releaseAnswer(bytes: number): void {
    assertCount(bytes);
    assert.ok(bytes <= this.answers, `released ${bytes} answer bytes of ${this.answers} held`);
    this.answers -= bytes;
  }

  /** Counts bytes read but not admitted yet (positive) or no longer loose (negative). */
  addLoose(delta: number): void {
    assert.ok(Number.isSafeInteger(delta) && this.loose + delta >= 0, `bad loose change ${delta} of ${this.loose}`);
    this.loose += delta;
    this.notePeak();
  }

  /** Calls `wake` once when request bytes are released below the limit. */
  waitForRoom(wake: () => void): void {
    this.waiters.add(wake);
  }

  forget(wake: () => void): void {
    this.waiters.delete(wake);
  }

  private notePeak(): void {
    const held = this.requests + this.answers + this.loose;
    if (held > this.peak) this.peak = held;
  }

  private wake(): void {
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const w of woken) w();
  }
}

function assertCount(bytes: number): void {
  assert.ok(Number.isSafeInteger(bytes) && bytes >= 0, `bad byte count ${bytes}`);
}
