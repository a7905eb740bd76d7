/**
 * An in-memory WAL for the partition core's tests: the local-WAL durability strategy over it is
 * the broker's, without a disk. Appends are durable at once (`instant`) or when the test says
 * (`held`: writeNext, writeAll, fillDisk); what it holds survives a simulated crash, so a test can
 * replay it into a fresh partition manager as start-up recovery does.
 */
import { pino } from 'pino';
import {
  LocalWalDurability, type WalReplayEntry, type WalWriter,
} from '../../src/partition/durability/local-wal.js';
import { WalNoSpaceError } from '../../storage/wal/errors.js';
import type { PartitionEntryHeader } from '../../storage/wal/partition-header.js';

interface Pending {
  header: PartitionEntryHeader;
  payload: Buffer;
  resolve: (lsn: number) => void;
  reject: (err: Error) => void;
}

export class MemoryWal implements WalWriter {
  lsnDurable = 0;
  /** Set by fillDisk; a test clears it when "space is back". */
  stalledNoSpace = false;
  /** Every truncateBefore position, in call order. */
  readonly trims: number[] = [];
  private entries: WalReplayEntry[] = [];
  private readonly pending: Pending[] = [];
  private trimFaults = 0;

  constructor(private readonly mode: 'instant' | 'held' = 'instant') {}

  append(header: PartitionEntryHeader, payload: Buffer): Promise<number> {
    if (this.stalledNoSpace) return Promise.reject(noSpace());
    if (this.mode === 'instant') return Promise.resolve(this.write(header, payload));
    return new Promise((resolve, reject) => {
      this.pending.push({ header, payload, resolve, reject });
    });
  }

  /** Makes the oldest append not yet durable durable. */
  writeNext(): void {
    const next = this.pending.shift();
    if (next === undefined) throw new Error('no append is waiting');
    next.resolve(this.write(next.header, next.payload));
  }

  writeAll(): void {
    while (this.pending.length > 0) this.writeNext();
  }

  /** The disk is full: every append not yet durable is rejected, oldest first; new ones too. */
  fillDisk(): void {
    this.stalledNoSpace = true;
    const err = noSpace();
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /** The next truncateBefore fails before dropping anything (a crash before the trim). */
  failNextTrim(): void {
    this.trimFaults++;
  }

  async truncateBefore(lsn: number): Promise<number> {
    if (this.trimFaults > 0) {
      this.trimFaults--;
      throw new Error('injected: crashed before the WAL trim');
    }
    this.trims.push(lsn);
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.lsn >= lsn);
    return before - this.entries.length;
  }

  /** What a restart would replay: every entry not trimmed, in LSN order. */
  async *readFrom(lsn: number): AsyncGenerator<WalReplayEntry> {
    for (const e of this.entries) if (e.lsn >= lsn) yield { ...e, payload: Buffer.from(e.payload) };
  }

  get entryCount(): number {
    return this.entries.length;
  }

  private write(header: PartitionEntryHeader, payload: Buffer): number {
    const lsn = ++this.lsnDurable;
    this.entries.push({ lsn, header: { ...header }, payload: Buffer.from(payload) });
    return lsn;
  }
}

function noSpace(): WalNoSpaceError {
  return new WalNoSpaceError('/memory-wal', Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }));
}

/** The local-WAL durability strategy over `wal` (a failed WAL throws instead of exiting). */
export function memoryDurability(wal = new MemoryWal()): LocalWalDurability {
  return new LocalWalDurability(wal, { log: pino({ level: 'silent' }),
    onWalFailed: (err) => { throw err; } });
}
