import { appendFile, readFile, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decideEntry, entryDecisions } from '../../../storage/wal/recovery.js';
import { WalCorruptError } from '../../../storage/wal/errors.js';
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import { WalReadOnly } from '../../../storage/wal/wal-read-only.js';
import {
  appendNumbered,
  headerFor,
  makeTempDir,
  numberOf,
  openTestWal,
  payloadFor,
  readAll,
  smallLimits,
} from './helpers.js';

const entryPayloadBytes = 1000;
/** Frame (19) + header (8) + payload: every test entry has the same size. */
const entryBytes = 19 + 8 + entryPayloadBytes;
const entryCount = 40;

async function segmentPaths(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort().map((n) => join(dir, n));
}

/** Opens, checks the recovered entries are exactly 1..expected with intact payloads, closes. */
async function expectRecovered(dir: string, expected: number) {
  const wal = await openTestWal(dir);
  const entries = await readAll(wal);
  expect(entries.map((e) => e.lsn)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
  for (const e of entries) {
    expect(numberOf(e.header)).toBe(e.lsn);
    expect(e.payload.equals(payloadFor(e.lsn, entryPayloadBytes))).toBe(true);
  }
  const recovery = wal.recovery;
  await wal.close();
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

  it('torn tail at every byte of the last entry: keeps every complete entry, nothing else', async () => {
    const last = paths.at(-1)!;
    const pristine = await readFile(last);
    const lastEntryStart = pristine.length - entryBytes;
    for (let cut = lastEntryStart; cut < pristine.length; cut++) {
      await writeFile(last, pristine.subarray(0, cut));
      const recovery = await expectRecovered(dir, entryCount - 1);
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
      await writeFile(last, damaged);
      const recovery = await expectRecovered(dir, entryCount - 1);
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
    bytes[entryBytes + 500]! ^= 0x01; // inside the second entry's payload
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
    const reader = await WalReadOnly.open({ dir, headerCodec: bufferHeaderCodec, limits: smallLimits });
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

  it('a .wal file with a foreign name is refused', async () => {
    await writeFile(join(dir, 'backup.wal'), 'x');
    await expect(openTestWal(dir)).rejects.toThrow(/not a WAL segment name/);
  });
});
