import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WalFailedError } from '../../../storage/wal/errors.js';
import type { WalFsyncSample } from '../../../storage/wal/metrics.js';
import {
  Gate,
  faultIo,
  headerFor,
  makeTempDir,
  numberOf,
  openTestWal,
  payloadFor,
  readAll,
  until,
} from './helpers.js';

describe('WAL group commit', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('group')));
  afterEach(() => cleanup());

  it('concurrent appends share one write and one fsync', async () => {
    const samples: WalFsyncSample[] = [];
    const wal = await openTestWal(dir, {
      limits: {
        segmentBytesMax: 1024 * 1024,
        pendingBytesMax: 512 * 1024,
        groupEntriesMax: 1000,
        groupBytesMax: 512 * 1024,
      },
      onFsync: (sample) => samples.push(sample),
    });
    const count = 200;
    const lsns = await Promise.all(
      Array.from({ length: count }, (_, n) => wal.append(headerFor(n), payloadFor(n, 100))),
    );
    // LSNs follow call order, so a caller can rely on append order = log order.
    expect(lsns).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const metrics = wal.metrics.snapshot();
    expect(metrics.fsyncCount).toBe(1);
    expect(metrics.entriesPerFsyncMax).toBe(count);
    expect(metrics.entriesWritten).toBe(count);
    expect(samples).toHaveLength(1);
    expect(samples[0]!.fsyncMs).toBeGreaterThanOrEqual(0);
    await wal.close();
  });

  it('appends arriving during an fsync ride the next single fsync', async () => {
    const gate = new Gate();
    const io = faultIo({
      datasync: async (file) => {
        await gate.wait();
        await file.datasync();
      },
    });
    const wal = await openTestWal(dir, { io });
    const first = wal.append(headerFor(0), payloadFor(0, 10));
    await until(() => gate.entered === 1); // first group's fsync is in flight
    const later = Array.from({ length: 30 }, (_, i) =>
      wal.append(headerFor(i + 1), payloadFor(i + 1, 10)),
    );
    gate.open();
    expect(await first).toBe(1);
    expect(await Promise.all(later)).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
    expect(wal.metrics.snapshot()).toMatchObject({ fsyncCount: 2, entriesPerFsyncMax: 30 });
    await wal.close();
  });

  it('splits a burst into groups of at most groupBytesMax; a big entry goes alone', async () => {
    const limits = { groupBytesMax: 2000, pendingBytesMax: 8 * 1024, groupEntriesMax: 64 };
    const wal = await openTestWal(dir, { limits });
    // 19 frame + 8 header + 473 payload = 500-byte entries: 4 per group; then one 3000-byte entry.
    const small = Array.from({ length: 8 }, (_, n) => wal.append(headerFor(n), payloadFor(n, 473)));
    const big = wal.append(headerFor(8), payloadFor(8, 2973));
    expect(await Promise.all([...small, big])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(wal.metrics.snapshot()).toMatchObject({ fsyncCount: 3, entriesPerFsyncMax: 4 });
    await wal.close();
  });

  it('sequential appends each pay their own fsync', async () => {
    const wal = await openTestWal(dir);
    for (let n = 0; n < 20; n++) await wal.append(headerFor(n), payloadFor(n, 10));
    expect(wal.metrics.snapshot()).toMatchObject({ fsyncCount: 20, entriesPerFsyncMax: 1 });
    await wal.close();
  });

  it('an fsync failure fails that group and every later append, and reopen recovers', async () => {
    let failSync = false;
    const io = faultIo({
      datasync: async (file) => {
        if (failSync) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        await file.datasync();
      },
    });
    const wal = await openTestWal(dir, { io });
    for (let n = 0; n < 5; n++) await wal.append(headerFor(n), payloadFor(n, 50));
    failSync = true;
    const failed = Array.from({ length: 5 }, (_, i) =>
      wal.append(headerFor(i + 5), Buffer.alloc(1)),
    );
    for (const append of failed) await expect(append).rejects.toThrow(WalFailedError);
    failSync = false; // even if the disk "recovers", the WAL stays failed: no fsync retry
    await expect(wal.append(headerFor(99), Buffer.alloc(1))).rejects.toThrow(WalFailedError);
    await wal.close();

    const reopened = await openTestWal(dir);
    const entries = await readAll(reopened);
    // The failed group reached the page cache, so it may be recovered; the acked 5 must be.
    expect(entries.length).toBeGreaterThanOrEqual(5);
    expect(entries.slice(0, 5).map((e) => numberOf(e.header))).toEqual([0, 1, 2, 3, 4]);
    await reopened.close();
  });

  it('resumes after short writes (writev writing less than asked)', async () => {
    const io = faultIo({
      writev: async (file, buffers, positionBytes) => {
        const first = buffers[0]!;
        const part = first.subarray(0, Math.max(1, Math.floor(first.length / 2)));
        const { bytesWritten } = await file.writev([part], positionBytes);
        return bytesWritten;
      },
    });
    const wal = await openTestWal(dir, { io });
    await Promise.all(
      Array.from({ length: 10 }, (_, n) => wal.append(headerFor(n), payloadFor(n, 77))),
    );
    await wal.close();
    const reopened = await openTestWal(dir);
    const entries = await readAll(reopened);
    expect(entries.map((e) => numberOf(e.header))).toEqual([...Array(10).keys()]);
    expect(entries.every((e) => e.payload.equals(payloadFor(numberOf(e.header), 77)))).toBe(true);
    await reopened.close();
  });
});
