import { appendFile, open, readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../../protocol/records/crc32c.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decideEntry, entryDecisions, recoverWal } from '../../../storage/wal/recovery.js';
import { readEntries, type WalEntry } from '../../../storage/wal/reader.js';
import { WalCorruptError } from '../../../storage/wal/errors.js';
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import { WalReadOnly } from '../../../storage/wal/wal-read-only.js';
import { readWalOnce } from '../../../storage/wal/read-once.js';
import {
  appendNumbered,
  collect,
  faultIo,
  headerFor,
  makeTempDir,
  numberOf,
  openTestWal,
  payloadFor,
  readAll,
  smallLimits,
} from './helpers.js';

const entryPayloadBytes = 400;
/** Frame (19) + header (8) + payload: every test entry has the same size. */
const entryBytes = 19 + 8 + entryPayloadBytes;
const entryCount = 100;

/**
 * Rewrites a file in place. Not writeFile: truncating to zero and rewriting makes ext4
 * (auto_da_alloc) start writeback on close, which made the per-byte loops slow.
 */
async function overwrite(path: string, bytes: Buffer): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await file.write(bytes, 0, bytes.length, 0);
    await file.truncate(bytes.length);
  } finally {
    await file.close();
  }
}

async function segmentPaths(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort().map((n) => join(dir, n));
}

