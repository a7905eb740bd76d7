/**
 * The one segment file being appended to. It writes whole groups at explicit positions, makes them
 * durable (an O_DSYNC write, or a write and fdatasync: io.ts), and rolls to a new file when the
 * next group would not fit.
 *
 * Crash-safety rules this file keeps (recovery.ts relies on them):
 * - A group goes into exactly one segment; a roll happens only between groups, after the previous
 *   group's fdatasync. So every segment but the last is completely durable at any crash.
 * - A new segment's directory entry is fsynced before any entry in it can be acknowledged;
 *   otherwise a crash could forget the file along with acknowledged entries.
 * - The file is opened 'wx' (O_EXCL): a roll never reuses or overwrites an existing segment.
 *
 * A full disk (ENOSPC, EDQUOT) is not a failure of what is durable: a write that runs out of space
 * is cut off again (truncate to the durable size, fdatasync), the segment stays as it was, and
 * WalNoSpaceError tells the caller the group was not written. It then rolls to an empty segment,
 * so that the one it filled can be deleted once uploaded (the active segment never is). A failed
 * fdatasync stays fatal whatever its errno: the kernel may have dropped pages of earlier writes.
 * With O_DSYNC a failed sync is a failed write: fatal too, except ENOSPC, which can only concern
 * this group (every earlier one was durable when its write returned) and is cut off as above.
 */
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isNoSpace, WalNoSpaceError } from './errors.js';
import type { WalPosition } from './checkpoint.js';
import type { WalIo } from './io.js';
import { writeAll } from './io.js';
import type { WalMetrics } from './metrics.js';
import type { SegmentRecovered } from './recovery.js';
import { segmentFileName, type SegmentSet } from './segments.js';

export interface ActiveSegmentDeps {
  dir: string;
  io: WalIo;
  segmentBytesMax: number;
  segments: SegmentSet;
  metrics: WalMetrics;
}

/** As WalFsyncSample: with O_DSYNC the sync is the write, and writeMs is 0. */
export interface GroupTiming {
  writeMs: number;
  fsyncMs: number;
}

/** Creates an empty segment file and makes its directory entry durable. */
export async function createSegmentFile(
  dir: string,
  baseLsn: number,
  io: WalIo,
): Promise<{ path: string; file: FileHandle }> {
  const path = join(dir, segmentFileName(baseLsn));
  const file = await io.open(path, 'wx');
  try {
    await io.syncDir(dir);
  } catch (err) {
    await file.close();
    // Not left behind: a later roll to the same base LSN would fail on it (O_EXCL).
    await io.unlink(path).catch(() => undefined);
    throw err;
  }
  return { path, file };
}

export class ActiveSegment {
  private constructor(
    private readonly deps: ActiveSegmentDeps,
    private file: FileHandle,
    private baseLsn: number,
    /** Durable bytes: everything before this offset has been fdatasynced. */
    private sizeBytes: number,
    /** LSN the next entry written to this segment must carry. */
    private lsnNext: number,
  ) {}

  static async resume(
    deps: ActiveSegmentDeps,
    recovered: SegmentRecovered,
  ): Promise<ActiveSegment> {
    assert.equal(deps.segments.active().path, recovered.path, 'resume the last segment');
    // No bound check against segmentBytesMax: a segment written under a larger limit is fine,
    // prepareGroup simply rolls before the first append.
    assert.ok(recovered.sizeBytes >= 0 && recovered.entryCount >= 0, 'recovered counts valid');
    const file = await deps.io.open(recovered.path, 'r+');
    const lsnNext = recovered.baseLsn + recovered.entryCount;
    return new ActiveSegment(deps, file, recovered.baseLsn, recovered.sizeBytes, lsnNext);
  }

  /** Where the next entry goes: everything before it is written (an upload checkpoint mark). */
  endPosition(): WalPosition {
    return { lsn: this.lsnNext, segmentBaseLsn: this.baseLsn, offsetBytes: this.sizeBytes };
  }

