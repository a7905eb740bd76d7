/**
 * A full disk (ENOSPC) is retriable, not a WAL failure: the appends that were not written reject
 * with WalNoSpaceError (the group, and everything queued behind it), the partial write is cut off,
 * LSNs are handed out again without a gap, appends are refused until a retry, and what was durable
 * stays. Fault injection: writev writes part of what it is given, then fails with ENOSPC, as a
 * file system does when it runs out of blocks mid-write. test/e2e/wal-disk-full.test.ts does the
 * same against a real full tmpfs.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WalNoSpaceError } from '../../../storage/wal/errors.js';
import { nodeFsyncWalIo as nodeWalIo, type WalIo } from '../../../storage/wal/io.js';
import {
  faultIo, headerFor, makeTempDir, numberOf, openTestWal, payloadFor, readAll, smallLimits,
} from './helpers.js';

function enospc(op: string): Error {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${op}`), { code: 'ENOSPC' });
}

/** writev succeeds while `room` lasts; then writes what fits and fails with ENOSPC. */
function fullDiskIo(disk: { roomBytes: number; writes: number }): WalIo {
  return faultIo({
    async writev(file, buffers, positionBytes) {
      disk.writes += 1;
      const asked = buffers.reduce((sum, b) => sum + b.length, 0);
      if (asked <= disk.roomBytes) {
        disk.roomBytes -= asked;
        return nodeWalIo.writev(file, buffers, positionBytes);
      }
      if (disk.roomBytes > 0) {
        // A partial write of real bytes: the WAL must cut these off again.
        const part = Buffer.concat(buffers).subarray(0, disk.roomBytes);
        disk.roomBytes = 0;
        return nodeWalIo.writev(file, [part], positionBytes);
      }
      throw enospc('write');
    },
  });
}

async function segmentSizes(dir: string): Promise<number[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
  return Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
}

describe('WAL on a full disk', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('nospace')));
  afterEach(() => cleanup());

  it('rejects the group and everything queued behind it, then resumes without an LSN gap', async () => {
    const disk = { roomBytes: Infinity, writes: 0 };
    // One entry per group, so the second and third entries wait in the queue behind the first.
    const limits = { ...smallLimits, groupEntriesMax: 1 };
    const wal = await openTestWal(dir, { io: fullDiskIo(disk), limits, noSpaceRetryMs: 60_000 });
    expect(await wal.append(headerFor(1), payloadFor(1, 500))).toBe(1);
    const durableSizes = await segmentSizes(dir);
    disk.roomBytes = 300; // the next group gets 300 bytes in, then ENOSPC
    const results = await Promise.allSettled([2, 3, 4].map((n) =>
      wal.append(headerFor(n), payloadFor(n, 500))));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(WalNoSpaceError);
    }
    expect(wal.stalledNoSpace).toBe(true);
    expect(wal.lsnDurable).toBe(1);
    await expect(wal.append(headerFor(5), payloadFor(5, 10))).rejects.toBeInstanceOf(WalNoSpaceError);
    // The partial bytes are gone; the full segment was closed and an empty one started.
    const sizes = await segmentSizes(dir);
    expect(sizes[0]).toBe(durableSizes[0]);
    expect(sizes).toEqual([durableSizes[0], 0]);

    disk.roomBytes = Infinity;
    // Deleting a segment frees space and ends the stall at once (no waiting for the timer).
    expect(await wal.truncateBefore(2)).toBe(1);
    expect(wal.stalledNoSpace).toBe(false);
    expect(await wal.append(headerFor(6), payloadFor(6, 40))).toBe(2);
    expect(await wal.append(headerFor(7), payloadFor(7, 40))).toBe(3);
    await wal.close();

    const reopened = await openTestWal(dir, { limits });
    const entries = await readAll(reopened);
    expect(entries.map((e) => [e.lsn, numberOf(e.header)])).toEqual([[2, 6], [3, 7]]);
    expect(entries[0]!.payload.equals(payloadFor(6, 40))).toBe(true);
    expect(reopened.recovery.tornTail).toBeNull();
    await reopened.close();
  });

  it('retries on its own after noSpaceRetryMs when space returns outside the WAL', async () => {
    const disk = { roomBytes: Infinity, writes: 0 };
    const wal = await openTestWal(dir, { io: fullDiskIo(disk), noSpaceRetryMs: 50 });
    await wal.append(headerFor(1), payloadFor(1, 100));
    disk.roomBytes = 0;
    await expect(wal.append(headerFor(2), payloadFor(2, 100))).rejects.toBeInstanceOf(WalNoSpaceError);
    expect(wal.stalledNoSpace).toBe(true);
    disk.roomBytes = Infinity;
    const deadline = Date.now() + 10_000;
    while (wal.stalledNoSpace && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(wal.stalledNoSpace).toBe(false);
    expect(await wal.append(headerFor(3), payloadFor(3, 100))).toBe(2);
    expect((await readAll(wal)).map((e) => numberOf(e.header))).toEqual([1, 3]);
    await wal.close();
  });

  it('a roll that finds no space leaves the WAL as it was', async () => {
    let failCreate = false;
    const io = faultIo({
      open(path, flags) {
        if (flags === 'wx' && failCreate) {
          return Promise.reject(enospc('open'));
        }
        return nodeWalIo.open(path, flags);
      },
    });
    const wal = await openTestWal(dir, { io, noSpaceRetryMs: 60_000 });
    // Fill the first segment close to its limit, so the next entry needs a roll.
    let n = 0;
    while ((await segmentSizes(dir))[0]! < smallLimits.segmentBytesMax - 4000) {
      n += 1;
      await wal.append(headerFor(n), payloadFor(n, 3000));
    }
    failCreate = true;
    const needsRoll = wal.append(headerFor(n + 1), payloadFor(n + 1, 3900));
    await expect(needsRoll).rejects.toBeInstanceOf(WalNoSpaceError);
    expect((await segmentSizes(dir)).length).toBe(1);
    failCreate = false;
    expect(await wal.truncateBefore(1)).toBe(0); // nothing deleted, so the stall stays
    expect(wal.stalledNoSpace).toBe(true);
    await wal.close();
    const reopened = await openTestWal(dir);
    expect(reopened.recovery.lsnLast).toBe(n);
    expect(await reopened.append(headerFor(n + 1), payloadFor(n + 1, 3900))).toBe(n + 1);
    await reopened.close();
  });

  it('fails open with WalNoSpaceError naming the folder when the lock cannot be written', async () => {
    // ENOSPC injected where the lock makes itself durable (the real full-disk start, where the
    // lock file itself cannot be written, is in test/e2e/wal-disk-full.test.ts).
    const io = faultIo({
      syncDir() {
        return Promise.reject(enospc('fsync'));
      },
    });
    const err = await openTestWal(dir, { io }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WalNoSpaceError);
    expect((err as Error).message).toContain(dir);
  });
});
