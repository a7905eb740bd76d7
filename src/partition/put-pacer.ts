/**
 * Spaces the uploader's PUTs: each starts at least `gapMs` after the one before, so a broker
 * makes at most 1000 / gapMs PUTs a second whatever the load. This is the group commit of uploads
 * by time: batches that arrive while a PUT waits its turn ride it, so more load makes objects
 * larger, not PUTs more frequent (object storage bills per request; the budget is 4 a
 * second with a local WAL, 10 in object-WAL mode). Its price in object-WAL mode is latency: a
 * produce under steady load waits up to gapMs for the next PUT, then the PUT and the commit.
 */
import assert from 'node:assert/strict';

export class PutPacer {
  /** When the last PUT started (monotonic ms); -Infinity before the first. */
  private lastStartMs = -Infinity;

  constructor(private readonly gapMs: number, private readonly nowMs: () => number) {
    assert.ok(Number.isFinite(gapMs) && gapMs >= 0, 'the gap between PUTs is a duration');
  }

  /** Milliseconds until the next PUT may start (0: now). */
  waitMs(): number {
    return Math.max(0, Math.ceil(this.lastStartMs + this.gapMs - this.nowMs()));
  }

  /** A PUT starts now. */
  started(): void {
    this.lastStartMs = this.nowMs();
  }
}

/** The gap between PUT starts that keeps a broker at `putsPerSecondMax`. */
export function putGapMs(putsPerSecondMax: number): number {
  assert.ok(Number.isInteger(putsPerSecondMax) && putsPerSecondMax >= 1,
    'at least one PUT a second');
  return Math.ceil(1000 / putsPerSecondMax);
}
