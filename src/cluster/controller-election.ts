/**
 * The controller election: who holds the `controller` key, and this broker's campaign for it.
 *
 * Every broker runs one election per membership session. It follows the key and, whenever the key
 * is absent, tries to create it in a transaction `version(controller) == 0 → put` under its own
 * membership lease. Exactly one creation succeeds; the winner is the controller until its lease
 * ends (the broker died, stalled past the TTL, or left) or it resigns, and etcd then deletes the
 * key, which every other candidate sees and campaigns again. Takeover after a controller dies
 * thus costs the lease TTL (plus etcd's expiry sweep, up to 500 ms) and one round trip. The key's
 * create revision is the controller epoch: writes only a controller makes compare it, so a
 * deposed controller's writes fail.
 *
 * No live cluster may stay without a controller: while no holder is known and this session lasts,
 * the campaign goes on, one attempt per `campaignRetryMs`. The ways it used to stop early:
 *  - The key went while this broker's lease was alive in etcd but not confirmed to it (no
 *    keep-alive answered within the window, or a lease granted late): both happen to every broker
 *    at once right after etcd resumes from a pause. A candidate does not create the key on an
 *    unconfirmed lease, and used to give up there; now it waits for the confirmation.
 *  - The watch missed the deletion (its stream down, or waiting out etcd3's reconnect backoff of up
 *    to 30 s): the key is also read every `keyCheckIntervalMs`.
 *  - An answer (watch event, read, campaign) overtaken by a newer one: each observation carries
 *    its etcd revision, and an older one than what is known is ignored.
 * The campaign ends when a holder is known, the election closes, or the session is over (the
 * lease is lost): the broker's next session (cluster-mode.ts) runs a new election. And when no
 * holder has been known for `noControllerWarnMs` (default: the lease TTL), it says so once, with
 * why this broker is not the controller.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EtcdKeyValue } from '../etcd/client.js';
import {
  createdAt, deleteOp, doesNotExist, getOp, putOp, rangesOf, revisionOf,
} from '../etcd/txn.js';
import { EtcdWatch } from '../etcd/watch.js';
import type { Membership } from './membership.js';
import { controllerLimits } from '../limits.js';

/** What the controller key holds. */
export interface ControllerRecord {
  nodeId: number;
}

export function decodeControllerRecord(value: Buffer): ControllerRecord {
  const record = JSON.parse(value.toString('utf8')) as ControllerRecord;
  assert.ok(Number.isSafeInteger(record.nodeId) && record.nodeId >= 0, 'controller nodeId');
  return record;
}

/** The key's holder as of some revision: who, under which lease, created when (the epoch). */
interface Holder {
  nodeId: number;
  lease: string;
  createRevision: number;
}

function holderOf(kv: EtcdKeyValue | null): Holder | null {
  if (kv === null) return null;
  return { nodeId: decodeControllerRecord(kv.value).nodeId, lease: kv.lease,
    createRevision: revisionOf({ revision: kv.create_revision }) };
}

export interface ControllerElectionOptions {
  membership: Membership;
  /** Called when this broker becomes the controller, with its epoch. */
  onElected: (epoch: number) => void;
  /** Called when it stops being the controller. */
  onResigned: () => void;
  log: (message: string, error: unknown) => void;
  info?: (fields: Record<string, unknown>, message: string) => void;
  keyCheckIntervalMs?: number;
  noControllerWarnMs?: number;
  /** Monotonic clock; default performance.now. */
  nowMs?: () => number;
}

export class ControllerElection {
  private readonly membership: Membership;
  private readonly key: string;
  private readonly keyCheckIntervalMs: number;
  private readonly noControllerWarnMs: number;
  private readonly nowMs: () => number;
  private holder: Holder | null = null;
  /** The etcd revision `holder` is known at; an observation of an older one is stale. */
  private knownRevision = 0;
  /** Create revision of our key while we are the controller, else -1. */
  private epoch = -1;
  /** Since when no holder is known (monotonic), or null while one is. */
  private noHolderSinceMs: number | null = null;
  private warned = false;
  private campaigning: Promise<void> | null = null;
  private checking = false;
  private closed = false;
  private watch: EtcdWatch | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private readonly onLost = (): void => this.stepDown();

