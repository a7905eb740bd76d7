/**
 * Replay: yields entries in LSN order from `lsnFrom` through `lsnLast`, across segments. Used to
 * rebuild state after a restart and, read-only, to replay a dead broker's WAL.
 *
 * `lsnLast` is a snapshot of what is durable, taken by the caller before reading. Everything up to
 * it was validated by recovery or fdatasynced by group commit, so any damage met before reaching it
 * is corruption (an error), never a torn tail. Bytes after it (a group still being written) are
 * never parsed, which makes reading the live active segment safe.
 */
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import type { WalLimits } from '../limits.js';
import { WalCorruptError } from './errors.js';
import type { WalHeaderCodec } from './header-codec.js';
import type { WalIo } from './io.js';
import { SegmentScanner } from './segment-scanner.js';
import type { SegmentRef } from './segments.js';

export interface WalEntry<H> {
  lsn: number;
  header: H;
  /** A copy: replay may keep payloads (batches not yet uploaded) without pinning read buffers. */
  payload: Buffer;
}

export interface ReadRange {
  /** Snapshot of the segment list, in LSN order. */
  segments: readonly SegmentRef[];
  lsnFrom: number;
  lsnLast: number;
}

export interface ReadDeps<H> {
  codec: WalHeaderCodec<H>;
  limits: WalLimits;
  io: WalIo;
}

export async function* readEntries<H>(
  range: ReadRange,
  deps: ReadDeps<H>,
): AsyncGenerator<WalEntry<H>, void, undefined> {
  assert.ok(Number.isSafeInteger(range.lsnFrom) && range.lsnFrom >= 1, 'lsnFrom is valid');
  assert.ok(Number.isSafeInteger(range.lsnLast) && range.lsnLast >= 0, 'lsnLast is valid');
  if (range.lsnFrom > range.lsnLast) return;
  const first = segmentIndexFor(range.segments, range.lsnFrom);
  for (let index = first; index < range.segments.length; index++) {
    const segment = range.segments[index]!;
    if (segment.baseLsn > range.lsnLast) break;
    const file = await openSegment(segment, deps.io);
    try {
      for await (const entry of readSegment(file, segment, range, deps)) {
        yield entry;
        if (entry.lsn === range.lsnLast) return;
      }
    } finally {
      await file.close();
    }
  }
  throw new Error(`WAL replay ended before LSN ${range.lsnLast}: segments changed while reading`);
}

async function* readSegment<H>(
  file: FileHandle,
  segment: SegmentRef,
  range: ReadRange,
  deps: ReadDeps<H>,
): AsyncGenerator<WalEntry<H>, void, undefined> {
  const fileBytes = (await file.stat()).size;
  const scanner = new SegmentScanner(file, fileBytes, segment.baseLsn, deps.limits);
  for (;;) {
    const step = await scanner.next();
    if (step.kind === 'stop') {
      if (step.observation === 'end') return;
      const reason = `${step.observation} before durable LSN ${range.lsnLast}`;
      throw new WalCorruptError(segment.path, step.offsetBytes, reason);
    }
    assert.ok(step.lsn <= range.lsnLast, 'reading stops at lsnLast');
    if (step.lsn < range.lsnFrom) continue;
    const header = deps.codec.decode(step.header);
    yield { lsn: step.lsn, header, payload: Buffer.from(step.payload) };
  }
}

function segmentIndexFor(segments: readonly SegmentRef[], lsn: number): number {
  let index = -1;
  for (let i = 0; i < segments.length && segments[i]!.baseLsn <= lsn; i++) index = i;
  if (index === -1) {
    const oldest = segments[0]?.baseLsn ?? 'none';
    throw new Error(`WAL has no LSN ${lsn}: truncated (oldest segment starts at ${oldest})`);
  }
  return index;
}

async function openSegment(segment: SegmentRef, io: WalIo): Promise<FileHandle> {
  try {
    return await io.open(segment.path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new Error(`WAL segment ${segment.path} was deleted (truncateBefore) during replay`);
  }
}
