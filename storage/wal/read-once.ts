/**
 * One pass over another broker's WAL (read-only, its owner dead or fenced, as WalReadOnly): each
 * entry is validated as it is read, by recovery's decision tables (recovery.ts), and yielded only
 * if the caller wants it. A takeover of a dead broker's partitions (cluster/recover-partition.ts)
 * wants a few partitions' entries beyond their last upload; WalReadOnly.open first scans every
 * segment to validate it, and its readFrom then reads them all again and decodes and copies every
 * entry, and the failover waits for all of that. Here:
 *  - one scan: a torn tail ends the last segment, damage anywhere else throws (WalCorruptError)
 *    before any entry after it is yielded, as recovery would have refused to open the WAL;
 *  - `wanted` sees each entry's raw header first: an entry it refuses is not decoded or copied.
 * Each segment is read up to its size when it is opened: a fenced owner still writing adds
 * nothing it could have acknowledged.
 *
 * Where the read starts (decision table; checkpoint.ts says why stale is safe):
 *   owner's upload checkpoint                       start
 *   missing, torn, corrupt, or useCheckpoint false  the first byte of the oldest segment
 *   names a segment older than the oldest           the oldest segment (it was uploaded since)
 *   names no segment on disk, or a position past    the oldest segment (reading more is safe)
 *     its end, or the entry there is not its LSN
 *   valid, and the entry there carries its LSN      that position: the entries before it are
 *     (or the position is the segment's end)        uploaded and are neither read nor validated
 * From the start on, every entry goes through the same decision tables as a full read, and every
 * later segment must continue the LSNs. The report says which start was taken and why.
 */
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { assertWalLimits, walLimitsDefault, type WalLimits } from '../limits.js';
import { readCheckpoint, type WalPosition } from './checkpoint.js';
import { WalCorruptError } from './errors.js';
import { nodeWalIo, type WalIo } from './io.js';
import { assertOwnerDead } from './lock.js';
import type { WalEntry } from './reader.js';
import { decideEntry } from './recovery.js';
import { SegmentScanner } from './segment-scanner.js';
import { listSegments, type SegmentRef } from './segments.js';
import type { WalReadOnlyOptions } from './wal-read-only.js';

/** What one read did (filled in as it goes): the replay's cost is mostly these bytes. */
export interface ReadOnceReport {
  /** Bytes of segment files scanned, from the start position to each segment's end. */
  bytesRead: number;
  /** Bytes of segment files before the start position: uploaded, neither read nor validated. */
  bytesSkipped: number;
  /** Entries scanned, wanted or not. */
  entriesScanned: number;
  /** The checkpoint the read started from; null when it read every segment. */
  startedFrom: WalPosition | null;
  /** Why no checkpoint was used, when none was. */
  checkpointRefused: string | null;
}

export function emptyReadOnceReport(): ReadOnceReport {
  return { bytesRead: 0, bytesSkipped: 0, entriesScanned: 0, startedFrom: null,
    checkpointRefused: null };
}

export interface ReadOnceOptions<H> extends WalReadOnlyOptions<H> {
  /** Whether to yield the entry with this raw (undecoded) header; default every entry. */
  wanted?: (header: Buffer) => boolean;
  /** Start at the owner's upload checkpoint when it is valid (default true). */
  useCheckpoint?: boolean;
  /** Filled in as the read goes. */
  report?: ReadOnceReport;
}

/** Where a read starts: a segment of the list and a position in it. */
interface ReadStart {
  index: number;
  position: WalPosition;
}

