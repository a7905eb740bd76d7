/**
 * The upload checkpoint: a small file next to the WAL's segments saying where the part of the WAL
 * that is not yet in object storage begins: the LSN of an entry X below which every entry of every
 * partition is uploaded, the segment that holds X and the byte position where X starts. A broker
 * that replays a dead peer's WAL (read-once.ts) starts there instead of at the first byte of the
 * oldest segment: the owner deletes only whole segments once uploaded (wal.ts truncateBefore), so
 * a replay otherwise reads up to a whole segment (walSegmentBytesMax) that is already uploaded.
 *
 *   offset  size  field
 *        0     4  magic          "LSCK"
 *        4     4  version        u32, 1
 *        8     8  lsn            u64, X: every entry below it is uploaded
 *       16     8  segmentBaseLsn u64, the segment holding X (or ending right before it)
 *       24     8  offsetBytes    u64, where X starts in that segment
 *       32     4  crc32c         u32, over bytes 0..31
 *
 * Safety: reading more than needed is always correct, reading less never is. So the file only
 * ever names a position whose LSN the owner has declared uploaded (truncateBefore's bound); it is
 * replaced by write-temp + rename (a reader sees the old file or the new one, whole); it is not
 * fsynced: after a power loss it may be stale, torn or gone, and a stale one is safe while a torn
 * or missing one fails its checks, and the reader then reads everything (as without the file).
 * The reader also checks that the entry at the position carries the named LSN (read-once.ts).
 */
import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../protocol/records/crc32c.js';

export const checkpointFileName = 'upload-checkpoint';
const checkpointTempName = `${checkpointFileName}.tmp`;
const magic = 0x4c53434b; // "LSCK"
const checkpointVersion = 1;
export const checkpointBytes = 36;
const crcOffset = 32;

/** A WAL position: the entry with `lsn` starts at `offsetBytes` of segment `segmentBaseLsn`. */
export interface WalPosition {
  lsn: number;
  segmentBaseLsn: number;
  offsetBytes: number;
}

export function assertPosition(p: WalPosition): void {
  assert.ok(Number.isSafeInteger(p.lsn) && Number.isSafeInteger(p.segmentBaseLsn)
    && Number.isSafeInteger(p.offsetBytes), 'positions are integers');
  assert.ok(p.segmentBaseLsn >= 1 && p.lsn >= p.segmentBaseLsn && p.offsetBytes >= 0,
    'a position lies inside its segment');
  assert.equal(p.offsetBytes === 0, p.lsn === p.segmentBaseLsn, 'a segment starts with its base');
}

export function encodeCheckpoint(p: WalPosition): Buffer {
  assertPosition(p);
  const out = Buffer.alloc(checkpointBytes);
  out.writeUInt32BE(magic, 0);
  out.writeUInt32BE(checkpointVersion, 4);
  out.writeBigUInt64BE(BigInt(p.lsn), 8);
  out.writeBigUInt64BE(BigInt(p.segmentBaseLsn), 16);
  out.writeBigUInt64BE(BigInt(p.offsetBytes), 24);
  out.writeUInt32BE(crc32c(out.subarray(0, crcOffset)), crcOffset);
  return out;
}

/** The position, or why the bytes are not a checkpoint this code wrote whole. */
export function decodeCheckpoint(bytes: Buffer): WalPosition | string {
  if (bytes.length !== checkpointBytes) return `${bytes.length} bytes, not ${checkpointBytes}`;
  if (bytes.readUInt32BE(crcOffset) !== crc32c(bytes.subarray(0, crcOffset))) {
    return 'checksum mismatch';
  }
  if (bytes.readUInt32BE(0) !== magic) return 'not a checkpoint file';
  if (bytes.readUInt32BE(4) !== checkpointVersion) return `version ${bytes.readUInt32BE(4)}`;
  const [lsn, segmentBaseLsn, offsetBytes] = [8, 16, 24].map((at) => bytes.readBigUInt64BE(at));
  const p = { lsn: Number(lsn), segmentBaseLsn: Number(segmentBaseLsn),
    offsetBytes: Number(offsetBytes) };
  const sane = Number.isSafeInteger(p.lsn) && Number.isSafeInteger(p.offsetBytes)
    && p.segmentBaseLsn >= 1 && p.lsn >= p.segmentBaseLsn
    && (p.offsetBytes === 0) === (p.lsn === p.segmentBaseLsn);
  return sane ? p : 'position out of range';
}

