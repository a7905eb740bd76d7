/**
 * Cluster mode (coordinator=etcd): the etcd coordinator, this broker's membership lease, the
 * controller campaign, the cluster view and the leadership reactor, started and stopped together.
 *
 * A lost lease (etcd unreachable or paused past the TTL, or this broker stalled) does not stop
 * the broker: a broker that may have been replaced must not acknowledge, but everything it holds
 * is durable, so it keeps its port and serves reads. From the moment the lease may have expired,
 * produce is answered NOT_LEADER_OR_FOLLOWER (LeasedView, then held logs); the broker registers
 * again with a new lease as soon as etcd answers, campaigns as a new controller candidate, and
 * re-acquires its partitions at new epochs (Leadership.reacquire) before it takes appends again.
 * Partitions the controller gave away meanwhile are recovered from this broker's WAL by their
 * new leader, as after a crash; epoch fencing of index commits keeps every range uploaded once.
 */
import type { Logger } from 'pino';
import { openEtcdClient, type EtcdClient } from '../etcd/client.js';
import { type BrokerConfig, brokerWalDir } from '../config/config.js';
import { EtcdMetadata } from '../metadata/etcd/metadata.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import type { PartitionLog } from '../partition/partition-log.js';
import type { Uploader } from '../partition/uploader.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import { WalFenceCheck, resetWalFence } from '../../storage/wal/index.js';
import { Controller } from './controller.js';
import { EtcdClusterView } from './etcd-view.js';
import { Leadership } from './leadership.js';
import { LeasedView } from './leased-view.js';
import { Membership, type MembershipOptions } from './membership.js';
import { PeerProbe } from './peer-probe.js';
import type { InterBrokerSecurity } from './broker-request.js';
import { handoffLimits, membershipLimits } from '../limits.js';
import { controllerPlacement } from './placement.js';
import { advertisedListeners, parseListeners } from '../security/listeners.js';


export function openEtcdMetadata(config: BrokerConfig, log: Logger): Promise<EtcdMetadata> {
  return EtcdMetadata.open({
    hosts: config.etcdEndpoints, keyPrefix: config.etcdPrefix, txnOpsMax: config.etcdTxnOpsMax,
    log: (message, err) => log.warn({ err }, message),
  });
}

/** What a graceful leave works with; `deadline` (Date.now() ms) bounds its uploads. */
interface LeavingBroker {
  uploader: Uploader;
  coordinator: EtcdMetadata;
  nodeId: number;
  deadline: number;
}

export class ClusterMode {
  readonly view: LeasedView;
  private closed = false;
  private rejoining: Promise<void> | null = null;

  private constructor(
    private membership: Membership,
    private controller: Controller,
    private readonly leadership: Leadership,
    private readonly etcdView: EtcdClusterView,
    private readonly client: EtcdClient,
    private readonly membershipOptions: MembershipOptions,
    private readonly coordinator: EtcdMetadata,
    private readonly partitions: PartitionManager,
    private readonly peerProbe: PeerProbe,
    private readonly log: Logger,
    fence: WalFenceCheck | null,
  ) {
    this.view = new LeasedView(etcdView, {
      leaseValid: () => this.membership.isLeaseValid(),
      leaseId: () => this.membership.leaseId(),
      fence,
      onFenced: (leaseId, err) => this.log.warn({ leaseId, err }, err === null
        ? 'a new leader fenced this broker\'s WAL for this lease: acknowledging nothing appended '
          + 'under it'
        : 'the WAL fence file cannot be read: acknowledging nothing appended under this lease'),
    });
    this.followLease(membership);
  }

