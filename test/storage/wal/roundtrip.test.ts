import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  partitionHeaderCodec,
  type PartitionEntryHeader,
} from '../../../storage/wal/partition-header.js';
import { WalClosedError } from '../../../storage/wal/errors.js';
import { Wal } from '../../../storage/wal/wal.js';
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

describe('WAL append / recover round trip', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('roundtrip')));
  afterEach(() => cleanup());

  it('starts empty at LSN 1 with one zero-padded segment', async () => {
    const wal = await openTestWal(dir);
    expect(wal.recovery).toMatchObject({ lsnFirst: null, lsnLast: 0, lsnNext: 1, entryCount: 0 });
    expect(await readAll(wal)).toEqual([]);
    await wal.close();
    expect((await readdir(dir)).sort()).toEqual(['00000000000000000001.wal']);
  });

  it('recovers every appended entry intact and in LSN order', async () => {
    const wal = await openTestWal(dir);
    const sizes = [0, 1, 99, 1000, 4000 - 19 - 8];
    const lsns: number[] = [];
    for (const [i, size] of sizes.entries()) {
      lsns.push(await wal.append(headerFor(i), payloadFor(i, size)));
    }
    expect(lsns).toEqual([1, 2, 3, 4, 5]);
    await wal.close();

    const reopened = await openTestWal(dir);
    const expected = { lsnFirst: 1, lsnLast: 5, lsnNext: 6, tornTail: null };
    expect(reopened.recovery).toMatchObject(expected);
    const entries = await readAll(reopened);
    expect(entries.map((e) => e.lsn)).toEqual(lsns);
    for (const [i, entry] of entries.entries()) {
      expect(numberOf(entry.header)).toBe(i);
      expect(entry.payload.equals(payloadFor(i, sizes[i]!))).toBe(true);
    }
    expect(await reopened.append(headerFor(9), payloadFor(9, 10))).toBe(6);
    await reopened.close();
  });

  it('reads from the middle, and reads entries appended while open', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, 50, 300);
    const fromMiddle = await collect(wal.readFrom(37));
    expect(fromMiddle.map((e) => e.lsn)).toEqual(Array.from({ length: 14 }, (_, i) => 37 + i));
    expect(fromMiddle.map((e) => numberOf(e.header))).toEqual(fromMiddle.map((e) => e.lsn));
    expect(await collect(wal.readFrom(51))).toEqual([]);
    await wal.close();
  });

  it('reads a live WAL only up to what was durable when reading started', async () => {
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, 10);
    const reader = wal.readFrom(1);
    const inFlight = appendNumbered(wal, 11, 10);
    const read = await collect(reader);
    await inFlight;
    expect(read.map((e) => e.lsn)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    await wal.close();
  });

  it('round-trips the broker partition header', async () => {
    const options = { dir, headerCodec: partitionHeaderCodec, limits: smallLimits };
    const wal = await Wal.open(options);
    const header: PartitionEntryHeader = {
      topicId: 'AAECAwQFBgcICQoLDA0ODw',
      partition: 7,
      baseOffset: 2n ** 40n,
    };
    await wal.append(header, Buffer.from('batch bytes'));
    await wal.close();
    const reopened = await Wal.open({ ...options, dir });
    const [entry] = await collect(reopened.readFrom(1));
    expect(entry?.header).toEqual(header);
    expect(entry?.payload.toString()).toBe('batch bytes');
    await reopened.close();
  });

  it('rejects oversized entries and appends after close', async () => {
    const wal = await openTestWal(dir);
    const payloadTooBig = Buffer.alloc(smallLimits.entryBytesMax);
    await expect(wal.append(headerFor(1), payloadTooBig)).rejects.toThrow(RangeError);
    const headerTooBig = Buffer.alloc(smallLimits.headerBytesMax + 1);
    await expect(wal.append(headerTooBig, Buffer.alloc(0))).rejects.toThrow(RangeError);
    await wal.close();
    await expect(wal.append(headerFor(1), Buffer.alloc(1))).rejects.toThrow(WalClosedError);
  });

  it('writes the payload as given, not a copy: a payload changed before the append settles '
    + 'is never replayed as good data', async () => {
    // The contract (entry.ts, EntryParts): the caller leaves the payload alone until the append
    // settles. Breaking it is caught by the checksum, stamped over the bytes at append time.
    const wal = await openTestWal(dir);
    await wal.append(headerFor(1), payloadFor(1, 500));
    const payload = payloadFor(2, 500);
    const appended = wal.append(headerFor(2), payload);
    payload.fill(0);
    await appended;
    await wal.close();
    const reopened = await openTestWal(dir);
    const entries = await readAll(reopened);
    expect(entries.map((e) => e.lsn)).toEqual([1]);
    expect(entries[0]!.payload.equals(payloadFor(1, 500))).toBe(true);
    await reopened.close();
  });
});