/** Checks the entries are exactly LSNs 1..expected, each with its own intact payload. */
function expectEntries(entries: WalEntry<Buffer>[], expected: number) {
  expect(entries.map((e) => e.lsn)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
  const intact = (e: WalEntry<Buffer>) =>
    numberOf(e.header) === e.lsn && e.payload.equals(payloadFor(e.lsn, entryPayloadBytes));
  expect(entries.filter((e) => !intact(e)).map((e) => e.lsn)).toEqual([]);
}

/** Opens the WAL (lock, recover, fsyncs), checks what it recovered, closes. */
async function expectRecovered(dir: string, expected: number) {
  const wal = await openTestWal(dir);
  expectEntries(await readAll(wal), expected);
  const recovery = wal.recovery;
  await wal.close();
  return recovery;
}

/**
 * The same recovery, minus the lock and with fsyncs skipped: for loops over every byte position,
 * where ~5 real fsyncs per open would make the test take a minute and fsync is not under test.
 */
async function expectRecoveredFast(dir: string, expected: number) {
  const io = faultIo({ datasync: async () => {}, syncDir: async () => {} });
  // Whole-segment reads: the 100-byte read chunk of smallLimits is exercised by the other tests.
  const limits = { ...smallLimits, readChunkBytes: smallLimits.segmentBytesMax };
  const recovery = await recoverWal({ dir, mode: 'writable', limits, io });
  const range = { segments: recovery.segments, lsnFrom: 1, lsnLast: recovery.lsnLast };
  const entries = await collect(readEntries(range, { codec: bufferHeaderCodec, limits, io }));
  expectEntries(entries, expected);
  return recovery;
}

describe('WAL recovery', () => {
  let dir = '';
  let cleanup = async () => {};
  let paths: string[] = [];

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('recovery'));
    const wal = await openTestWal(dir);
    await appendNumbered(wal, 1, entryCount, entryPayloadBytes);
    await wal.close();
    paths = await segmentPaths(dir);
  });
  afterEach(() => cleanup());

  it('has a decision for every observation, and truncates only the last segment', () => {
    for (const observation of Object.keys(entryDecisions) as Array<keyof typeof entryDecisions>) {
      expect(decideEntry(observation, false).action).not.toBe('truncate');
      expect(['accept', 'segment-end', 'truncate', 'fail']).toContain(
        decideEntry(observation, true).action,
      );
    }
  });

  it('fixture spans several segments', () => {
    const perSegment = Math.floor(smallLimits.segmentBytesMax / entryBytes);
    expect(paths.length).toBe(Math.ceil(entryCount / perSegment));
    expect(paths.length).toBeGreaterThanOrEqual(3);
  });

  it('torn tail at every byte of the last entry: keeps all complete entries, no more', async () => {
    const last = paths.at(-1)!;
    const pristine = await readFile(last);
    const lastEntryStart = pristine.length - entryBytes;
    for (let cut = lastEntryStart; cut < pristine.length; cut++) {
      await overwrite(last, pristine.subarray(0, cut));
      const sampled = cut === lastEntryStart + 1 || cut === pristine.length - 1;
      const recovery = await (sampled ? expectRecovered : expectRecoveredFast)(dir, entryCount - 1);
      expect(recovery.lsnNext).toBe(entryCount);
      expect(recovery.tornTail?.droppedBytes ?? 0).toBe(cut - lastEntryStart);
      expect((await stat(last)).size).toBe(lastEntryStart);
    }
  });

  it('after cutting a torn tail, appends continue at the next LSN and survive reopen', async () => {
    const last = paths.at(-1)!;
    const size = (await stat(last)).size;
    await writeFile(last, (await readFile(last)).subarray(0, size - 3));
    const wal = await openTestWal(dir);
    expect(await wal.append(headerFor(entryCount), payloadFor(entryCount, entryPayloadBytes))).toBe(
      entryCount,
    );
    await wal.close();
    await expectRecovered(dir, entryCount);
  });

  it('a flipped byte anywhere in the last entry truncates that entry', async () => {
    const last = paths.at(-1)!;
    const pristine = await readFile(last);
    const lastEntryStart = pristine.length - entryBytes;
    for (let at = lastEntryStart; at < pristine.length; at++) {
      const damaged = Buffer.from(pristine);
      damaged[at]! ^= 0xff;
      await overwrite(last, damaged);
      const recovery = await expectRecoveredFast(dir, entryCount - 1);
      expect(['checksum-mismatch', 'length-invalid', 'short-body']).toContain(
        recovery.tornTail?.observation,
      );
    }
  });

  it('a zero-filled tail (size grew, data did not land) is cut', async () => {
    await appendFile(paths.at(-1)!, Buffer.alloc(3000));
    const recovery = await expectRecovered(dir, entryCount);
    expect(recovery.tornTail).toMatchObject({ observation: 'length-invalid', droppedBytes: 3000 });
  });

  it('corruption in a middle segment is a hard error naming the file and offset', async () => {
    const middle = paths[1]!;
    const bytes = await readFile(middle);
    bytes[entryBytes + 200]! ^= 0x01; // inside the second entry's payload
    await writeFile(middle, bytes);
    const opening = openTestWal(dir);
    await expect(opening).rejects.toThrow(WalCorruptError);
    await expect(openTestWal(dir)).rejects.toThrow(
      `${middle} at byte ${entryBytes}: checksum-mismatch`,
    );
    // The failed open released its lock and changed nothing: the file is still whole.
    expect((await stat(middle)).size).toBe(bytes.length);
  });

  it('a torn tail in a segment that is not the last is a hard error', async () => {
    const middle = paths[1]!;
    const bytes = await readFile(middle);
    await writeFile(middle, bytes.subarray(0, bytes.length - 10));
    await expect(openTestWal(dir)).rejects.toThrow(/short-body|short-frame/);
  });

  it('a missing middle segment is a hard error', async () => {
    await unlink(paths[1]!);
    await expect(openTestWal(dir)).rejects.toThrow(/a segment is missing/);
  });

  it('a missing oldest segment reads as a WAL truncated before it', async () => {
    await unlink(paths[0]!);
    const wal = await openTestWal(dir);
    expect(wal.recovery.lsnFirst).toBeGreaterThan(1);
    expect(wal.recovery.lsnLast).toBe(entryCount);
    await wal.close();
  });

  it('an entry with a good checksum but an unknown version is never truncated', async () => {
    const last = paths.at(-1)!;
    const bytes = await readFile(last);
    const start = bytes.length - entryBytes;
    bytes[start + 8] = 2; // version
    bytes.writeUInt32BE(crc32c(bytes.subarray(start + 8)), start + 4);
    await writeFile(last, bytes);
    await expect(openTestWal(dir)).rejects.toThrow(/version-unknown/);
    expect((await stat(last)).size).toBe(bytes.length);
  });

  it('an entry with a good checksum but the wrong LSN is a hard error', async () => {
    const last = paths.at(-1)!;
    const bytes = await readFile(last);
    const start = bytes.length - entryBytes;
    bytes.writeUInt32BE(12345, start + 9 + 4); // low half of the LSN
    bytes.writeUInt32BE(crc32c(bytes.subarray(start + 8)), start + 4);
    await writeFile(last, bytes);
    await expect(openTestWal(dir)).rejects.toThrow(/lsn-unexpected/);
  });

  it('a flipped byte earlier in the last segment cuts from there (documented limit)', async () => {
    const last = paths.at(-1)!;
    const bytes = await readFile(last);
    const entriesInLast = bytes.length / entryBytes;
    expect(entriesInLast).toBeGreaterThanOrEqual(2);
    bytes[100]! ^= 0x01; // first entry of the last segment
    await writeFile(last, bytes);
    await expectRecovered(dir, entryCount - entriesInLast);
  });

  it('read-only open replays up to a torn tail without modifying anything', async () => {
    const last = paths.at(-1)!;
    const bytes = await readFile(last);
    await writeFile(last, bytes.subarray(0, bytes.length - 7));
    const headerCodec = bufferHeaderCodec;
    const reader = await WalReadOnly.open({ dir, headerCodec, limits: smallLimits });
    expect(reader.recovery.lsnLast).toBe(entryCount - 1);
    expect(reader.recovery.tornTail?.droppedBytes).toBe(entryBytes - 7);
    let count = 0;
    for await (const entry of reader.readFrom(1)) {
      count += 1;
      expect(entry.payload.equals(payloadFor(entry.lsn, entryPayloadBytes))).toBe(true);
    }
    expect(count).toBe(entryCount - 1);
    expect((await stat(last)).size).toBe(bytes.length - 7);
    expect((await readdir(dir)).filter((n) => !n.endsWith('.wal'))).toEqual([]);
  });

  it('one read-only pass (readWalOnce) yields the wanted entries up to a torn tail', async () => {
    const last = paths.at(-1)!;
    const bytes = await readFile(last);
    await writeFile(last, bytes.subarray(0, bytes.length - 7));
    const odd = (header: Buffer) => numberOf(header) % 2 === 1;
    const entries = await collect(readWalOnce({ dir, headerCodec: bufferHeaderCodec,
      limits: smallLimits, wanted: odd }));
    // Entries 1, 3, ..., 99 less the torn last one (100 is even), each intact.
    expect(entries.map((e) => e.lsn)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
    expect(entries.every((e) => numberOf(e.header) === e.lsn &&
      e.payload.equals(payloadFor(e.lsn, entryPayloadBytes)))).toBe(true);
    expect((await stat(last)).size).toBe(bytes.length - 7);
    expect((await readdir(dir)).filter((n) => !n.endsWith('.wal'))).toEqual([]);
  });

  it('one read-only pass refuses what recovery refuses: a middle segment damaged or missing',
    async () => {
    const read = () => collect(readWalOnce({ dir, headerCodec: bufferHeaderCodec,
      limits: smallLimits, wanted: () => false }));
    const middle = paths[1]!;
    const bytes = await readFile(middle);
    bytes[entryBytes + 200]! ^= 0x01; // inside the second entry's payload, not a wanted one
    await writeFile(middle, bytes);
    await expect(read()).rejects.toThrow(`${middle} at byte ${entryBytes}: checksum-mismatch`);
    await unlink(middle);
    await expect(read()).rejects.toThrow(/a segment is missing/);
  });

  it('a .wal file with a foreign name is refused', async () => {
    await writeFile(join(dir, 'backup.wal'), 'x');
    await expect(openTestWal(dir)).rejects.toThrow(/not a WAL segment name/);
  });
});