  /**
   * Makes room for a group starting with an entry of `entryBytes` at `lsnFirst`, rolling if that
   * entry does not fit. Returns the bytes the group may use in the (possibly new) segment.
   */
  async prepareGroup(lsnFirst: number, entryBytes: number): Promise<number> {
    assert.equal(lsnFirst, this.lsnNext, 'groups arrive in LSN order without gaps');
    assert.ok(entryBytes < this.deps.segmentBytesMax, 'limits keep an entry below a segment');
    if (this.sizeBytes + entryBytes > this.deps.segmentBytesMax) {
      try {
        await this.roll(lsnFirst);
      } catch (err) {
        // roll() changes nothing before the new file exists, so the old segment stays active.
        if (isNoSpace(err)) throw new WalNoSpaceError(this.deps.dir, err);
        throw err;
      }
    }
    const roomBytes = this.deps.segmentBytesMax - this.sizeBytes;
    assert.ok(roomBytes >= entryBytes, 'the head entry fits after any roll');
    return roomBytes;
  }

  async writeGroup(buffers: Buffer[], bytes: number, entries: number): Promise<GroupTiming> {
    assert.ok(entries >= 1 && buffers.length >= entries && bytes >= entries,
      'a group is not empty');
    assert.ok(this.sizeBytes + bytes <= this.deps.segmentBytesMax, 'prepareGroup made room');
    // Timing is for metrics only, so reading the clock here does not affect any decision.
    const startMs = performance.now();
    try {
      await writeAll(this.deps.io, this.file, buffers, this.sizeBytes);
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      await this.discardUnsynced();
      await this.rollEmptyAfterNoSpace();
      throw new WalNoSpaceError(this.deps.dir, err);
    }
    const writtenMs = performance.now();
    // An O_DSYNC write is durable when it returns; its time is the group's sync time.
    if (!this.deps.io.writesDurable) await this.deps.io.datasync(this.file);
    const syncedMs = performance.now();
    this.sizeBytes += bytes;
    this.lsnNext += entries;
    return this.deps.io.writesDurable ? { writeMs: 0, fsyncMs: syncedMs - startMs }
      : { writeMs: writtenMs - startMs, fsyncMs: syncedMs - writtenMs };
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /**
   * Cuts what a write that ran out of space left past the durable size. Otherwise a later, shorter
   * group could leave whole stale entries after it, which recovery would replay with reused LSNs.
   * Shrinking needs no space; if it fails anyway the caller treats it as a WAL failure.
   */
  private async discardUnsynced(): Promise<void> {
    await this.deps.io.truncate(this.file, this.sizeBytes);
    await this.deps.io.datasync(this.file);
  }

  /**
   * A full disk: start an empty segment so the full one (all durable) can be trimmed once
   * uploaded. An empty file needs no data blocks; if even that fails, the next try rolls.
   */
  private async rollEmptyAfterNoSpace(): Promise<void> {
    if (this.sizeBytes === 0) return;
    try {
      await this.roll(this.lsnNext);
    } catch (err) {
      if (!isNoSpace(err)) throw err;
    }
  }

  private async roll(baseLsn: number): Promise<void> {
    assert.ok(this.sizeBytes > 0, 'never roll an empty segment (recovery rejects those)');
    assert.ok(baseLsn > this.baseLsn, 'the new segment starts after the old one');
    // The old file's bytes were all fdatasynced by writeGroup; closing it loses nothing.
    const created = await createSegmentFile(this.deps.dir, baseLsn, this.deps.io);
    const old = this.file;
    this.file = created.file;
    this.baseLsn = baseLsn;
    this.sizeBytes = 0;
    this.deps.segments.add({ baseLsn, path: created.path });
    this.deps.metrics.segmentsRolled += 1;
    await old.close();
  }
}