  static async start(config: BrokerConfig, coordinator: EtcdMetadata, partitions: PartitionManager,
    uploader: Uploader, store: ObjectStore, log: Logger, peers?: InterBrokerSecurity):
    Promise<ClusterMode> {
    const report = (message: string, err: unknown) => log.warn({ err }, message);
    // One client for every session of this broker: the watches on it outlive a lost lease.
    const client = openEtcdClient({ hosts: config.etcdEndpoints,
      callTimeoutMs: membershipLimits.callTimeoutMsDefault });
    const membershipOptions: MembershipOptions = {
      hosts: config.etcdEndpoints, client, keyPrefix: config.etcdPrefix, leaseTtlMs: config.leaseTtlMs,
      ackWindowMs: config.ackWindowMs,
      endpoint: { nodeId: config.nodeId, host: config.advertisedHost, port: config.advertisedPort, rack: null,
        listeners: advertisedListeners(parseListeners(config)) },
      log: report,
    };
    // Before registering: no token of this process's own is in the fence file yet (see fence.ts).
    const ownWal = config.walMode === 'shared'
      ? brokerWalDir(config.sharedWalDir, config.nodeId) : null;
    if (ownWal !== null) await resetWalFence(ownWal);
    const membership = await Membership.register(membershipOptions);
    const etcdView = await EtcdClusterView.open({ client, keys: membership.keys,
      coordinator, log: report });
    partitions.setLeaderPlacement(controllerPlacement({ coordinator, nodeId: config.nodeId,
      liveBrokers: () => etcdView.brokers().map((b) => b.nodeId),
      leavingBrokers: () => etcdView.leavingBrokers() }));
    const leadership = new Leadership({
      nodeId: config.nodeId, coordinator, partitions, uploader, client,
      keys: membership.keys, leaseTtlMs: config.leaseTtlMs, log,
      recovery: config.walMode !== 'shared' ? null : { metadata: coordinator, store,
        keys: new SegmentKeyAllocator(config.nodeId), sharedWalDir: config.sharedWalDir, nowMs: Date.now,
        objectBytesMax: config.uploadObjectBytesMax },
    });
    await leadership.start();
    const controller = await Controller.start({ membership, coordinator, log: report,
      info: (fields, message) => log.info(fields, message) });
    // Every broker watches its peers' ports: a dead one is replaced well before its lease expires.
    const peerProbe = await PeerProbe.start({ client, keys: membership.keys, nodeId: config.nodeId,
      ...(peers === undefined ? {} : { peers }), log: report,
      info: (fields, message) => log.info(fields, message) });
    log.info({ controller: controller.controllerId() }, 'joined the cluster');
    return new ClusterMode(membership, controller, leadership, etcdView, client, membershipOptions,
      coordinator, partitions, peerProbe, log, ownWal === null ? null : new WalFenceCheck(ownWal));
  }

  private followLease(membership: Membership): void {
    const onLost = (reason: Error): void => {
      if (this.closed || membership !== this.membership) return;
      this.log.warn({ err: reason }, 'broker lease lost; refusing writes, serving reads, rejoining');
      this.partitions.holdAppends();
      const controller = this.controller;
      void controller.close().catch((err: unknown) =>
        this.log.warn({ err }, 'closing the controller of the lost session failed'));
      this.rejoining ??= this.rejoin().finally(() => { this.rejoining = null; });
    };
    // Lost already (while the controller started): handle it as if the event came now.
    if (membership.state() === 'lost') onLost(new Error('lease lost while rejoining'));
    else membership.once('lost', onLost);
  }

