/**
 * Makes this broker serve exactly the partitions the coordinator says it leads. It reacts to
 * every topic and partition change (etcd watch), one at a time through a serial queue, since
 * opening a partition awaits and `await` breaks atomicity:
 *
 *   state says                                  this broker does
 *   leader = me, recoverFrom = X (≥ 0)          replay X's WAL for it into object storage,
 *                                               then completeRecovery (→ next row)
 *   leader = me, no recovery, no local log      open the log from the index (or a newer epoch
 *     (or a local log of an older epoch)        replaces the old one)
 *   leader ≠ me, local log exists               fence it (pending produces fail with
 *                                               NOT_LEADER_OR_FOLLOWER) and drop it
 *
 * Handoff requests (the controller rebalancing onto a new broker) are honoured by the leader
 * itself: it fences the partition, waits until everything appended is durable and uploaded,
 * then releases it to the named broker — nothing is copied, nothing needs replaying.
 *
 * A partition taken from this broker with `recoverFrom` = this broker pins the WAL (see
 * PartitionManager.pinWal) until the new leader has completed the recovery: this broker lives
 * on after losing its lease, and its uploader must not trim what the new leader will replay.
 *
 * After a lost lease (cluster-mode.ts) every log is held (no appends) and `reacquire` runs once
 * the broker has registered again: each held log drains into object storage under its old epoch
 * and is released to this broker itself, which bumps the epoch; the new epoch's change event
 * opens a fresh log. A leader that was replaced meanwhile finds its release fenced, and the
 * change event closes its log. So nothing is acknowledged under a leadership from before the
 * lease was lost.
 *
 * In a rejoined session this broker serves only epochs it took itself (confirmedInSession), and
 * that holds for logs opened outside this queue too: a topic installed by a Metadata or Produce
 * request (PartitionManager.topicNow) gets no log at an epoch this broker has not taken
 * (installGate); the partition is resynced here instead, which takes it at a new epoch and opens
 * it. A log opened at the old epoch took appends, and the new epoch's event then replaced it with
 * one built from the segment index: acknowledged batches, in the WAL only (their upload fenced by
 * the new epoch, and no one replays a WAL for a partition its own broker leads), were lost.
 */
import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import type { EtcdClient, EtcdKeyValue } from '../etcd/client.js';
import type { EtcdKeys } from '../etcd/keys.js';
import { KeySetWatch } from '../etcd/watch.js';
import { FencedError, UnknownTopicError, type PartitionState } from '../metadata/records.js';
import type { PartitionLog } from '../partition/partition-log.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import type { Uploader } from '../partition/uploader.js';
import { SerialQueue } from '../util/serial-queue.js';
import { handoffLimits, recoveryLimits } from '../limits.js';
import { type WatchedCoordinator, decodeHandoff } from './controller.js';
import { type RecoveryDeps, recoverPartitions } from './recover-partition.js';
import { brokerWalDir } from '../config/config.js';
import { fenceWal } from '../../storage/wal/index.js';
import { watchBrokers } from './membership.js';
import { RevokedBrokers } from './revoked-brokers.js';
import { drainPartition } from './drain-partition.js';

export interface LeadershipDeps {
  nodeId: number;
  coordinator: WatchedCoordinator;
  partitions: PartitionManager;
  uploader: Uploader;
  /** null in walMode=object: there is no WAL to replay, acknowledged data is already stored. */
  recovery: RecoveryDeps | null;
  client: EtcdClient;
  keys: EtcdKeys;
  /** Waited for a record of a revoked broker that cannot be read: the lease TTL (see below). */
  leaseTtlMs: number;
  log: Logger;
}

