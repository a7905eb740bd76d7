import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Gate,
  faultIo,
  headerFor,
  makeTempDir,
  openTestWal,
  payloadFor,
  smallLimits,
  until,
} from './helpers.js';

/** 19 frame + 8 header + 973 payload = 1000 bytes. */
const payloadBytes = 973;

describe('WAL backpressure', () => {
  let dir = '';
  let cleanup = async () => {};
  let gate = new Gate();
  const io = faultIo({
    datasync: async (file) => {
      await gate.wait();
      await file.datasync();
    },
  });
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('backpressure'));
    gate = new Gate();
  });
  afterEach(() => cleanup());

  it('append resolves only after its fsync completes', async () => {
    const wal = await openTestWal(dir, { io });
    let resolved = false;
    const append = wal.append(headerFor(1), payloadFor(1, 10)).then((lsn) => {
      resolved = true;
      return lsn;
    });
    await until(() => gate.entered === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolved).toBe(false);
    expect(wal.lsnDurable).toBe(0);
    gate.open();
    expect(await append).toBe(1);
    expect(wal.lsnDurable).toBe(1);
    await wal.close();
  });

  it('admits at most pendingBytesMax; the rest wait in line and keep call order', async () => {
    const wal = await openTestWal(dir, { io });
    const count = 50;
    const settled: number[] = [];
    const appends = Array.from({ length: count }, (_, n) =>
      wal.append(headerFor(n), payloadFor(n, payloadBytes)).then((lsn) => {
        settled.push(lsn);
        return lsn;
      }),
    );
    await until(() => gate.entered === 1);
    const admitted = Math.floor(smallLimits.pendingBytesMax / 1000); // 8 of 1000 bytes fit in 8 KiB
    expect(wal.metrics.snapshot()).toMatchObject({
      appendsWaited: count - admitted,
      pendingBytesPeak: admitted * 1000,
      entriesWritten: 0,
    });
    expect(settled).toEqual([]);
    gate.open();
    expect(await Promise.all(appends)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(settled).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    const metrics = wal.metrics.snapshot();
    expect(metrics.pendingBytesPeak).toBeLessThanOrEqual(smallLimits.pendingBytesMax);
    expect(metrics.entriesPerFsyncMax).toBeLessThanOrEqual(admitted);
    await wal.close();
  });

  it('a large entry at the head of the line is not overtaken by small ones (FIFO)', async () => {
    const wal = await openTestWal(dir, { io });
    // Two 3.5 KiB entries are admitted (~7 KiB of 8 KiB pending).
    const first = [0, 1].map((n) => wal.append(headerFor(n), payloadFor(n, 3500)));
    const big = wal.append(headerFor(2), payloadFor(2, 3000)); // does not fit: waits
    const small = wal.append(headerFor(3), payloadFor(3, 10)); // would fit, but must not jump
    await until(() => gate.entered === 1);
    expect(wal.metrics.snapshot().appendsWaited).toBe(2);
    gate.open();
    expect(await Promise.all([...first, big, small])).toEqual([1, 2, 3, 4]);
    await wal.close();
  });

  it('close waits for appends still waiting for admission', async () => {
    const wal = await openTestWal(dir, { io });
    const appends = Array.from({ length: 20 }, (_, n) =>
      wal.append(headerFor(n), payloadFor(n, payloadBytes)),
    );
    await until(() => gate.entered === 1);
    const closing = wal.close();
    gate.open();
    await closing;
    expect(await Promise.all(appends)).toHaveLength(20);
    const reopened = await openTestWal(dir);
    expect(reopened.recovery.lsnLast).toBe(20);
    await reopened.close();
  });
});