/** The folder's checkpoint, or why there is none to use (missing, torn, corrupt). */
export async function readCheckpoint(dir: string): Promise<WalPosition | string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, checkpointFileName));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'no checkpoint file';
    throw err;
  }
  return decodeCheckpoint(bytes);
}

/** Replaces the folder's checkpoint whole (write-temp + rename; no fsync, see the file comment). */
export async function writeCheckpoint(dir: string, p: WalPosition): Promise<void> {
  const temp = join(dir, checkpointTempName);
  await writeFile(temp, encodeCheckpoint(p));
  await rename(temp, join(dir, checkpointFileName));
}

export interface CheckpointLimits {
  /** At most one checkpoint write per this many ms: it is off the hot path, and stale is safe. */
  checkpointIntervalMs: number;
  /** Positions remembered until their LSN is uploaded; when full, no new one is taken. */
  checkpointMarksMax: number;
}

/**
 * Decides what the owner writes. The WAL knows byte positions only of its end, so each call
 * remembers the end as a mark; a later call whose upload bound has passed a mark's LSN may write
 * that mark. The checkpoint therefore lags the upload bound by about one upload, and never names
 * an LSN beyond the bound it was given.
 */
export class CheckpointTracker {
  private readonly marks: WalPosition[] = [];
  private written: WalPosition | null = null;
  private writtenAtMs = -Infinity;

  constructor(private readonly dir: string, private readonly limits: CheckpointLimits) {
    assert.ok(limits.checkpointIntervalMs >= 0 && limits.checkpointMarksMax >= 1, 'limits');
  }

  /** The position last written by this process, if any (tests and logs). */
  get lastWritten(): WalPosition | null {
    return this.written;
  }

  /**
   * Every entry below `lsnUploaded` is in object storage; `end` is where the next entry will go;
   * `oldestSegmentBaseLsn` is the oldest segment still on disk. Writes a newer checkpoint when one
   * is due. A failed write leaves the previous file, which is stale and so still safe.
   */
  async advance(lsnUploaded: number, end: WalPosition, oldestSegmentBaseLsn: number,
    nowMs: number): Promise<void> {
    assertPosition(end);
    let chosen: WalPosition | null = null;
    if (nowMs - this.writtenAtMs >= this.limits.checkpointIntervalMs) {
      while (this.marks.length > 0 && this.marks[0]!.lsn <= lsnUploaded) {
        chosen = this.marks.shift()!;
      }
      if (end.lsn <= lsnUploaded) chosen = end;
    }
    const newest = this.marks.at(-1) ?? chosen ?? this.written;
    if (this.marks.length < this.limits.checkpointMarksMax && end.lsn > (newest?.lsn ?? 0)) {
      this.marks.push(end);
    }
    if (chosen === null || chosen.segmentBaseLsn < oldestSegmentBaseLsn) return;
    if (this.written !== null && chosen.lsn <= this.written.lsn) return;
    // The invariant the reader relies on: nothing at or past the checkpoint is skipped.
    assert.ok(chosen.lsn <= lsnUploaded, `checkpoint ${chosen.lsn} past the upload bound`);
    try {
      await writeCheckpoint(this.dir, chosen);
    } catch {
      return; // the old file stays: stale, so safe; the next call tries again
    }
    this.written = chosen;
    this.writtenAtMs = nowMs;
  }
}
