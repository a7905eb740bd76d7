/**
 * The upload checkpoint (storage/wal/checkpoint.ts) as the owner writes it (wal.ts truncateBefore)
 * and as a peer's replay uses it (read-once.ts): real segment files, real reads, bytes counted.
 */
import { readFile, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkpointFileName, encodeCheckpoint, readCheckpoint, writeCheckpoint, type WalPosition,
} from '../../../storage/wal/checkpoint.js';
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import {
  emptyReadOnceReport, readWalOnce, type ReadOnceReport,
} from '../../../storage/wal/read-once.js';
import type { Wal } from '../../../storage/wal/wal.js';
import {
  appendNumbered, collect, makeTempDir, numberOf, openTestWal, payloadFor, smallLimits,
} from './helpers.js';

/** 19 frame + 8 header + 973 payload = 1000 bytes: 16 entries fill a 16 KiB segment. */
const payloadBytes = 973;
const entryBytes = 1000;

async function replay(dir: string, useCheckpoint = true):
  Promise<{ numbers: number[]; report: ReadOnceReport }> {
  const report = emptyReadOnceReport();
  const entries = await collect(readWalOnce({ dir, headerCodec: bufferHeaderCodec,
    limits: smallLimits, report, useCheckpoint, ownerFencedByCoordinator: true }));
  for (const e of entries) expect(e.payload.equals(payloadFor(numberOf(e.header), payloadBytes)));
  return { numbers: entries.map((e) => numberOf(e.header)), report };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Entries 1-50 (LSN = number): segments 1, 17, 33 (full) and 49. Uploaded below 45, so
 * segments 1 and 17 are deleted and the checkpoint names entry 41 (the WAL's end at the
 * previous trim), at byte 8000 of segment 33: without it a replay reads 33-40 again.
 */
async function walUploadedBelow45(dir: string): Promise<Wal<Buffer>> {
  let nowMs = 0;
  const wal = await openTestWal(dir, { nowMs: () => nowMs });
  await appendNumbered(wal, 1, 40, payloadBytes);
  await wal.truncateBefore(21);
  expect(await readCheckpoint(dir)).toBe('no checkpoint file'); // no mark below 21 yet
  await appendNumbered(wal, 41, 10, payloadBytes);
  nowMs += 1000;
  await wal.truncateBefore(45);
  return wal;
}

describe('WAL upload checkpoint: the owner', () => {
  let dir = '';
  let cleanup = async () => {};
  let nowMs = 0;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('checkpoint')));
  afterEach(() => cleanup());

  it('a replay starts at the checkpoint: reads only from it, yields exactly the rest', async () => {
    const wal = await walUploadedBelow45(dir);
    await wal.close();
    expect(await readCheckpoint(dir)).toEqual({ lsn: 41, segmentBaseLsn: 33, offsetBytes: 8000 });
    const fromCheckpoint = await replay(dir);
    expect(fromCheckpoint.numbers).toEqual(range(41, 50));
    expect(fromCheckpoint.report).toEqual({ bytesRead: 10 * entryBytes,
      bytesSkipped: 8 * entryBytes, entriesScanned: 10, checkpointRefused: null,
      startedFrom: { lsn: 41, segmentBaseLsn: 33, offsetBytes: 8000 } });
    const full = await replay(dir, false);
    expect(full.numbers).toEqual(range(33, 50));
    expect(full.report.bytesRead).toBe(18 * entryBytes);
  });

  it('the owner never checkpoints past the upload bound it was given', async () => {
    nowMs = 0;
    const wal = await openTestWal(dir, { nowMs: () => nowMs });
    let bound = 1;
    for (let round = 1; round <= 40; round++) {
      await appendNumbered(wal, wal.lsnDurable + 1, 1 + (round % 5), payloadBytes);
      // The bound moves by uneven steps and sometimes not at all; the clock sometimes stands.
      bound = Math.min(wal.lsnDurable + 1, bound + (round % 3 === 0 ? 0 : 1 + (round % 4)));
      nowMs += round % 2 === 0 ? 0 : 150;
      await wal.truncateBefore(bound);
      const written = await readCheckpoint(dir);
      if (typeof written === 'string') continue;
      expect(written.lsn).toBeLessThanOrEqual(bound);
      const read = await replay(dir);
      if (read.report.checkpointRefused === null) {
        expect(read.numbers).toEqual(range(written.lsn, wal.lsnDurable));
      } else { // its segment was deleted by a trim within the interval: stale, so read it all
        expect(read.report.checkpointRefused).toMatch(/deleted/);
        expect(read.numbers).toEqual(range(wal.lsnOldest, wal.lsnDurable));
      }
    }
    expect(typeof await readCheckpoint(dir)).toBe('object'); // it did advance
    await wal.close();
  });

  it('the checkpoint waits out its interval: at most one write per walCheckpointIntervalMs',
    async () => {
      nowMs = 0;
      const wal = await openTestWal(dir, { nowMs: () => nowMs });
      await appendNumbered(wal, 1, 5, payloadBytes);
      await wal.truncateBefore(6);
      expect(await readCheckpoint(dir)).toMatchObject({ lsn: 6 });
      await appendNumbered(wal, 6, 5, payloadBytes);
      await wal.truncateBefore(11); // same instant: not written
      expect(await readCheckpoint(dir)).toMatchObject({ lsn: 6 });
      nowMs += 100;
      await wal.truncateBefore(11);
      expect(await readCheckpoint(dir)).toMatchObject({ lsn: 11 });
      await wal.close();
    });

});

