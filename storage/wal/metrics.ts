/**
 * WAL counters, plus a hook per fsync so the broker can feed histograms (prom-client) without the
 * WAL depending on a metrics library. Counters only grow; derive rates by sampling them.
 */
import assert from 'node:assert/strict';

export interface WalFsyncSample {
  /** What made the group durable: the fdatasync alone (the write before it is `writeMs`), or
   *  with O_DSYNC the write itself (`writeMs` 0). */
  fsyncMs: number;
  writeMs: number;
  entries: number;
  bytes: number;
}

export class WalMetrics {
  fsyncCount = 0;
  fsyncMsTotal = 0;
  fsyncMsMax = 0;
  writeMsTotal = 0;
  entriesWritten = 0;
  bytesWritten = 0;
  entriesPerFsyncMax = 0;
  /** Appends that had to wait because pendingBytesMax was reached (backpressure). */
  appendsWaited = 0;
  /** The most bytes ever admitted but not yet durable; stays <= pendingBytesMax. */
  pendingBytesPeak = 0;
  segmentsRolled = 0;
  segmentsDeleted = 0;
  /** Times a write found the disk full (appends were then refused until a retry). */
  noSpaceStalls = 0;

  constructor(private readonly onFsync?: (sample: WalFsyncSample) => void) {}

  recordFsync(sample: WalFsyncSample): void {
    assert.ok(sample.entries >= 1 && sample.bytes >= sample.entries, 'a group is not empty');
    assert.ok(sample.fsyncMs >= 0 && sample.writeMs >= 0, 'durations are not negative');
    this.fsyncCount += 1;
    this.fsyncMsTotal += sample.fsyncMs;
    this.fsyncMsMax = Math.max(this.fsyncMsMax, sample.fsyncMs);
    this.writeMsTotal += sample.writeMs;
    this.entriesWritten += sample.entries;
    this.bytesWritten += sample.bytes;
    this.entriesPerFsyncMax = Math.max(this.entriesPerFsyncMax, sample.entries);
    this.onFsync?.(sample);
  }

  recordPendingBytes(pendingBytes: number): void {
    assert.ok(pendingBytes >= 0, 'pending bytes are not negative');
    this.pendingBytesPeak = Math.max(this.pendingBytesPeak, pendingBytes);
  }

  snapshot(): WalMetricsSnapshot {
    const perFsync = (total: number) => (this.fsyncCount === 0 ? 0 : total / this.fsyncCount);
    return {
      fsyncCount: this.fsyncCount,
      fsyncMsMean: perFsync(this.fsyncMsTotal),
      fsyncMsMax: this.fsyncMsMax,
      entriesWritten: this.entriesWritten,
      bytesWritten: this.bytesWritten,
      entriesPerFsyncMean: perFsync(this.entriesWritten),
      entriesPerFsyncMax: this.entriesPerFsyncMax,
      bytesPerFsyncMean: perFsync(this.bytesWritten),
      appendsWaited: this.appendsWaited,
      pendingBytesPeak: this.pendingBytesPeak,
      segmentsRolled: this.segmentsRolled,
      segmentsDeleted: this.segmentsDeleted,
      noSpaceStalls: this.noSpaceStalls,
    };
  }
}

export interface WalMetricsSnapshot {
  fsyncCount: number;
  fsyncMsMean: number;
  fsyncMsMax: number;
  entriesWritten: number;
  bytesWritten: number;
  entriesPerFsyncMean: number;
  entriesPerFsyncMax: number;
  bytesPerFsyncMean: number;
  appendsWaited: number;
  pendingBytesPeak: number;
  segmentsRolled: number;
  segmentsDeleted: number;
  noSpaceStalls: number;
}
