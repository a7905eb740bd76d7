/**
 * Key rules shared by every engine, so a key that works against the local folder works against S3.
 *
 * A key is `/`-separated segments. Each segment is 1..255 bytes of [A-Za-z0-9._=+-] and does not
 * start with `.`: that rules out `.` and `..` (no escaping the local folder's root), and reserves
 * dot-names for the local folder's temp files so they can never collide with a key. No leading
 * `/` (absolute paths) and no empty segments (`a//b`), which S3 would accept but a file system
 * would silently collapse. ASCII only, so comparing JS strings is comparing bytes, the order S3
 * lists in.
 */
import assert from 'node:assert/strict';
import { objectStoreLimits } from '../limits.js';
import {
  type ObjectBody, ObjectStoreError, type ObjectStoreOp, bodyBytes,
} from './object-store.js';

const segmentPattern = /^[A-Za-z0-9_=+-][A-Za-z0-9._=+-]*$/;

/** Whether `name` could be one segment of a key; the local folder skips names that could not. */
export function isValidKeySegment(name: string): boolean {
  return name.length <= objectStoreLimits.keySegmentBytesMax && segmentPattern.test(name);
}

/** Why `key` is not a valid key, or null if it is. */
function keyProblem(key: string, allowPartialLast: boolean): string | null {
  if (key.length > objectStoreLimits.keyBytesMax) {
    return `longer than ${objectStoreLimits.keyBytesMax} bytes`;
  }
  const segments = key.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    const isLast = i === segments.length - 1;
    // A prefix may end with `/` or stop part-way through a segment; a key may do neither.
    if (segment === '' && isLast && allowPartialLast) continue;
    if (segment === '') return 'empty segment (leading, trailing or doubled "/")';
    if (segment.length > objectStoreLimits.keySegmentBytesMax) {
      return `segment longer than ${objectStoreLimits.keySegmentBytesMax} bytes`;
    }
    if (!segmentPattern.test(segment)) {
      return `segment ${JSON.stringify(segment)} is not [A-Za-z0-9._=+-]+ without a leading "."`;
    }
  }
  return null;
}

export function assertValidKey(op: ObjectStoreOp, key: string): void {
  const problem = keyProblem(key, false);
  if (problem !== null) throw new ObjectStoreError('InvalidKey', op, key, problem);
}

/** A list prefix: '' (everything), or any leading part of a valid key. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  const problem = keyProblem(prefix, true);
  if (problem !== null) throw new ObjectStoreError('InvalidKey', 'list', prefix, problem);
}

/** getRange argument checks: programmer errors, so asserts rather than store errors. */
export function assertValidRange(start: number, endExclusive: number): void {
  assert.ok(
    Number.isSafeInteger(start) && start >= 0,
    `range start ${start} must be an integer ≥ 0`,
  );
  assert.ok(Number.isSafeInteger(endExclusive), `range end ${endExclusive} must be an integer`);
  // HTTP cannot express an empty range, and asking for one is always a caller bug.
  assert.ok(endExclusive > start, `range [${start}, ${endExclusive}) must not be empty`);
  assert.ok(
    endExclusive - start <= objectStoreLimits.objectBytesMax,
    `range of ${endExclusive - start} bytes exceeds objectBytesMax`,
  );
}

/** Throws TooLarge past objectBytesMax; returns the body's size. */
export function assertBodySize(op: ObjectStoreOp, key: string, body: ObjectBody): number {
  assert.ok(Buffer.isBuffer(body) || (Array.isArray(body) && body.every((b) => Buffer.isBuffer(b))),
    'body must be a Buffer or a list of them');
  const bytes = bodyBytes(body);
  if (bytes > objectStoreLimits.objectBytesMax) {
    throw new ObjectStoreError(
      'TooLarge',
      op,
      key,
      `${bytes} bytes exceeds objectBytesMax ${objectStoreLimits.objectBytesMax}`,
    );
  }
  return bytes;
}

/** Resolves the page size for a listing: default the maximum, reject anything outside 1..max. */
export function resolvePageSize(pageSize: number | undefined): number {
  const resolved = pageSize ?? objectStoreLimits.listPageSizeMax;
  assert.ok(
    Number.isSafeInteger(resolved) &&
      resolved >= 1 &&
      resolved <= objectStoreLimits.listPageSizeMax,
    `pageSize ${resolved} must be 1..${objectStoreLimits.listPageSizeMax}`,
  );
  return resolved;
}