describe('WAL upload checkpoint: a replay', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('checkpoint')));
  afterEach(() => cleanup());

  it('a position at the end of a full segment continues in the next one', async () => {
    const wal = await walUploadedBelow45(dir);
    await wal.close();
    await writeCheckpoint(dir, { lsn: 49, segmentBaseLsn: 33, offsetBytes: 16 * entryBytes });
    const read = await replay(dir);
    expect(read.numbers).toEqual([49, 50]);
    expect(read.report.bytesRead).toBe(2 * entryBytes);
  });

  const fallbacks: Array<[string, (file: string) => Promise<void>, RegExp]> = [
    ['missing', (file) => unlink(file), /no checkpoint file/],
    ['torn', (file) => truncate(file, 20), /20 bytes/],
    ['corrupt', async (file) => {
      const bytes = await readFile(file);
      bytes[12]! ^= 0x01;
      await writeFile(file, bytes);
    }, /checksum/],
    ['naming a deleted segment', (file) => writeFile(file,
      encodeCheckpoint({ lsn: 5, segmentBaseLsn: 1, offsetBytes: 4000 })), /deleted/],
    ['naming a segment not on disk', (file) => writeFile(file,
      encodeCheckpoint({ lsn: 70, segmentBaseLsn: 65, offsetBytes: 5000 })), /not on disk/],
    ['past its segment\'s end', (file) => writeFile(file,
      encodeCheckpoint({ lsn: 60, segmentBaseLsn: 49, offsetBytes: 11 * entryBytes })), /past/],
    ['whose LSN is not the entry at its position', (file) => writeFile(file,
      encodeCheckpoint({ lsn: 42, segmentBaseLsn: 33, offsetBytes: 8000 })), /no entry 42/],
    ['off an entry boundary', (file) => writeFile(file,
      encodeCheckpoint({ lsn: 41, segmentBaseLsn: 33, offsetBytes: 8001 })), /no entry 41/],
  ];
  for (const [name, damage, why] of fallbacks) {
    it(`a checkpoint ${name} is refused: the replay reads every segment`, async () => {
      const wal = await walUploadedBelow45(dir);
      await wal.close();
      await damage(join(dir, checkpointFileName));
      const read = await replay(dir);
      expect(read.report.checkpointRefused).toMatch(why);
      expect(read.report.startedFrom).toBeNull();
      expect(read.numbers).toEqual(range(33, 50));
      expect(read.report.bytesRead).toBe(18 * entryBytes);
    });
  }

  it('a stale checkpoint (older than the upload bound) reads more, never less', async () => {
    const wal = await walUploadedBelow45(dir);
    await wal.close();
    const stale: WalPosition = { lsn: 37, segmentBaseLsn: 33, offsetBytes: 4000 };
    await writeCheckpoint(dir, stale);
    const read = await replay(dir);
    expect(read.report.startedFrom).toEqual(stale);
    expect(read.numbers).toEqual(range(37, 50));
  });

  it('damage after the checkpoint is judged as in a full read', async () => {
    const wal = await walUploadedBelow45(dir);
    await wal.close();
    // Bit rot in a full segment past the checkpoint: never skipped, always an error.
    const segment = join(dir, '00000000000000000033.wal');
    const bytes = await readFile(segment);
    bytes[12 * entryBytes + 500]! ^= 0x01;
    await writeFile(segment, bytes);
    await expect(replay(dir)).rejects.toThrow(/checksum/);
  });
});
