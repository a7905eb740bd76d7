/**
 * The cluster controller: one broker, elected through etcd, that places partitions on live brokers.
 *
 * Election (controller-election.ts). Every broker runs a Controller, and campaigns for the
 * `controller` key under its membership lease whenever no broker holds it. The key's create
 * revision is the controller epoch: writes only a controller makes (handoff requests) compare it,
 * so a deposed controller's writes fail.
 *
 * Placement. On every change of the live brokers or of partition leadership (debounced, and again
 * every `resyncIntervalMs` in case a write failed), the active controller runs `planAssignments`
 * on the leadership and on the registered brokers read from etcd after it (readLiveBrokers):
 *  (a) a partition whose leader is not live (or -1) is given to the least-loaded live broker with
 *      `setPartitionLeader(…, expectedEpoch)`: a compare-and-set, so two controllers acting on
 *      the same view move a partition once, and the coordinator records the dead broker in
 *      `recoverFrom` so the new leader replays its WAL first;
 *  (b) while some live broker leads at least two partitions more than another, it writes handoff
 *      requests `handoff/<topicId>/<partition:010>` = {fromLeaderId, toLeaderId, epoch} under its
 *      lease. The leader (the broker wiring) flushes and calls `releasePartition(…, epoch, to)`.
 *      The controller never moves a partition away from a LIVE leader itself: only the leader
 *      knows when everything it acknowledged is in object storage.
 * Requests the plan no longer wants (done, target gone, plan changed) are deleted.
 *
 * A broker whose lease a peer REVOKED (peer-probe.ts: its port refused connections) may still be
 * acknowledging for up to its acknowledgement window (membership.ts) after the revoke. Its
 * partitions are reassigned at once all the same, so that Metadata names their new leaders and
 * clients go there right away: the NEW LEADER waits out the window before it replays the revoked
 * broker's WAL and opens the partition (leadership.ts), holding produce requests meanwhile
 * (broker/await-opening.ts). The reassignment bumps the epoch, so the revoked broker's
 * uploads are fenced from then on; what it acknowledged until the window's end is in the WAL
 * the new leader replays after it.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { EtcdRequestOp } from '../etcd/client.js';
import { FencedError, UnknownTopicError, type PartitionState } from '../metadata/records.js';
import type { Metadata } from '../metadata/stores.js';
import type { MetadataChange } from '../metadata/etcd/metadata.js';
import { createdAt, deleteOp, keyOf, putOp, rangePrefix } from '../etcd/txn.js';
import { ControllerElection } from './controller-election.js';
import { type BrokerRegistration, brokersOf, type Membership } from './membership.js';
import {
  planAssignments, type PlannedHandoff, type PlannedReassignment,
} from './plan-assignments.js';
import { controllerLimits } from '../limits.js';

// Values of the controller's keys ----------------------------------------------------------------

/** What a handoff key holds; the key names the partition. */
export interface HandoffRequest {
  fromLeaderId: number;
  toLeaderId: number;
  /** The epoch the leader must still hold; it passes it to releasePartition. */
  epoch: number;
}

export function encodeHandoff(request: HandoffRequest): string {
  const { fromLeaderId, toLeaderId, epoch } = request;
  return JSON.stringify({ fromLeaderId, toLeaderId, epoch });
}

export function decodeHandoff(value: Buffer): HandoffRequest {
  const request = JSON.parse(value.toString('utf8')) as HandoffRequest;
  assert.ok(Number.isSafeInteger(request.toLeaderId) && request.toLeaderId >= 0, 'toLeaderId');
  assert.ok(Number.isSafeInteger(request.epoch) && request.epoch >= 0, 'epoch');
  return request;
}

// The controller ---------------------------------------------------------------------------------

/** Metadata that reports changes: the etcd engine's (EtcdMetadata.onChange). */
export type WatchedCoordinator = Metadata & {
  onChange(listener: (change: MetadataChange) => void): () => void;
};

export interface ControllerOptions {
  /** This broker's membership: its lease carries the controller key. */
  membership: Membership;
  coordinator: WatchedCoordinator;
  debounceMs?: number;
  resyncIntervalMs?: number;
  /** How often the controller key is read besides watched (controller-election.ts). */
  keyCheckIntervalMs?: number;
  /** No controller for this long is logged; default the lease TTL. */
  noControllerWarnMs?: number;
  log?: (message: string, error: unknown) => void;
  /**
   * Events an operator (and the failover benchmark) times a failover by: the active controller
   * seeing the live brokers change, and each partition it moves off a broker that is not live.
   */
  info?: (fields: Record<string, unknown>, message: string) => void;
}

/** What one pass did, for tests and logs. */
export interface ReconcileResult {
  reassigned: PlannedReassignment[];
  /** Reassignments whose epoch had moved on (another controller, or a release, was first). */
  fenced: number;
  handoffsPut: number;
  handoffsDeleted: number;
}

function nothingDone(): ReconcileResult {
  return { reassigned: [], fenced: 0, handoffsPut: 0, handoffsDeleted: 0 };
}

