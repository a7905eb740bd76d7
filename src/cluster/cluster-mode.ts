/**
 * Cluster mode (coordinator=etcd): the etcd coordinator, this broker's membership lease, the
 * controller campaign, the cluster view and the leadership reactor, started and stopped together.
 *
 * Fail-stop on a lost lease: a broker whose lease expired may already have been replaced, so it
 * exits rather than serve on a stale belief; its supervisor restarts it and it rejoins cleanly.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/config.js';
import { EtcdCoordinator } from '../metadata/etcd.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import type { Uploader } from '../partition/uploader.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import { Controller } from './controller.js';
import { EtcdClusterView } from './etcd-view.js';
import { Leadership } from './leadership.js';
import { LeasedView } from './leased-view.js';
import { Membership } from './membership.js';
import { controllerPlacement } from './placement.js';

/** How long a leaving broker waits for its partitions to drain into object storage. */
const LEAVE_DRAIN_MS_MAX = 15_000;

export function openEtcdCoordinator(config: BrokerConfig, log: Logger): Promise<EtcdCoordinator> {
  return EtcdCoordinator.open({
    hosts: config.etcdEndpoints, keyPrefix: config.etcdPrefix, txnOpsMax: config.etcdTxnOpsMax,
    log: (message, err) => log.warn({ err }, message),
  });
}

export class ClusterMode {
  private constructor(
    readonly view: LeasedView,
    private readonly membership: Membership,
    private readonly controller: Controller,
    private readonly leadership: Leadership,
    private readonly etcdView: EtcdClusterView,
    private readonly log: Logger,
  ) {}

  static async start(config: BrokerConfig, coordinator: EtcdCoordinator, partitions: PartitionManager,
    uploader: Uploader, store: ObjectStore, log: Logger): Promise<ClusterMode> {
    const report = (message: string, err: unknown) => log.warn({ err }, message);
    const membership = await Membership.register({
      hosts: config.etcdEndpoints, keyPrefix: config.etcdPrefix, leaseTtlMs: config.leaseTtlMs,
      endpoint: { nodeId: config.nodeId, host: config.advertisedHost, port: config.advertisedPort, rack: null },
      log: report,
    });
    membership.on('lost', (reason) => {
      log.fatal({ err: reason }, 'broker lease lost; exiting so a restart rejoins cleanly');
      process.exit(75);
    });
    const etcdView = await EtcdClusterView.open({ client: membership.client, keys: membership.keys,
      coordinator, log: report });
    partitions.setLeaderPlacement(controllerPlacement({ coordinator, nodeId: config.nodeId,
      liveBrokers: () => etcdView.brokers().map((b) => b.nodeId) }));
    const leadership = new Leadership({
      nodeId: config.nodeId, coordinator, partitions, uploader, client: membership.client,
      keys: membership.keys, log,
      recovery: config.walMode !== 'shared' ? null : { metadata: coordinator, store,
        keys: new SegmentKeyAllocator(config.nodeId), sharedWalDir: config.sharedWalDir, nowMs: Date.now,
        objectBytesMax: config.uploadObjectBytesMax },
    });
    await leadership.start();
    const controller = await Controller.start({ membership, coordinator, log: report });
    const view = new LeasedView(etcdView, () => membership.isLeaseValid());
    log.info({ controller: controller.controllerId() }, 'joined the cluster');
    return new ClusterMode(view, membership, controller, leadership, etcdView, log);
  }

  /**
   * Graceful leave: stop appends, upload everything, hand each partition to another live broker,
   * then revoke the lease. No data moves between brokers: it is all in object storage.
   */
  async leave(partitions: PartitionManager, uploader: Uploader, coordinator: EtcdCoordinator,
    nodeId: number): Promise<void> {
    const logs = [...partitions.allLogs()];
    for (const log of logs) log.stopAppends();
    const deadline = Date.now() + LEAVE_DRAIN_MS_MAX;
    while (logs.some((l) => l.uploadedEndOffset < l.nextOffset) && Date.now() < deadline) {
      await uploader.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    const others = this.view.brokers().filter((b) => b.nodeId !== nodeId);
    let i = 0;
    for (const log of logs) {
      if (others.length === 0 || log.uploadedEndOffset < log.nextOffset) continue;
      const to = others[i++ % others.length]!.nodeId;
      try {
        await coordinator.releasePartition(log.topicId, log.partition, log.leaderEpoch, to);
      } catch (err) {
        this.log.warn({ err, topic: log.topicName, partition: log.partition }, 'release failed');
      }
    }
    await this.close();
    await this.membership.revoke();
  }

  isController(): boolean {
    return this.controller.isActive();
  }

  async close(): Promise<void> {
    await this.leadership.close();
    await this.controller.close();
    await this.etcdView.close();
  }

  async closeMembership(): Promise<void> {
    await this.membership.close();
  }
}
