/**
 * WAL recovery: scan every segment forward, and decide from explicit tables what each observation
 * means. Run when a WAL is opened, before any append.
 *
 * Why only the last segment may have a torn tail: group commit writes each group into exactly one
 * segment and rolls to a new segment only after the previous one is fdatasynced (group-commit.ts,
 * active-segment.ts). So at a crash every segment but the last is completely durable, and damage
 * there is corruption, not a torn write. The last segment may end in a write that the crash cut
 * short (never acknowledged, because appends resolve only after fdatasync), so recovery cuts it.
 *
 * What the tables cannot tell apart: a flipped bit inside an acknowledged entry of the last segment
 * looks the same as a torn write, so it is truncated too (with everything after it). Telling them
 * apart needs redundant headers (TigerBeetle) or a durable "synced up to" mark; not done yet.
 */
import assert from 'node:assert/strict';
import type { WalLimits } from '../limits.js';
import type { EntryObservation } from './entry.js';
import { WalCorruptError } from './errors.js';
import type { WalIo } from './io.js';
import { SegmentScanner } from './segment-scanner.js';
import { listSegments, type SegmentRef } from './segments.js';

type EntryAction =
  | 'accept' // count it and continue
  | 'segment-end' // clean end of this segment; continue with the next
  | 'truncate' // torn tail: cut the file here (read-only mode: stop here, change nothing)
  | 'fail'; // refuse to open: data we acknowledged may be lost or misordered

interface EntryDecision {
  last: EntryAction;
  notLast: EntryAction;
  why: string;
}

/**
 * Decision table for one entry position. Rows: what entry.ts observed at the position. Columns:
 * whether the segment is the last one (the only one a crash can leave half-written).
 */
export const entryDecisions: Readonly<Record<EntryObservation, EntryDecision>> = {
  valid: { last: 'accept', notLast: 'accept', why: 'checksum, version and LSN all match' },
  end: { last: 'segment-end', notLast: 'segment-end', why: 'file ends on an entry boundary' },
  'short-frame': {
    last: 'truncate',
    notLast: 'fail',
    why: 'file ends inside an entry frame: a torn write',
  },
  'length-invalid': {
    last: 'truncate',
    notLast: 'fail',
    why: 'length field out of range: torn or zero-filled tail',
  },
  'short-body': {
    last: 'truncate',
    notLast: 'fail',
    why: 'length field points past the end of the file: a torn write',
  },
  'checksum-mismatch': {
    last: 'truncate',
    notLast: 'fail',
    why: 'checksum mismatch: a torn write in the last segment, bit rot anywhere else',
  },
  'version-unknown': {
    last: 'fail',
    notLast: 'fail',
    why: 'checksum ok but entry version unknown: written by newer code, do not truncate it',
  },
  'lsn-unexpected': {
    last: 'fail',
    notLast: 'fail',
    why: 'checksum ok but LSN out of sequence: a misplaced file or a WAL bug',
  },
  'header-invalid': {
    last: 'fail',
    notLast: 'fail',
    why: 'checksum ok but header length exceeds the entry: a WAL bug',
  },
};

/**
 * Decision table for whole segments, checked around the entry scan.
 *
 *   situation                                   action
 *   no segment files                            writable: create segment at LSN 1; read-only: empty
 *   base LSN != previous segment's next LSN     fail: a segment is missing or misnamed
 *   segment other than the last has no entries  fail: we roll only after writing to a segment
 *   last segment has no entries                 accept: crash right after a roll, or a new WAL
 */
export function decideEntry(observation: EntryObservation, isLast: boolean): EntryDecision & {
  action: EntryAction;
} {
  const decision = entryDecisions[observation];
  assert.ok(decision !== undefined, `every observation has a row: ${observation}`);
  const action = isLast ? decision.last : decision.notLast;
  // Only the last segment can be cut: cutting an earlier one would drop acknowledged entries.
  assert.ok(action !== 'truncate' || isLast, 'truncate only the last segment');
  return { ...decision, action };
}

export interface SegmentRecovered extends SegmentRef {
  entryCount: number;
  /** Size after any truncation: where the next append to this segment goes. */
  sizeBytes: number;
}