export class Controller extends EventEmitter<{ elected: [epoch: number]; resigned: [] }> {
  private readonly membership: Membership;
  private readonly coordinator: WatchedCoordinator;
  private readonly debounceMs: number;
  private readonly resyncIntervalMs: number;
  private readonly log: (message: string, error: unknown) => void;
  private readonly info: (fields: Record<string, unknown>, message: string) => void;
  /** The live brokers last seen, and last logged (changes are logged once, by the active one). */
  private liveSeen = '';
  private liveLogged = '';
  private election: ControllerElection | null = null;
  private closed = false;
  private readonly leadership = new Map<string, string>();
  private reconcileTimer: NodeJS.Timeout | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private running: Promise<ReconcileResult> | null = null;
  private rerun = false;
  private readonly cleanups: (() => unknown)[] = [];

  private constructor(private readonly options: ControllerOptions) {
    super();
    this.membership = options.membership;
    this.coordinator = options.coordinator;
    this.debounceMs = options.debounceMs ?? controllerLimits.debounceMsDefault;
    this.resyncIntervalMs = options.resyncIntervalMs ?? controllerLimits.resyncIntervalMsDefault;
    this.log = options.log ?? ((message, error) => process.emitWarning(`${message}: ${error}`));
    this.info = options.info ?? (() => {});
    assert.ok(this.debounceMs >= 0 && this.resyncIntervalMs > 0, 'controller timings');
  }

  /** Starts following brokers, partitions and the controller key, and campaigns when free. */
  static async start(options: ControllerOptions): Promise<Controller> {
    const controller = new Controller(options);
    try {
      await controller.follow();
    } catch (error) {
      await controller.close();
      throw error;
    }
    return controller;
  }

  /** The node id holding the controller key, -1 while none does. */
  controllerId(): number {
    return this.election?.holderId() ?? -1;
  }

  isActive(): boolean {
    return this.controllerEpoch() !== -1 && !this.closed;
  }

  /** The controller epoch (the key's create revision) while active, else -1. */
  controllerEpoch(): number {
    return this.election?.controllerEpoch() ?? -1;
  }

  /** Runs a placement pass now (after any pass in flight); what a debounced change would do. */
  async reconcileNow(): Promise<ReconcileResult> {
    while (this.running !== null) await this.running.catch(() => undefined);
    return this.runReconcile();
  }

  /** Stops; if this is the controller, resigns (deletes the key) so another takes over now. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconcileTimer !== null) clearTimeout(this.reconcileTimer);
    if (this.resyncTimer !== null) clearInterval(this.resyncTimer);
    for (const cleanup of this.cleanups.splice(0)) await cleanup();
    await this.running?.catch(() => undefined);
    await this.election?.close(); // resigns if we are the controller
  }

  private async follow(): Promise<void> {
    const { membership } = this;
    this.cleanups.push(this.coordinator.onChange((change) => this.onCoordinatorChange(change)));
    // Brokers coming and going trigger a pass; the pass reads them afresh (readLiveBrokers).
    const brokers = await membership.watchBrokers((live) => {
      this.liveSeen = live.map((b) => b.nodeId).sort((a, b) => a - b).join(',');
      this.logLiveBrokers();
      this.scheduleReconcile();
    });
    this.cleanups.push(() => brokers.close());
    const { keyCheckIntervalMs, noControllerWarnMs } = this.options;
    this.election = await ControllerElection.start({ membership, log: this.log, info: this.info,
      onElected: (epoch) => this.onElected(epoch), onResigned: () => this.emit('resigned'),
      ...(keyCheckIntervalMs === undefined ? {} : { keyCheckIntervalMs }),
      ...(noControllerWarnMs === undefined ? {} : { noControllerWarnMs }) });
    this.resyncTimer = setInterval(() => this.scheduleReconcile(), this.resyncIntervalMs);
  }

  // Election

  private onElected(epoch: number): void {
    this.info({ epoch, brokers: this.liveSeen === '' ? [] : this.liveSeen.split(',').map(Number) },
      'became the controller');
    this.liveLogged = this.liveSeen; // logged just above
    this.emit('elected', epoch);
    this.scheduleReconcile(0);
  }

  private logLiveBrokers(): void {
    if (!this.isActive() || this.liveSeen === this.liveLogged) return;
    this.liveLogged = this.liveSeen;
    this.info({ brokers: this.liveSeen === '' ? [] : this.liveSeen.split(',').map(Number), epoch: this.controllerEpoch() },
      'live brokers changed');
  }

  // Placement

  /** Only leadership and the set of partitions matter; index progress does not. */
  private onCoordinatorChange(change: MetadataChange): void {
    if (change.kind === 'topic') {
      this.scheduleReconcile();
      return;
    }
    const key = `${change.topicId}:${change.partition}`;
    const leadership = change.state === null ? null
      : `${change.state.leaderId}@${change.state.leaderEpoch}/${change.state.recoverFrom}`;
    if (this.leadership.get(key) === leadership) return;
    if (leadership === null) this.leadership.delete(key);
    else this.leadership.set(key, leadership);
    this.scheduleReconcile();
  }

