import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { segmentFileName } from '../../../storage/wal/segments.js';
import {
  appendNumbered,
  collect,
  headerFor,
  makeTempDir,
  numberOf,
  openTestWal,
  payloadFor,
  readAll,
  smallLimits,
} from './helpers.js';

/** 19 frame + 8 header + 973 payload = 1000 bytes: 16 entries fill a 16 KiB segment. */
const payloadBytes = 973;
const perSegment = Math.floor(smallLimits.segmentBytesMax / 1000);

async function segmentNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

describe('WAL segments', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('segments')));
  afterEach(() => cleanup());

  it('rolls at segmentBytesMax; each segment is named by its first LSN', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, perSegment * 3 + 1, payloadBytes);
    expect(await segmentNames(dir)).toEqual([1, 17, 33, 49].map(segmentFileName));
    expect(segmentFileName(17)).toBe('00000000000000000017.wal');
    for (const name of (await segmentNames(dir)).slice(0, 3)) {
      const sizeBytes = (await stat(join(dir, name))).size;
      expect(sizeBytes).toBeLessThanOrEqual(smallLimits.segmentBytesMax);
      expect(sizeBytes).toBe(perSegment * 1000);
    }
    expect(wal.metrics.snapshot().segmentsRolled).toBe(3);
    await wal.close();
  });

  it('a group commit never spans two segments', async () => {
    const limits = { pendingBytesMax: 64 * 1024, groupBytesMax: 64 * 1024 };
    const wal = await openTestWal(dir, { limits });
    const count = perSegment * 2 + 5;
    await Promise.all(
      Array.from({ length: count }, (_, n) =>
        wal.append(headerFor(n), payloadFor(n, payloadBytes)),
      ),
    );
    // All appends are issued in one tick, so groups split only where a segment fills up.
    expect(await segmentNames(dir)).toEqual([1, 17, 33].map(segmentFileName));
    expect(wal.metrics.snapshot().fsyncCount).toBe(3);
    await wal.close();
    const reopened = await openTestWal(dir);
    expect(reopened.recovery.lsnLast).toBe(count);
    await reopened.close();
  });

  it('truncateBefore deletes exactly the segments with all entries below the LSN', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, perSegment * 4, payloadBytes); // segments 1, 17, 33, 49
    expect(await wal.truncateBefore(1)).toBe(0);
    expect(await wal.truncateBefore(16)).toBe(0); // segment 1 still holds LSN 16
    expect(await wal.truncateBefore(17)).toBe(1); // 1..16 are all below 17
    expect(await segmentNames(dir)).toEqual([17, 33, 49].map(segmentFileName));
    expect(await wal.truncateBefore(40)).toBe(1); // 17..32 go; 33..48 hold 33..39
    expect(await segmentNames(dir)).toEqual([33, 49].map(segmentFileName));
    expect(wal.metrics.snapshot().segmentsDeleted).toBe(2);

    const replay = await collect(wal.readFrom(40));
    expect(replay.map((e) => e.lsn)).toEqual(Array.from({ length: 25 }, (_, i) => 40 + i));
    expect(() => wal.readFrom(10)).not.toThrow(); // generators throw on first next()
    const truncated = /truncated \(oldest segment starts at 33\)/;
    await expect(collect(wal.readFrom(10))).rejects.toThrow(truncated);
    await wal.close();

    const reopened = await openTestWal(dir);
    expect(reopened.recovery).toMatchObject({ lsnFirst: 33, lsnLast: 64, entryCount: 32 });
    await reopened.close();
  });

  it('truncateBefore never deletes the active segment, even if all of it is uploaded', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, perSegment + 2, payloadBytes); // segments 1 and 17
    expect(await wal.truncateBefore(wal.lsnDurable + 1)).toBe(1);
    expect(await segmentNames(dir)).toEqual([segmentFileName(17)]);
    // Appends carry on in the same segment, and the entries below the cut are still readable.
    await appendNumbered(wal, 100, 1, payloadBytes);
    const entries = await readAll(wal);
    expect(entries.map((e) => e.lsn)).toEqual([17, 18, 19]);
    expect(numberOf(entries[2]!.header)).toBe(100);
    await wal.close();
  });

  it('reopening with smaller limits keeps larger old entries, rolls before appending', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, 10, 3000); // 10 entries of ~3 KiB: segments 1 and 6
    await wal.close();
    const smaller = { segmentBytesMax: 4096, entryBytesMax: 1024, pendingBytesMax: 4096 };
    const reopened = await openTestWal(dir, { limits: smaller });
    expect(reopened.recovery).toMatchObject({ lsnLast: 10, tornTail: null });
    await appendNumbered(reopened, 11, 1, 500);
    expect(await segmentNames(dir)).toEqual([1, 6, 11].map(segmentFileName));
    expect((await readAll(reopened)).map((e) => e.payload.length)).toEqual([
      ...Array(10).fill(3000),
      500,
    ]);
    await reopened.close();
  });

  it('refuses to truncate entries that are not durable yet', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, 3);
    expect(() => wal.truncateBefore(5)).toThrow(/not yet durable/);
    await wal.close();
  });

  it('concurrent truncateBefore calls delete oldest first without gaps', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, perSegment * 5, payloadBytes);
    const cuts = [33, 65, 17].map((lsn) => wal.truncateBefore(lsn));
    const deleted = await Promise.all(cuts);
    expect(deleted).toEqual([2, 2, 0]);
    expect(await segmentNames(dir)).toEqual([65].map(segmentFileName));
    await wal.close();
    const reopened = await openTestWal(dir);
    expect(reopened.recovery.lsnFirst).toBe(65);
    await reopened.close();
  });
});