export interface WalRecoveryReport {
  /** In LSN order; empty if the folder had none (a writable open then creates the first). */
  segments: SegmentRecovered[];
  /** LSN of the oldest entry, or null if the WAL holds no entries. */
  lsnFirst: number | null;
  /** lsnNext - 1: the newest valid entry's LSN if the WAL holds any (0 for a new WAL). */
  lsnLast: number;
  /** The LSN the next append receives. */
  lsnNext: number;
  entryCount: number;
  /** The torn tail found in the last segment (cut in writable mode, skipped in read-only). */
  tornTail: TornTail | null;
}

export interface TornTail {
  path: string;
  offsetBytes: number;
  droppedBytes: number;
  observation: EntryObservation;
  why: string;
}

export interface RecoverOptions {
  dir: string;
  mode: 'writable' | 'read-only';
  limits: WalLimits;
  io: WalIo;
}

/** Scans and validates the WAL in `dir`; in writable mode also cuts a torn tail (and fsyncs). */
export async function recoverWal(options: RecoverOptions): Promise<WalRecoveryReport> {
  const segmentRefs = await listSegments(options.dir);
  const segments: SegmentRecovered[] = [];
  let tornTail: TornTail | null = null;
  let lsnNext = segmentRefs[0]?.baseLsn ?? 1;
  for (const [index, ref] of segmentRefs.entries()) {
    const isLast = index === segmentRefs.length - 1;
    if (ref.baseLsn !== lsnNext) {
      const why = `segment starts at LSN ${ref.baseLsn}, expected ${lsnNext}: a segment is missing`;
      throw new WalCorruptError(ref.path, 0, why);
    }
    const scanned = await recoverSegment(options, ref, isLast);
    if (!isLast && scanned.segment.entryCount === 0) {
      throw new WalCorruptError(ref.path, 0, 'empty segment that is not the last one');
    }
    segments.push(scanned.segment);
    tornTail = scanned.tornTail ?? tornTail;
    lsnNext = ref.baseLsn + scanned.segment.entryCount;
  }
  const entryCount = segments.reduce((sum, s) => sum + s.entryCount, 0);
  assert.ok(tornTail === null || tornTail.path === segments.at(-1)?.path, 'torn tail is last');
  assert.equal(lsnNext - (segments[0]?.baseLsn ?? 1), entryCount, 'LSNs are contiguous');
  const lsnFirst = entryCount > 0 ? segments[0]!.baseLsn : null;
  return { segments, lsnFirst, lsnLast: lsnNext - 1, lsnNext, entryCount, tornTail };
}

async function recoverSegment(
  options: RecoverOptions,
  ref: SegmentRef,
  isLast: boolean,
): Promise<{ segment: SegmentRecovered; tornTail: TornTail | null }> {
  const writable = options.mode === 'writable' && isLast;
  const file = await options.io.open(ref.path, writable ? 'r+' : 'r');
  try {
    const fileBytes = (await file.stat()).size;
    const scanner = new SegmentScanner(file, fileBytes, ref.baseLsn, options.limits);
    let entryCount = 0;
    for (;;) {
      const step = await scanner.next();
      const decision = decideEntry(step.kind === 'entry' ? 'valid' : step.observation, isLast);
      if (step.kind === 'entry') {
        assert.equal(decision.action, 'accept', 'a valid entry is accepted');
        entryCount += 1;
        continue;
      }
      if (decision.action === 'fail') {
        const reason = `${step.observation}: ${decision.why}`;
        throw new WalCorruptError(ref.path, step.offsetBytes, reason);
      }
      const segment = { ...ref, entryCount, sizeBytes: step.offsetBytes };
      if (decision.action === 'segment-end') return { segment, tornTail: null };
      assert.equal(decision.action, 'truncate', 'the only action left');
      if (writable) {
        await options.io.truncate(file, step.offsetBytes);
        await options.io.datasync(file);
      }
      const tornTail: TornTail = {
        path: ref.path,
        offsetBytes: step.offsetBytes,
        droppedBytes: fileBytes - step.offsetBytes,
        observation: step.observation,
        why: decision.why,
      };
      return { segment, tornTail };
    }
  } finally {
    await file.close();
  }
}