  /** Coalesces: the first change starts the timer and later ones ride along (a stream of
   *  changes must not postpone the pass forever, as a resetting debounce would). */
  private scheduleReconcile(delayMs: number = this.debounceMs): void {
    if (!this.isActive()) return;
    if (this.reconcileTimer !== null) {
      if (delayMs > 0) return;
      clearTimeout(this.reconcileTimer);
    }
    this.reconcileTimer = setTimeout(() => {
      this.reconcileTimer = null;
      if (this.running !== null) {
        this.rerun = true;
        return;
      }
      this.runReconcile().catch((error: unknown) => this.log('controller pass failed', error));
    }, delayMs);
  }

  private async runReconcile(): Promise<ReconcileResult> {
    assert.equal(this.running, null, 'one pass at a time');
    const running = this.reconcile();
    this.running = running;
    try {
      return await running;
    } finally {
      this.running = null;
      if (this.rerun) {
        this.rerun = false;
        this.scheduleReconcile(0);
      }
    }
  }

  private async reconcile(): Promise<ReconcileResult> {
    const epoch = this.controllerEpoch();
    if (!this.isActive() || !this.membership.isLeaseValid()) return nothingDone();
    const partitions = await this.readLeadership();
    const live = await this.readLiveBrokers();
    const plan = planAssignments(live.map((b) => b.nodeId), partitions,
      new Set(live.filter((b) => b.leaving === true).map((b) => b.nodeId)));
    const result = nothingDone();
    for (const move of plan.reassign) {
      // Re-check before every write: a controller paused past its lease must stop at once.
      if (this.controllerEpoch() !== epoch || !this.membership.isLeaseValid()) return result;
      try {
        await this.coordinator.leadership.setLeader(move.topicId, move.partition, move.toLeaderId,
          move.expectedEpoch);
        result.reassigned.push(move);
        this.info({ topicId: move.topicId, partition: move.partition, from: move.fromLeaderId, to: move.toLeaderId },
          'partition reassigned');
      } catch (error) {
        if (!(error instanceof FencedError || error instanceof UnknownTopicError)) throw error;
        result.fenced++;
      }
    }
    if (this.controllerEpoch() !== epoch || !this.membership.isLeaseValid()) return result;
    Object.assign(result, await this.syncHandoffs(epoch, plan.handoffs));
    return result;
  }

  /**
   * The registered brokers, read from etcd AFTER the leadership the plan uses (the watch only
   * triggers passes). A broker whose registration the watch shows as gone may have registered
   * again already and re-taken its partitions at new epochs; read afterwards, it is live, so its
   * partitions are not reassigned; read before it came back, the reassignment's expected epoch
   * predates its re-taking, so one of the two compare-and-sets fails. Either way a broker never
   * loses, without its consent, a partition it holds under a valid lease.
   */
  private async readLiveBrokers(): Promise<BrokerRegistration[]> {
    const { client, keys } = this.membership;
    const kvs = await rangePrefix(client, keys.brokersPrefix());
    const entries = new Map(kvs.map((kv) => [keyOf(kv), kv]));
    return brokersOf(entries, keys, this.log);
  }

  private async readLeadership(): Promise<PartitionState[]> {
    const partitions: PartitionState[] = [];
    for (const topic of await this.coordinator.topics.list()) {
      try {
        partitions.push(...await this.coordinator.leadership.states(topic.topicId));
      } catch (error) {
        if (!(error instanceof UnknownTopicError)) throw error; // deleted meanwhile
      }
    }
    return partitions;
  }

  /**
   * Makes the handoff keys the plan's: puts new or changed requests (and adopts a predecessor's
   * under our lease), deletes the rest, each txn guarded by our controller key.
   */
  private async syncHandoffs(epoch: number, handoffs: PlannedHandoff[]):
    Promise<{ handoffsPut: number; handoffsDeleted: number }> {
    const { client, keys } = this.membership;
    const existing = new Map((await rangePrefix(client, keys.handoffPrefix()))
      .map((kv) => [keyOf(kv), kv]));
    const ops: EtcdRequestOp[] = [];
    let handoffsPut = 0;
    for (const handoff of handoffs) {
      const key = keys.handoff(handoff.topicId, handoff.partition);
      const value = encodeHandoff(handoff);
      const current = existing.get(key);
      existing.delete(key);
      if (current?.value.toString('utf8') === value &&
        current.lease === this.membership.leaseId()) continue;
      ops.push(putOp(key, value, this.membership.leaseId()));
      handoffsPut++;
    }
    for (const key of existing.keys()) {
      ops.push(deleteOp(key));
    }
    const guard = createdAt(keys.controller(), epoch);
    for (let i = 0; i < ops.length; i += controllerLimits.handoffOpsPerTxnMax) {
      const response = await client.kv.txn({ compare: [guard], failure: [],
        success: ops.slice(i, i + controllerLimits.handoffOpsPerTxnMax) });
      if (!response.succeeded) {
        this.election?.stepDown(); // the key is no longer ours: a successor plans from here
        return { handoffsPut: 0, handoffsDeleted: 0 };
      }
    }
    return { handoffsPut, handoffsDeleted: existing.size };
  }
}
