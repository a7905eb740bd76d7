/**
 * Segment object keys: `segments/<createdAtMs:020>-<nodeId:010>-<nonce: 8 hex>.seg`, e.g.
 * `segments/00000001767225600000-0000000003-9f86d081.seg`.
 *
 * - LIST order is creation order: keys are fixed width, so byte order is numeric order of the
 *   timestamp first. An orphan collector can stop listing at the first key newer than its cutoff.
 *   Across brokers the order is only as good as their clocks; within one broker the allocator
 *   below makes it strict.
 * - No collisions between brokers: the node id differs. The nonce covers the same node id
 *   restarting within one millisecond (or two processes misconfigured with one id); collisions
 *   are still possible in theory, so uploads use putIfAbsent and retry with a fresh key on false.
 * - One object holds many partitions, so the key names no topic or partition (the layout guide's
 *   `topics/<topicId>/<partition>/<baseOffset>.seg` is for single-partition objects).
 * - Every character is in keys.ts's [A-Za-z0-9._=+-], and the single `/` keeps one flat folder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

export const segmentKeyPrefix = 'segments/';
const keyPattern = /^segments\/(\d{20})-(\d{10})-([0-9a-f]{8})\.seg$/;
const nodeIdMax = 0x7fff_ffff; // Kafka broker ids are non-negative int32s: at most 10 digits

export interface SegmentKeyParts {
  createdAtMs: number;
  nodeId: number;
  /** 8 lowercase hex characters. */
  nonce: string;
}

export function formatSegmentKey(parts: SegmentKeyParts): string {
  const { createdAtMs, nodeId, nonce } = parts;
  assert.ok(Number.isSafeInteger(createdAtMs) && createdAtMs >= 0, `createdAtMs ${createdAtMs}`);
  assert.ok(Number.isInteger(nodeId) && nodeId >= 0 && nodeId <= nodeIdMax, `nodeId ${nodeId}`);
  assert.match(nonce, /^[0-9a-f]{8}$/, 'nonce is 8 lowercase hex characters');
  const key =
    `${segmentKeyPrefix}${String(createdAtMs).padStart(20, '0')}-` +
    `${String(nodeId).padStart(10, '0')}-${nonce}.seg`;
  assert.match(key, keyPattern);
  return key;
}

/** The parts of a segment key, or null for any other key (foreign objects under the prefix). */
export function parseSegmentKey(key: string): SegmentKeyParts | null {
  const match = keyPattern.exec(key);
  if (match === null) return null;
  const createdAtMs = Number(match[1]);
  const nodeId = Number(match[2]);
  const nonce = match[3] ?? '';
  if (!Number.isSafeInteger(createdAtMs) || nodeId > nodeIdMax) return null;
  return { createdAtMs, nodeId, nonce };
}

export function randomNonce(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Hands out keys for one broker, strictly ascending: two uploads in the same millisecond, or a
 * wall clock stepped back by NTP, still get keys that LIST in the order they were created. When
 * the clock has not moved past the last key, the timestamp is the last one plus 1 ms (as a hybrid
 * logical clock does), so it drifts ahead only while uploads outpace the clock.
 */
export class SegmentKeyAllocator {
  private lastCreatedAtMs = -1;

  constructor(
    readonly nodeId: number,
    /** Injected so tests can force equal nonces; default 4 random bytes as hex. */
    private readonly nonce: () => string = randomNonce,
  ) {
    assert.ok(Number.isInteger(nodeId) && nodeId >= 0 && nodeId <= nodeIdMax, `nodeId ${nodeId}`);
  }

  next(nowMs: number): string {
    assert.ok(Number.isSafeInteger(nowMs) && nowMs >= 0, `nowMs ${nowMs}`);
    const createdAtMs = Math.max(nowMs, this.lastCreatedAtMs + 1);
    assert.ok(createdAtMs > this.lastCreatedAtMs);
    this.lastCreatedAtMs = createdAtMs;
    return formatSegmentKey({ createdAtMs, nodeId: this.nodeId, nonce: this.nonce() });
  }
}

/** One allocator per node id in this process; a process runs a handful of brokers at most. */
const allocatorsByNodeId = new Map<number, SegmentKeyAllocator>();

/**
 * A fresh key for `nodeId` at `nowMs`, strictly after every key this process made for that node
 * id (the uploader's entry point; code that wants its own sequence holds a SegmentKeyAllocator).
 */
export function newSegmentKey(nodeId: number, nowMs: number): string {
  let allocator = allocatorsByNodeId.get(nodeId);
  if (allocator === undefined) {
    allocator = new SegmentKeyAllocator(nodeId);
    allocatorsByNodeId.set(nodeId, allocator);
  }
  return allocator.next(nowMs);
}