export class Leadership {
  private readonly queue = new SerialQueue();
  private readonly cleanups: (() => unknown)[] = [];
  private closed = false;
  private handoffWatch: KeySetWatch | null = null;
  /** Handoff keys already queued, with the mod revision queued. */
  private readonly handoffsSeen = new Map<string, string>();
  /** Pending retries (handoffs and failed partition changes), cleared on close. */
  private readonly retries = new Set<NodeJS.Timeout>();
  /** Set once this broker has registered again after losing its lease (see `reacquire`). */
  private rejoined = false;
  /** `topicId:partition` → the epoch this broker itself took it at, in the current session. */
  private readonly confirmed = new Map<string, number>();
  /** The session (lease) `confirmed` belongs to, as `reacquire` was last told. */
  private session: object | null = null;
  /** When this broker may replay the WAL of a broker a peer revoked (see `recover`). */
  private readonly revoked: RevokedBrokers;
  /** Brokers that may take a partition handed off: registered and not leaving (membership.ts). */
  private takers = new Set<number>();
  /** Recoveries waiting out a revoked broker's window, by partition: timers that resume them. */
  private readonly windowWaits = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: LeadershipDeps) {
    deps.partitions.setInstallGate((topicId, partition, epoch) =>
      this.installGate(topicId, partition, epoch));
    this.revoked = new RevokedBrokers(deps.client, deps.keys, deps.leaseTtlMs,
      (message, err) => deps.log.warn({ err }, message));
  }

  /**
   * Whether an install may open a log at `epoch` (see the file comment): always before any
   * rejoin, else only at an epoch this broker took in this session. `reacquire` sets `rejoined`
   * and clears `confirmed` before it lists the logs, so a log it does not see is not opened held
   * either (no one would ever take such a log at a new epoch). A refused partition is resynced:
   * acting on the state as it is then, that takes it at a new epoch (or, while appends are held,
   * opens it held, for `reacquire` to take) — also when its change events were handled already.
   */
  private installGate(topicId: string, partition: number, epoch: number): boolean {
    if (!this.rejoined || this.isConfirmed(topicId, partition, epoch)) return true;
    const resync = () => this.resyncPartition(topicId, partition);
    void this.enqueue(resync, resync);
    return false;
  }

  async start(): Promise<void> {
    const { coordinator } = this.deps;
    // Before the sweep below: a broker seen going from here on is timed from when it went.
    const brokers = await watchBrokers(this.deps.client, this.deps.keys,
      (live) => {
        this.revoked.noteRegistered(live.map((b) => b.nodeId));
        this.takers = new Set(live.filter((b) => b.leaving !== true).map((b) => b.nodeId));
      },
      (message, err) => this.deps.log.warn({ err }, message));
    this.cleanups.push(() => brokers.close());
    this.cleanups.push(coordinator.onChange((change) => {
      if (change.kind === 'topic') {
        void this.enqueue(() => this.onTopic(change.name), () => this.onTopic(change.name));
      }
      else void this.enqueue(() => this.onPartition(change.topicId, change.partition, change.state),
        () => this.resyncPartition(change.topicId, change.partition));
    }));
    // Sweep what is there now: events only tell about what changes from here on.
    for (const topic of await coordinator.topics.list()) {
      await this.enqueue(() => this.onTopic(topic.name), () => this.onTopic(topic.name));
      for (const s of await coordinator.leadership.states(topic.topicId)) {
        await this.enqueue(() => this.onPartition(s.topicId, s.partition, s),
          () => this.resyncPartition(s.topicId, s.partition));
      }
    }
    const handoffs = await KeySetWatch.open(this.deps.client, { key: this.deps.keys.handoffPrefix() },
      (entries) => this.onHandoffKeys(entries), (message, err) => this.deps.log.warn({ err }, message));
    this.handoffWatch = handoffs;
    this.cleanups.push(() => handoffs.close());
  }

  /**
   * The watch hands over every handoff key on every change; only a key that is new or was
   * rewritten (a new mod revision) is a new request. Queueing them all each time ran every
   * request again and again: after the first release, each rerun found the old log still open
   * (its close was queued behind them) and tried to release it again (FencedError).
   */
  private onHandoffKeys(entries: ReadonlyMap<string, EtcdKeyValue>): void {
    for (const key of this.handoffsSeen.keys()) if (!entries.has(key)) this.handoffsSeen.delete(key);
    for (const [key, kv] of entries) {
      if (this.handoffsSeen.get(key) === kv.mod_revision) continue;
      this.handoffsSeen.set(key, kv.mod_revision);
      this.enqueueHandoff(key, kv);
    }
  }

  private enqueueHandoff(key: string, kv: EtcdKeyValue): void {
    void this.enqueue(async () => {
      try {
        if (await this.onHandoff(key, kv.value)) return;
      } catch (err) {
        if (err instanceof FencedError) return; // the epoch moved on: nothing left to release
        this.deps.log.warn({ err, key }, 'handoff failed; retrying');
      }
      // Not done: try again later if the request still stands unchanged.
      const retry = setTimeout(() => {
        this.retries.delete(retry);
        if (this.handoffWatch?.entries().get(key)?.mod_revision === kv.mod_revision) {
          this.enqueueHandoff(key, kv);
        }
      }, handoffLimits.handoffRetryMs);
      this.retries.add(retry);
    });
  }

  /**
   * Runs `work` in the queue. If it fails (etcd unreachable, or its client still refusing calls
   * right after an outage), `retry` — which acts on the state as it is then — is queued after a
   * backoff, until it succeeds: no further change may ever come to retry it otherwise, and a
   * partition this broker leads would stay closed.
   */
  private enqueue(work: () => Promise<void>, retry?: () => Promise<void>, attempt = 0):
    Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      try {
        await work();
      } catch (err) {
        this.deps.log.warn({ err, attempt }, retry === undefined
          ? 'leadership change failed; retried on the next change'
          : 'leadership change failed; retrying');
        if (retry === undefined) return;
        const delayMs = Math.min(handoffLimits.retryMsMax,
          handoffLimits.retryMsMin * 2 ** Math.min(attempt, 6));
        const timer = setTimeout(() => {
          this.retries.delete(timer);
          void this.enqueue(retry, retry, attempt + 1);
        }, delayMs);
        this.retries.add(timer);
      }
    });
  }

  /** Acts on a partition's leadership as the coordinator's cache has it now. */
  private async resyncPartition(topicId: string, partition: number): Promise<void> {
    let state: PartitionState | null = null;
    try {
      state = (await this.deps.coordinator.leadership.states(topicId))
        .find((p) => p.partition === partition) ?? null;
    } catch (err) {
      if (!(err instanceof UnknownTopicError)) throw err; // deleted: close it if open
    }
    await this.onPartition(topicId, partition, state);
  }

  private async onTopic(name: string): Promise<void> {
    const record = await this.deps.coordinator.topics.get(name);
    if (record === null) this.deps.partitions.forgetTopic(name);
    else await this.deps.partitions.adoptTopic(record);
  }

  private async onPartition(topicId: string, partition: number, state: PartitionState | null):
    Promise<void> {
    const { partitions, nodeId, log } = this.deps;
    const local = partitions.topicById(topicId)?.logs[partition];
    if (state === null || state.recoverFrom !== nodeId) partitions.unpinWal(topicId, partition);
    if (state === null || state.leaderId !== nodeId) {
      this.confirmed.delete(`${topicId}:${partition}`);
      if (local !== undefined) {
        if (state?.recoverFrom === nodeId) partitions.pinWal(topicId, partition, local.lsnNeeded());
        local.fence(`leader is now ${state?.leaderId ?? 'none'}`);
        partitions.closePartition(topicId, partition);
        log.info({ topicId, partition, leader: state?.leaderId }, 'partition moved away');
      } else if (state?.recoverFrom === nodeId) {
        // Before the uploader's first trim (start() sweeps every partition before it starts):
        // neither a trim nor the upload checkpoint may pass what that recovery still reads.
        partitions.pinWalWhole(topicId, partition);
      }
      return;
    }
    if (local !== undefined && local.leaderEpoch >= state.leaderEpoch) return;
    if (!await this.confirmedInSession(state)) return;
    let led = state;
    if (state.recoverFrom >= 0) {
      // Opened at once after its recovery, not when completeRecovery's change event arrives:
      // that is queued behind every other recovery this broker has to run (a dead broker's
      // partitions all come at once). The event then finds the log open at its epoch.
      const recovered = await this.recover(state);
      if (recovered === null) return;
      led = recovered;
    }
    await this.open(led, local);
  }

  private async open(state: PartitionState, local: PartitionLog | undefined): Promise<void> {
    const { topicId, partition } = state;
    const { partitions, log } = this.deps;
    // A late event (e.g. queued while the lease was lost) must not open a log at an epoch that
    // has moved on meanwhile: its appends could never be committed. The cache is at least as new.
    const now = (await this.deps.coordinator.leadership.states(topicId))
      .find((p) => p.partition === partition);
    if (now !== undefined && now.leaderEpoch > state.leaderEpoch) return;
    local?.fence('reopened at a newer epoch');
    if (await partitions.openPartition(topicId, state)) {
      log.info({ topicId, partition, epoch: state.leaderEpoch }, 'partition opened');
    }
  }

  /** The state after the recovery, or null when it is not done (moot, or waiting). */
  private async recover(state: PartitionState): Promise<PartitionState | null> {
    const { topicId, partition } = state;
    const { nodeId, log } = this.deps;
    // Events queue up while a recovery runs (its own commit is one): act on the state as it is
    // now, or a finished recovery would be replayed again (harmless, but an orphan object).
    const now = (await this.deps.coordinator.leadership.states(topicId)).find((p) => p.partition === partition);
    if (now === undefined || now.leaderId !== nodeId || now.leaderEpoch !== state.leaderEpoch
      || now.recoverFrom < 0) return null;
    if (await this.waitsForRevokedBroker(now)) return null;
    if (this.deps.recovery === null) {
      const after = await this.deps.coordinator.leadership.completeRecovery(topicId, partition,
        now.leaderEpoch);
      log.info({ topicId, partition, from: now.recoverFrom, batches: 0 }, 'partition recovered');
      return after;
    }
    // Every partition waiting for the same WAL is recovered in the same read, and the others are
    // opened right away too (their own events and timers then find them open).
    const peers = await this.recoveryPeers(now);
    const recovered = await recoverPartitions(this.deps.recovery, [now, ...peers]);
    let mine: PartitionState | null = null;
    for (const { batches, state: after, replay } of recovered) {
      assert.ok(after.recoverFrom === -1, 'recovered');
      log.info({ topicId: after.topicId, partition: after.partition, from: now.recoverFrom,
        batches, walEntries: replay.walEntries, walBytesRead: replay.walBytesRead,
        walBytesSkipped: replay.walBytesSkipped, recoveredBytes: replay.recoveredBytes,
        checkpointRefused: replay.checkpointRefused, walReadMs: Math.round(replay.walReadMs),
        commitMs: Math.round(replay.commitMs) },
      'partition recovered');
      if (after.topicId === topicId && after.partition === partition) mine = after;
      else await this.open(after, this.deps.partitions.topicById(after.topicId)?.logs[after.partition]);
    }
    assert.ok(mine !== null && mine.leaderEpoch === now.leaderEpoch, 'recovered at its epoch');
    return mine;
  }

  /**
   * Other partitions this broker leads that wait for a replay of the same WAL and may be
   * recovered now: led here at an epoch this broker serves (see confirmedInSession), not open,
   * and past the same revoked broker's fence or window (per broker, so one check covers them all).
   */
  private async recoveryPeers(state: PartitionState): Promise<PartitionState[]> {
    const { coordinator, partitions, nodeId } = this.deps;
    const peers: PartitionState[] = [];
    for (const { record, logs } of partitions.topics()) {
      for (const s of await coordinator.leadership.states(record.topicId).catch(() => [])) {
        if (peers.length + 1 >= recoveryLimits.partitionsPerReadMax) return peers;
        if (s.leaderId !== nodeId || s.recoverFrom !== state.recoverFrom) continue;
        if (s.topicId === state.topicId && s.partition === state.partition) continue;
        const local = logs[s.partition];
        if (local !== undefined && local.leaderEpoch >= s.leaderEpoch) continue;
        const served = !this.rejoined || partitions.holdingAppends ||
          this.isConfirmed(s.topicId, s.partition, s.leaderEpoch);
        if (served) peers.push(s);
      }
    }
    return peers;
  }

  /**
   * A broker whose lease a peer revoked (peer-probe.ts) may still acknowledge for up to its
   * acknowledgement window after the revoke (membership.ts). The controller names this broker
   * leader as soon as it sees the registration go. With a shared WAL this broker then fences
   * that WAL for the revoked lease (storage/wal/fence.ts) and replays it at once: the old leader
   * acknowledges nothing its replay does not see. Otherwise (walMode=object, or a revoked
   * record that cannot be read) it waits until that window (plus slack) has passed since IT saw
   * the registration go, which was after the revoke: everything the old leader acknowledged is
   * stored by then. Meanwhile produce and fetch requests wait for the partition to open
   * (broker/await-opening.ts). Returns true when the recovery must wait: a timer resumes it
   * (resyncPartition, in the queue), so the queue is not blocked meanwhile. A registration that
   * expired has no revoked record: neither fence nor wait.
   */
  private async waitsForRevokedBroker(state: PartitionState): Promise<boolean> {
    const key = `${state.topicId}:${state.partition}`;
    const from = state.recoverFrom;
    const revocation = (await this.revoked.revocations([from])).get(from);
    if (revocation === undefined) return false;
    const { recovery } = this.deps;
    if (recovery !== null && revocation.leaseId !== null) {
      const added = await fenceWal(brokerWalDir(recovery.sharedWalDir, from), revocation.leaseId);
      if (added) {
        this.deps.log.info({ from, leaseId: revocation.leaseId },
          'fenced a revoked broker\'s WAL: replaying it without waiting out its window');
      }
      return false;
    }
    const waitMs = Math.ceil(revocation.notBeforeMs - performance.now());
    if (waitMs <= 0 || this.closed) return false;
    if (this.windowWaits.has(key)) return true; // a timer will resume it already
    this.deps.log.info({ topicId: state.topicId, partition: state.partition,
      from: state.recoverFrom, waitMs }, 'recovery waits out a revoked broker\'s window');
    const resync = () => this.resyncPartition(state.topicId, state.partition);
    const timer = setTimeout(() => {
      this.windowWaits.delete(key);
      void this.enqueue(resync, resync);
    }, waitMs);
    this.windowWaits.set(key, timer);
    return true;
  }

  /**
   * After a rejoin, a leadership may date from before this broker registered again, and a
   * controller that has not yet seen it come back may still take it away without its consent
   * (its compare-and-set on the epoch would succeed). So in a rejoined session this broker serves
   * only epochs it wrote itself: any other is first bumped (same leader, epoch + 1), and that
   * write's change event opens or recovers the partition. While appends are held, `reacquire`
   * does this for every log, later.
   */
  private async confirmedInSession(state: PartitionState): Promise<boolean> {
    if (!this.rejoined || this.deps.partitions.holdingAppends) return true;
    if (this.isConfirmed(state.topicId, state.partition, state.leaderEpoch)) return true;
    await this.takeAtNewEpoch(state.topicId, state.partition, state.leaderEpoch,
      (epoch) => this.deps.coordinator.leadership.setLeader(state.topicId, state.partition,
        this.deps.nodeId, epoch));
    return false;
  }

  private isConfirmed(topicId: string, partition: number, epoch: number): boolean {
    return this.confirmed.get(`${topicId}:${partition}`) === epoch;
  }

  /** Writes leadership of this broker at a new epoch and remembers it; fenced is fine. */
  private async takeAtNewEpoch(topicId: string, partition: number, epoch: number,
    write: (epoch: number) => Promise<PartitionState>): Promise<void> {
    try {
      const next = await write(epoch);
      if (next.leaderId === this.deps.nodeId) this.confirmed.set(`${topicId}:${partition}`, next.leaderEpoch);
    } catch (err) {
      // The partition moved or went meanwhile: its change event tells this broker what to do.
      if (!(err instanceof FencedError || err instanceof UnknownTopicError)) throw err;
    }
  }

  /**
   * Releases the partition if this broker still leads it at the request's epoch. Returns false
   * when it could not drain (the request should be tried again), true when done or moot.
   */
  private async onHandoff(key: string, value: Buffer): Promise<boolean> {
    const request = decodeHandoff(value);
    const { topicId, partition } = this.deps.keys.partitionOfHandoffKey(key);
    const { partitions, coordinator, nodeId } = this.deps;
    const local = partitions.topicById(topicId)?.logs[partition];
    if (local === undefined || local.leaderEpoch !== request.epoch || local.fenced) return true;
    const state = (await coordinator.leadership.states(topicId)).find((p) => p.partition === partition);
    // Released already, or moved by the controller: the partition event closes the log.
    if (state === undefined || state.leaderId !== nodeId || state.leaderEpoch !== request.epoch) return true;
    // A request from a plan made before its target left or began to leave: the controller's next
    // plan drops it. Released to such a broker the partition would move again at once, through a
    // replay of that broker's WAL after its acknowledgement window. (A target this broker has not
    // seen register yet is tried again later, as a request that could not drain is.)
    if (!this.takers.has(request.toLeaderId)) return false;
    local.stopAppends();
    if (!await drainPartition(local, this.deps.uploader)) {
      // Not everything reached object storage: this broker keeps the partition (appends stay
      // refused until it is released or reopened); nothing acknowledged is dropped.
      this.deps.log.warn({ topicId, partition }, 'handoff could not drain; keeping the data');
      return false;
    }
    await coordinator.leadership.release(topicId, partition, request.epoch, request.toLeaderId);
    // Closed now rather than when the partition event (queued behind us) arrives.
    local.fence(`handed off to ${request.toLeaderId}`);
    if (partitions.topicById(topicId)?.logs[partition] === local) partitions.closePartition(topicId, partition);
    this.deps.log.info({ topicId, partition, to: request.toLeaderId }, 'partition handed off');
    return true;
  }

  /**
   * Run once this broker has a new lease, with every log held (see the file comment): takes
   * back, at a new epoch, each partition still led under the old one, then lets logs opened from
   * here on take appends — unless `leaseValid` says the new lease is gone too. Runs in the queue,
   * so every change event delivered before it was handled under the hold. Rejects when some
   * partition could not be drained (object storage unreachable): the caller retries.
   */
  reacquire(leaseValid: () => boolean, session: object): Promise<void> {
    return this.queue.run(async () => {
      const { partitions, coordinator, nodeId, log } = this.deps;
      this.rejoined = true;
      if (this.session !== session) {
        this.session = session;
        this.confirmed.clear(); // epochs confirmed in an earlier session prove nothing now
      }
      let undrained = 0;
      for (const local of [...partitions.allLogs()]) {
        // Taken at this epoch by an earlier attempt of this session (and opened held since): a
        // retry has nothing of the lost lease to drain from it, and need not bump it again.
        if (this.isConfirmed(local.topicId, local.partition, local.leaderEpoch)) continue;
        if (local.fenced || !await drainPartition(local, this.deps.uploader)) {
          if (!local.fenced) undrained++;
          continue;
        }
        await this.takeAtNewEpoch(local.topicId, local.partition, local.leaderEpoch,
          (epoch) => coordinator.leadership.release(local.topicId, local.partition, epoch, nodeId));
      }
      // Led here per the coordinator but without a log (an open or a recovery that failed while
      // etcd was away): a new epoch, whose change event opens or recovers it as usual.
      for (const { record, logs } of partitions.topics()) {
        for (const s of await coordinator.leadership.states(record.topicId).catch(() => [])) {
          if (s.leaderId !== nodeId || logs[s.partition] !== undefined) continue;
          if (this.isConfirmed(s.topicId, s.partition, s.leaderEpoch)) continue; // its open is queued
          await this.takeAtNewEpoch(s.topicId, s.partition, s.leaderEpoch,
            (epoch) => coordinator.leadership.setLeader(s.topicId, s.partition, nodeId, epoch));
        }
      }
      if (undrained > 0) throw new Error(`${undrained} partitions could not drain; retrying`);
      // Not valid: no keep-alive of the new lease confirmed within the window yet, or it expired.
      if (!leaseValid()) throw new Error('the new lease is not confirmed in the window; retrying');
      partitions.releaseAppends();
      log.info('partition leadership re-acquired at new epochs');
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const retry of this.retries) clearTimeout(retry);
    this.retries.clear();
    for (const timer of this.windowWaits.values()) clearTimeout(timer);
    this.windowWaits.clear();
    for (const cleanup of this.cleanups.splice(0)) await cleanup();
  }
}