  /** Registers again until it succeeds, then re-acquires leadership (retried until it is done). */
  private async rejoin(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        if (this.membership.state() !== 'registered') await this.registerAgain();
        else if (!this.partitions.holdingAppends) return;
        else await this.leadership.reacquire(() => this.membership.isLeaseValid(), this.membership);
        if (!this.partitions.holdingAppends) {
          this.log.info({ controller: this.controller.controllerId() }, 'rejoined the cluster');
          return;
        }
      } catch (err) {
        this.log.warn({ err, attempt }, 'rejoining the cluster failed; retrying');
        await new Promise((r) => setTimeout(r,
          Math.min(handoffLimits.rejoinRetryMsMax,
            handoffLimits.rejoinRetryMsMin * 2 ** Math.min(attempt, 4))));
      }
    }
  }

  private async registerAgain(): Promise<void> {
    const membership = await Membership.register(this.membershipOptions);
    if (this.closed) {
      await membership.close();
      return;
    }
    try {
      this.controller = await Controller.start({ membership, coordinator: this.coordinator,
        log: (message, err) => this.log.warn({ err }, message),
        info: (fields, message) => this.log.info(fields, message) });
    } catch (err) {
      await membership.revoke();
      throw err;
    }
    this.membership = membership;
    this.followLease(membership);
    this.log.info({ leaseId: membership.leaseId() }, 'registered again with a new lease');
    await this.leadership.reacquire(() => membership.isLeaseValid(), membership);
  }

  /**
   * Graceful leave: mark this broker leaving, stop appends, upload everything, hand each partition
   * to another live broker, then revoke the lease. No data moves between brokers: it is all in
   * object storage. Appends stop only after one upload made while still serving, so the upload
   * they wait for holds only what came in meanwhile (not an upload already under way as well).
   */
  async leave(partitions: PartitionManager, uploader: Uploader, coordinator: EtcdMetadata,
    nodeId: number): Promise<void> {
    // First, while still serving: the controller hands nothing more to this broker from here on.
    await this.membership.markLeaving()
      .catch((err: unknown) => this.log.warn({ err }, 'could not mark this broker leaving'));
    await uploader.flush()
      .catch((err: unknown) => this.log.debug({ err }, 'upload before leaving failed'));
    // Partitions a handoff gave this broker just before it was marked come in after the first
    // pass; left here, they would move through a replay of this WAL once the lease is revoked.
    const released = new Set<PartitionLog>();
    const deadline = Date.now() + handoffLimits.leaveDrainMsMax;
    for (let pass = 0; pass < handoffLimits.leavePassesMax; pass++) {
      const logs = [...partitions.allLogs()].filter((l) => !released.has(l) && !l.fenced);
      if (logs.length === 0) break;
      await this.releaseAll(logs, { uploader, coordinator, nodeId, deadline }, released);
    }
    await this.close();
    await this.membership.revoke();
  }

  /** Stops appends to `logs`, uploads them, and releases each to another live broker. */
  private async releaseAll(logs: PartitionLog[], leaving: LeavingBroker,
    released: Set<PartitionLog>): Promise<void> {
    const { uploader, coordinator, nodeId, deadline } = leaving;
    for (const log of logs) log.stopAppends();
    while (logs.some((l) => l.uploadedEndOffset < l.nextOffset) && Date.now() < deadline) {
      await uploader.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    const others = this.view.brokers().filter((b) => b.nodeId !== nodeId);
    const drained = logs.filter((l) => l.uploadedEndOffset >= l.nextOffset);
    for (const log of logs) released.add(log);
    if (others.length === 0) return;
    // A few at a time rather than one by one: every partition waits from stopAppends until its
    // release, and a producer's request spanning several waits for the last of them.
    const inFlight = handoffLimits.leaveReleasesInFlightMax;
    for (let first = 0; first < drained.length; first += inFlight) {
      await Promise.all(drained.slice(first, first + inFlight).map((log, i) =>
        this.releaseTo(log, others[(first + i) % others.length]!.nodeId, coordinator)));
    }
  }

  private async releaseTo(log: PartitionLog, to: number, coordinator: EtcdMetadata): Promise<void> {
    try {
      await coordinator.leadership.release(log.topicId, log.partition, log.leaderEpoch, to);
      // Produces refused meanwhile are answered now (they wait for this: append-partition.ts).
      log.fence(`released to ${to}`);
      this.log.info({ topicId: log.topicId, partition: log.partition, to }, 'partition released');
    } catch (err) {
      this.log.warn({ err, topic: log.topicName, partition: log.partition }, 'release failed');
    }
  }

  isController(): boolean {
    return this.controller.isActive();
  }

  /** Stops the control plane; the view stays (see closeMembership). */
  async close(): Promise<void> {
    this.closed = true;
    await this.peerProbe.close();
    await this.leadership.close();
    await this.controller.close();
  }

  /**
   * The end: the view closes only now, so that while a leaving broker drains its connections,
   * its Metadata answers still follow the partitions it handed over (a closed view would name it
   * leader still, and send a client's retry back to it).
   */
  async closeMembership(): Promise<void> {
    this.closed = true;
    await this.etcdView.close();
    await this.membership.close();
    this.client.close();
  }
}
