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
 */
import assert from 'node:assert/strict';
import { assertWalLimits, walLimitsDefault } from '../limits.js';
import { WalCorruptError } from './errors.js';
import { nodeWalIo } from './io.js';
import { assertOwnerDead } from './lock.js';
import type { WalEntry } from './reader.js';
import { decideEntry } from './recovery.js';
import { SegmentScanner } from './segment-scanner.js';
import { listSegments } from './segments.js';
import type { WalReadOnlyOptions } from './wal-read-only.js';

export interface ReadOnceOptions<H> extends WalReadOnlyOptions<H> {
  /** Whether to yield the entry with this raw (undecoded) header; default every entry. */
  wanted?: (header: Buffer) => boolean;
}

/** The wanted entries of every segment, in LSN order (see the file comment). */
export async function* readWalOnce<H>(options: ReadOnceOptions<H>):
  AsyncGenerator<WalEntry<H>, void, undefined> {
  const limits = { ...walLimitsDefault(), ...options.limits };
  assertWalLimits(limits);
  const io = options.io ?? nodeWalIo;
  const wanted = options.wanted ?? (() => true);
  if (options.ownerFencedByCoordinator !== true) {
    await assertOwnerDead(options.dir, options.remoteOwnerIsDead ?? false);
  }
  const segments = await listSegments(options.dir);
  let lsnNext = segments[0]?.baseLsn ?? 1;
  for (const [index, ref] of segments.entries()) {
    if (ref.baseLsn !== lsnNext) {
      const why = `segment starts at LSN ${ref.baseLsn}, expected ${lsnNext}: a segment is missing`;
      throw new WalCorruptError(ref.path, 0, why);
    }
    const isLast = index === segments.length - 1;
    const file = await io.open(ref.path, 'r');
    let entryCount = 0;
    try {
      const scanner = new SegmentScanner(file, (await file.stat()).size, ref.baseLsn, limits);
      for (;;) {
        const step = await scanner.next();
        if (step.kind === 'stop') {
          const decision = decideEntry(step.observation, isLast);
          if (decision.action !== 'fail') break; // the segment's end, or the last one's torn tail
          const reason = `${step.observation}: ${decision.why}`;
          throw new WalCorruptError(ref.path, step.offsetBytes, reason);
        }
        assert.equal(step.lsn, ref.baseLsn + entryCount, 'entries come in LSN order');
        entryCount += 1;
        if (!wanted(step.header)) continue;
        const header = options.headerCodec.decode(step.header);
        yield { lsn: step.lsn, header, payload: Buffer.from(step.payload) };
      }
    } finally {
      await file.close();
    }
    if (!isLast && entryCount === 0) {
      throw new WalCorruptError(ref.path, 0, 'empty segment that is not the last one');
    }
    lsnNext = ref.baseLsn + entryCount;
  }
}