  private constructor(private readonly options: ControllerElectionOptions) {
    this.membership = options.membership;
    this.key = options.membership.keys.controller();
    this.keyCheckIntervalMs = options.keyCheckIntervalMs ??
      controllerLimits.keyCheckIntervalMsDefault;
    this.noControllerWarnMs = options.noControllerWarnMs ?? options.membership.leaseTtlMs;
    this.nowMs = options.nowMs ?? (() => performance.now());
    assert.ok(this.keyCheckIntervalMs > 0 && this.noControllerWarnMs > 0, 'election timings');
  }

  /** Follows the key (campaigning while it is absent) from its first read on. */
  static async start(options: ControllerElectionOptions): Promise<ControllerElection> {
    const election = new ControllerElection(options);
    try {
      await election.follow();
    } catch (error) {
      await election.close();
      throw error;
    }
    return election;
  }

  /** The node id holding the key, -1 while none is known to. */
  holderId(): number {
    return this.holder?.nodeId ?? -1;
  }

  /** The controller epoch (the key's create revision) while this broker holds it, else -1. */
  controllerEpoch(): number {
    return this.epoch;
  }

  /** Stop acting as the controller: a write guarded by our key failed, so it is not ours. */
  stepDown(): void {
    if (this.epoch === -1) return;
    this.epoch = -1;
    this.options.onResigned();
  }

  /** Stops; if this broker is the controller, resigns (deletes the key) so another takes over. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkTimer !== null) clearInterval(this.checkTimer);
    this.membership.off('lost', this.onLost);
    await this.watch?.close();
    await this.campaigning; // an attempt in flight that wins resigns at once (tryToCreateKey)
    const epoch = this.epoch;
    this.stepDown();
    if (epoch !== -1) await this.resign(epoch);
  }

  private async follow(): Promise<void> {
    this.membership.on('lost', this.onLost);
    this.watch = await EtcdWatch.open(this.membership.client, [{ key: this.key, exact: true }], {
      onSnapshot: (kvs, revision) => this.observe(kvs[0] ?? null, revision),
      onChanges: (changes) => {
        for (const change of changes) {
          this.observe(change.value === null ? null : change.kv, change.modRevision);
        }
      },
    }, { log: this.options.log });
    this.checkTimer = setInterval(() => void this.check(), this.keyCheckIntervalMs);
  }

  /** The key as of `revision`, from the watch, a read or a campaign's answer. */
  private observe(kv: EtcdKeyValue | null, revision: number): void {
    if (this.closed || revision <= this.knownRevision) return;
    let holder: Holder | null;
    try {
      holder = holderOf(kv);
    } catch (error) {
      this.options.log('the controller key holds a value this code did not write', error);
      return;
    }
    this.observeHolder(holder, revision);
  }

  private observeHolder(holder: Holder | null, revision: number): void {
    if (this.closed || revision <= this.knownRevision) return;
    this.knownRevision = revision;
    this.holder = holder;
    if (holder === null) {
      this.noHolderSinceMs ??= this.nowMs();
      this.stepDown();
      this.campaign();
      return;
    }
    this.endNoHolder();
    const ours = holder.nodeId === this.membership.nodeId &&
      holder.lease === this.membership.leaseId();
    if (ours) this.stepUp(holder.createRevision);
    else this.stepDown();
  }

  private stepUp(epoch: number): void {
    assert.ok(Number.isSafeInteger(epoch) && epoch > 0, `controller epoch ${epoch}`);
    // A key under a lease this session lost may outlive it briefly: it makes us nothing.
    if (this.epoch === epoch || this.membership.state() !== 'registered') return;
    this.epoch = epoch;
    this.options.onElected(epoch);
  }

