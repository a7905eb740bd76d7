/**
 * Reads one segment file forward, entry by entry, through a bounded buffer. It only observes; it
 * never decides what a bad entry means (recovery.ts does) and never writes.
 *
 * Memory: the buffer is `readChunkBytes`, or one entry if an entry is larger; never more than the
 * file's size. Each refill allocates a fresh buffer, so views returned by earlier steps stay valid.
 */
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import type { WalLimits } from '../limits.js';
import { entryBytesFormatMax, inspectEntry, type EntryObservation } from './entry.js';

export type ScanStep =
  | {
      kind: 'entry';
      offsetBytes: number;
      entryBytes: number;
      lsn: number;
      /** Views of the read buffer: copy anything kept beyond the next few steps. */
      header: Buffer;
      payload: Buffer;
    }
  | { kind: 'stop'; offsetBytes: number; observation: Exclude<EntryObservation, 'valid'> };

export class SegmentScanner {
  private chunk: Buffer = Buffer.alloc(0);
  /** File position of chunk[0]. */
  private chunkStartBytes = 0;
  private offsetBytes = 0;
  private lsnExpected: number;
  private stopped = false;

  constructor(
    private readonly file: FileHandle,
    /** Bytes to scan: the file size, or less for a live segment whose tail is still in flight. */
    private readonly fileBytes: number,
    baseLsn: number,
    private readonly limits: Pick<WalLimits, 'readChunkBytes'>,
    /** Where to start: 0 (with `baseLsn` the segment's base), or an entry's start (and its LSN). */
    startBytes = 0,
  ) {
    assert.ok(Number.isSafeInteger(fileBytes) && fileBytes >= 0, 'file size is an integer');
    assert.ok(Number.isSafeInteger(baseLsn) && baseLsn >= 1, 'base lsn is valid');
    assert.ok(Number.isSafeInteger(startBytes) && startBytes >= 0 && startBytes <= fileBytes,
      'the scan starts inside the file');
    this.lsnExpected = baseLsn;
    this.offsetBytes = startBytes;
    this.chunkStartBytes = startBytes;
  }

  async next(): Promise<ScanStep> {
    assert.ok(!this.stopped, 'a scanner is not advanced past its stop');
    for (;;) {
      const window = this.chunk.subarray(this.offsetBytes - this.chunkStartBytes);
      const bytesRemaining = this.fileBytes - this.offsetBytes;
      const lsn = this.lsnExpected;
      const inspection = inspectEntry(window, bytesRemaining, lsn, entryBytesFormatMax);
      if (inspection.kind === 'need-bytes') {
        await this.refill(inspection.bytes);
        continue;
      }
      if (inspection.kind === 'observed') {
        this.stopped = true;
        return { kind: 'stop', offsetBytes: this.offsetBytes, observation: inspection.observation };
      }
      const step: ScanStep = { ...inspection, kind: 'entry', offsetBytes: this.offsetBytes };
      this.offsetBytes += inspection.entryBytes;
      this.lsnExpected += 1;
      assert.ok(this.offsetBytes <= this.fileBytes, 'entries stay inside the file');
      return step;
    }
  }

  private async refill(bytesNeeded: number): Promise<void> {
    const bytesAvailable = this.fileBytes - this.offsetBytes;
    const size = Math.min(bytesAvailable, Math.max(this.limits.readChunkBytes, bytesNeeded));
    assert.ok(size >= bytesNeeded, 'inspectEntry only asks for bytes the file has');
    const next = Buffer.allocUnsafe(size);
    let filled = this.chunk.copy(next, 0, this.offsetBytes - this.chunkStartBytes);
    while (filled < size) {
      const position = this.offsetBytes + filled;
      const { bytesRead } = await this.file.read(next, filled, size - filled, position);
      // The size came from fstat and nobody else writes this range: a short file is a bug/race.
      if (bytesRead === 0) throw new Error(`WAL segment shrank while being read at ${position}`);
      filled += bytesRead;
    }
    this.chunk = next;
    this.chunkStartBytes = this.offsetBytes;
  }
}
