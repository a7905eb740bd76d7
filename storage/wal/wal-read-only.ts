/**
 * Opening another broker's WAL folder to replay it after that broker died, without writing to it:
 * no lock is taken, no torn tail is cut (replay stops before it), nothing is created.
 *
 * It refuses while the folder's lock names a live owner on this host. An owner on another host
 * cannot be checked from here; the caller passes `remoteOwnerIsDead` when something authoritative
 * (the broker registry lease in the metadata store) says so.
 */
import assert from 'node:assert/strict';
import { assertWalLimits, walLimitsDefault, type WalLimits } from '../limits.js';
import type { WalHeaderCodec } from './header-codec.js';
import { nodeWalIo, type WalIo } from './io.js';
import { assertOwnerDead } from './lock.js';
import { readEntries, type WalEntry } from './reader.js';
import { recoverWal, type WalRecoveryReport } from './recovery.js';

export interface WalReadOnlyOptions<H> {
  dir: string;
  headerCodec: WalHeaderCodec<H>;
  limits?: Partial<WalLimits>;
  io?: WalIo;
  remoteOwnerIsDead?: boolean;
  /**
   * Skip the lock check: the caller knows from the cluster coordinator that the owner can no
   * longer acknowledge anything (its lease expired and its partitions' epochs moved on), even if
   * its process still exists (paused, or partitioned away). Reading is then safe.
   */
  ownerFencedByCoordinator?: boolean;
}

export class WalReadOnly<H> {
  private constructor(
    private readonly options: WalReadOnlyOptions<H>,
    private readonly limits: WalLimits,
    private readonly io: WalIo,
    readonly recovery: WalRecoveryReport,
  ) {}

  static async open<H>(options: WalReadOnlyOptions<H>): Promise<WalReadOnly<H>> {
    const limits = { ...walLimitsDefault(), ...options.limits };
    assertWalLimits(limits);
    const io = options.io ?? nodeWalIo;
    if (options.ownerFencedByCoordinator !== true) {
      await assertOwnerDead(options.dir, options.remoteOwnerIsDead ?? false);
    }
    const recovery = await recoverWal({ dir: options.dir, mode: 'read-only', limits, io });
    return new WalReadOnly(options, limits, io, recovery);
  }

  /** Entries with LSN >= `lsn` through the last valid entry recovery found. */
  readFrom(lsn: number): AsyncGenerator<WalEntry<H>, void, undefined> {
    assert.ok(lsn >= 1, 'LSNs start at 1');
    const { segments, lsnLast } = this.recovery;
    const range = { segments, lsnFrom: lsn, lsnLast };
    const deps = { codec: this.options.headerCodec, limits: this.limits, io: this.io };
    return readEntries(range, deps);
  }
}