  // The campaign

  private shouldCampaign(): boolean {
    return this.holder === null && !this.closed && this.membership.state() === 'registered';
  }

  /** Starts the campaign unless it runs; it re-checks when it ends, so no wake-up is lost. */
  private campaign(): void {
    if (this.campaigning !== null || !this.shouldCampaign()) return;
    this.campaigning = this.campaignWhileNoHolder().finally(() => {
      this.campaigning = null;
      this.campaign();
    });
  }

  private async campaignWhileNoHolder(): Promise<void> {
    for (let attempt = 0; this.shouldCampaign(); attempt++) {
      if (attempt > 0) await sleep(controllerLimits.campaignRetryMs);
      // An unconfirmed lease may yet be confirmed (etcd just resumed): wait for it, not give up.
      if (!this.shouldCampaign() || !this.membership.isLeaseValid()) continue;
      await this.tryToCreateKey();
    }
  }

  /** One attempt; its answer (ours, or who holds the key) counts as an observation. */
  private async tryToCreateKey(): Promise<void> {
    const { client, nodeId } = this.membership;
    const lease = this.membership.leaseId();
    try {
      const response = await client.kv.txn({ compare: [doesNotExist(this.key)],
        success: [putOp(this.key, JSON.stringify({ nodeId }), lease)],
        failure: [getOp(this.key)] });
      const revision = revisionOf(response.header);
      if (!response.succeeded) {
        this.observe(rangesOf(response)[0]?.kvs[0] ?? null, revision);
      } else if (this.closed) {
        await this.resign(revision); // won while closing: nobody here will act on it
      } else {
        // Our put is the key's creation: its revision is the create revision, our epoch.
        this.observeHolder({ nodeId, lease, createRevision: revision }, revision);
      }
    } catch (error) {
      this.options.log('controller campaign failed; retrying', error);
    }
  }

  /** Deletes the key if it is still the one we created (not a successor's). */
  private async resign(epoch: number): Promise<void> {
    try {
      await this.membership.client.kv.txn({ compare: [createdAt(this.key, epoch)],
        success: [deleteOp(this.key)], failure: [] });
    } catch (error) {
      this.options.log('resigning as controller failed; the key expires with the lease', error);
    }
  }

  // The watchdog

  /** Reads the key afresh (the watch may have missed a change) and warns if none holds it. */
  private async check(): Promise<void> {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      const response = await this.membership.client.kv.range({ key: Buffer.from(this.key) });
      this.observe(response.kvs[0] ?? null, revisionOf(response.header));
    } catch (error) {
      this.options.log('reading the controller key failed', error);
    } finally {
      this.checking = false;
    }
    this.campaign();
    this.warnIfNoHolder();
  }

  private warnIfNoHolder(): void {
    if (this.noHolderSinceMs === null || this.warned || this.closed) return;
    const noControllerMs = Math.round(this.nowMs() - this.noHolderSinceMs);
    if (noControllerMs < this.noControllerWarnMs) return;
    this.warned = true;
    this.options.log(`no controller for ${noControllerMs} ms: ${this.whyNotUs()}`,
      new Error('no controller elected'));
  }

  private whyNotUs(): string {
    if (this.membership.state() !== 'registered') {
      return 'this broker\'s lease is lost; it campaigns again once it has registered anew';
    }
    if (!this.membership.isLeaseValid()) {
      return 'this broker\'s lease unconfirmed (no keep-alive answered within its window); ' +
        'it campaigns once etcd confirms one';
    }
    return 'this broker is campaigning, and etcd has not let it create the key';
  }

  private endNoHolder(): void {
    if (this.noHolderSinceMs === null) return;
    const noControllerMs = Math.round(this.nowMs() - this.noHolderSinceMs);
    if (this.warned) this.options.info?.({ noControllerMs }, 'a controller is elected again');
    this.noHolderSinceMs = null;
    this.warned = false;
  }
}