/** The wanted entries from the start position on, in LSN order (see the file comment). */
export async function* readWalOnce<H>(options: ReadOnceOptions<H>):
  AsyncGenerator<WalEntry<H>, void, undefined> {
  const limits = { ...walLimitsDefault(), ...options.limits };
  assertWalLimits(limits);
  const io = options.io ?? nodeWalIo;
  const wanted = options.wanted ?? (() => true);
  const report = options.report ?? emptyReadOnceReport();
  if (options.ownerFencedByCoordinator !== true) {
    await assertOwnerDead(options.dir, options.remoteOwnerIsDead ?? false);
  }
  const segments = await listSegments(options.dir);
  if (segments.length === 0) return;
  const start = options.useCheckpoint === false ? 'checkpoint not used'
    : await checkpointStart(options.dir, segments, io, limits);
  if (typeof start === 'string') report.checkpointRefused = start;
  else {
    report.startedFrom = start.position;
    report.bytesSkipped = await bytesBefore(segments, start, io);
  }
  const { index, position } = typeof start === 'string' ? fullStart(segments) : start;
  let lsnNext = position.lsn;
  for (let i = index; i < segments.length; i++) {
    const ref = segments[i]!;
    const startBytes = i === index ? position.offsetBytes : 0;
    if (startBytes === 0 && ref.baseLsn !== lsnNext) {
      const why = `segment starts at LSN ${ref.baseLsn}, expected ${lsnNext}: a segment is missing`;
      throw new WalCorruptError(ref.path, 0, why);
    }
    const isLast = i === segments.length - 1;
    const file = await io.open(ref.path, 'r');
    let entryCount = 0;
    try {
      const fileBytes = (await file.stat()).size;
      report.bytesRead += Math.max(0, fileBytes - startBytes);
      const scan = { file, fileBytes, lsn: lsnNext, startBytes, isLast, path: ref.path };
      for await (const step of scanSegment(scan, limits)) {
        assert.equal(step.lsn, lsnNext + entryCount, 'entries come in LSN order');
        entryCount += 1;
        report.entriesScanned += 1;
        if (!wanted(step.header)) continue;
        const header = options.headerCodec.decode(step.header);
        yield { lsn: step.lsn, header, payload: Buffer.from(step.payload) };
      }
    } finally {
      await file.close();
    }
    if (!isLast && entryCount === 0 && startBytes === 0) {
      throw new WalCorruptError(ref.path, 0, 'empty segment that is not the last one');
    }
    lsnNext += entryCount;
  }
}

/** The bytes on disk before `start` (the files may shrink meanwhile: then 0 for them). */
async function bytesBefore(segments: readonly SegmentRef[], start: ReadStart, io: WalIo):
  Promise<number> {
  let bytes = start.position.offsetBytes;
  for (const ref of segments.slice(0, start.index)) {
    const file = await io.open(ref.path, 'r').catch(() => null);
    if (file === null) continue; // deleted since it was listed: it was uploaded
    try {
      bytes += (await file.stat()).size;
    } finally {
      await file.close();
    }
  }
  return bytes;
}

function fullStart(segments: readonly SegmentRef[]): ReadStart {
  const base = segments[0]!.baseLsn;
  return { index: 0, position: { lsn: base, segmentBaseLsn: base, offsetBytes: 0 } };
}

interface SegmentScan {
  file: FileHandle;
  fileBytes: number;
  lsn: number;
  startBytes: number;
  isLast: boolean;
  path: string;
}

/** The entries of one segment from `startBytes`, by recovery's decision table. */
async function* scanSegment(scan: SegmentScan, limits: WalLimits):
  AsyncGenerator<{ lsn: number; header: Buffer; payload: Buffer }, void, undefined> {
  const scanner = new SegmentScanner(scan.file, scan.fileBytes, scan.lsn, limits, scan.startBytes);
  for (;;) {
    const step = await scanner.next();
    if (step.kind === 'stop') {
      const decision = decideEntry(step.observation, scan.isLast);
      if (decision.action !== 'fail') return; // the segment's end, or the last one's torn tail
      const reason = `${step.observation}: ${decision.why}`;
      throw new WalCorruptError(scan.path, step.offsetBytes, reason);
    }
    yield step;
  }
}

/**
 * The owner's checkpoint as a start, once the entry at its position is seen to carry its LSN;
 * otherwise why not (the caller then reads every segment).
 */
async function checkpointStart(dir: string, segments: readonly SegmentRef[], io: WalIo,
  limits: WalLimits): Promise<ReadStart | string> {
  const position = await readCheckpoint(dir);
  if (typeof position === 'string') return position;
  const index = segments.findIndex((s) => s.baseLsn === position.segmentBaseLsn);
  if (index < 0) {
    return position.segmentBaseLsn < segments[0]!.baseLsn
      ? 'the checkpoint\'s segment was deleted since (uploaded)'
      : `the checkpoint names segment ${position.segmentBaseLsn}, which is not on disk`;
  }
  const file = await io.open(segments[index]!.path, 'r');
  try {
    const fileBytes = (await file.stat()).size;
    if (position.offsetBytes > fileBytes) return 'the checkpoint points past its segment\'s end';
    const scanner = new SegmentScanner(file, fileBytes, position.lsn, limits,
      position.offsetBytes);
    const step = await scanner.next();
    if (step.kind === 'stop' && step.observation !== 'end') {
      return `no entry ${position.lsn} at the checkpoint: ${step.observation}`;
    }
  } finally {
    await file.close();
  }
  return { index, position };
}
