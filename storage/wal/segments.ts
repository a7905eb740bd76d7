/**
 * WAL segment files and the ordered list of them.
 *
 * A segment is named by the LSN of its first entry, zero-padded to 20 digits so that a plain
 * directory listing sorts in LSN order (`00000000000000000001.wal`). Naming by LSN rather than by a
 * counter lets `truncateBefore` and `readFrom` pick segments from names alone, and lets recovery
 * check that no segment is missing (each base must be the previous segment's last LSN + 1).
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WalCorruptError } from './errors.js';

export const segmentSuffix = '.wal';
const segmentNamePattern = /^(\d{20})\.wal$/;
const lsnDigits = 20;

export interface SegmentRef {
  /** LSN of the first entry the segment holds (or will hold, if empty). */
  baseLsn: number;
  path: string;
}

export function segmentFileName(baseLsn: number): string {
  assert.ok(Number.isSafeInteger(baseLsn) && baseLsn >= 1, `segment base lsn ${baseLsn}`);
  const name = String(baseLsn).padStart(lsnDigits, '0') + segmentSuffix;
  assert.equal(name.length, lsnDigits + segmentSuffix.length, 'fixed-width name');
  return name;
}

/**
 * Lists segment files in LSN order. Other files (the lock file) are ignored, but a `.wal` file
 * with a name we did not write is an error: guessing what it holds could replay garbage.
 */
export async function listSegments(dir: string): Promise<SegmentRef[]> {
  const names = await readdir(dir);
  const segments: SegmentRef[] = [];
  for (const name of names) {
    if (!name.endsWith(segmentSuffix)) continue;
    const match = segmentNamePattern.exec(name);
    const baseLsn = match ? Number(match[1]) : NaN;
    if (!Number.isSafeInteger(baseLsn) || baseLsn < 1) {
      throw new WalCorruptError(join(dir, name), 0, 'not a WAL segment name this code writes');
    }
    segments.push({ baseLsn, path: join(dir, name) });
  }
  segments.sort((a, b) => a.baseLsn - b.baseLsn);
  return segments;
}

/** The live, ordered segment list of one open WAL: appended to by rolls, cut by truncation. */
export class SegmentSet {
  private readonly list: SegmentRef[];

  constructor(segments: SegmentRef[]) {
    assert.ok(segments.length >= 1, 'an open WAL has at least its active segment');
    assertAscending(segments);
    this.list = [...segments];
  }

  /** A copy, so a reader's view does not change under it as segments roll or are deleted. */
  snapshot(): SegmentRef[] {
    return [...this.list];
  }

  oldest(): SegmentRef {
    return this.list[0]!;
  }

  active(): SegmentRef {
    return this.list[this.list.length - 1]!;
  }

  add(segment: SegmentRef): void {
    assert.ok(segment.baseLsn > this.active().baseLsn, 'segments are added in LSN order');
    this.list.push(segment);
  }

  /**
   * The oldest segment if every entry in it is below `lsn` (its successor starts at or below
   * `lsn`), else null. The active segment never qualifies: it is open for appends.
   */
  oldestBefore(lsn: number): SegmentRef | null {
    const [oldest, successor] = this.list;
    assert.ok(oldest !== undefined, 'the set is never empty');
    return successor !== undefined && successor.baseLsn <= lsn ? oldest : null;
  }

  /** Forgets the oldest segment, after its file was deleted. */
  dropOldest(segment: SegmentRef): void {
    assert.ok(this.list.length >= 2, 'the active segment is never dropped');
    assert.equal(this.list[0], segment, 'drop segments oldest first');
    this.list.shift();
  }
}

function assertAscending(segments: readonly SegmentRef[]): void {
  for (let i = 1; i < segments.length; i++) {
    assert.ok(segments[i]!.baseLsn > segments[i - 1]!.baseLsn, 'segments ascend by base LSN');
  }
}
