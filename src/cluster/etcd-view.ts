/**
 * The ClusterView of cluster mode: what Metadata, FindCoordinator and DescribeCluster answer, kept
 * fresh from etcd. Live brokers come from the `brokers/` watch (membership.ts), the controller from
 * the `controller` key, partition leaders from the coordinator's change feed; every answer is
 * served from memory, synchronously, as the handlers need.
 *
 * Leadership is cached per partition from `onChange` events plus one initial read. The feed and
 * the read may interleave, so a state only replaces a cached one of the same or an older epoch
 * (epochs only grow; a deleted topic's partitions are dropped, and a re-created topic has a new
 * id). A partition the view does not know yet has no leader (-1): clients retry on
 * LEADER_NOT_AVAILABLE, which beats naming a broker that does not lead it.
 */
import type { EtcdClient, EtcdKeyValue } from '../etcd/client.js';
import type { EtcdKeys } from '../etcd/keys.js';
import { KeySetWatch } from '../etcd/watch.js';
import { UnknownTopicError, type PartitionState } from '../metadata/records.js';
import type { MetadataChange } from '../metadata/etcd/metadata.js';
import {
  rendezvous,
  type BrokerEndpoint,
  type ClusterView,
  type PartitionLeader,
} from './cluster-view.js';
import type { WatchedCoordinator } from './controller.js';
import { decodeControllerRecord } from './controller-election.js';
import { watchBrokers } from './membership.js';

export interface EtcdClusterViewOptions {
  /** Any etcd client of this broker (e.g. its Membership's). */
  client: EtcdClient;
  keys: EtcdKeys;
  coordinator: WatchedCoordinator;
  log?: (message: string, error: unknown) => void;
}

function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

export class EtcdClusterView implements ClusterView {
  private live: BrokerEndpoint[] = [];
  /** Live brokers whose registration says they are leaving (a graceful shutdown under way). */
  private leaving: ReadonlySet<number> = new Set();
  private controller = -1;
  private readonly leaders = new Map<string, PartitionLeader>();
  private readonly cleanups: (() => unknown)[] = [];

  private constructor() {}

  /** Resolves once brokers, controller and every partition's leader have been read once. */
  static async open(options: EtcdClusterViewOptions): Promise<EtcdClusterView> {
    const view = new EtcdClusterView();
    const log = options.log ?? ((message, error) => process.emitWarning(`${message}: ${error}`));
    try {
      view.cleanups.push(options.coordinator.onChange((change) =>
        view.onCoordinatorChange(change)));
      const brokers = await watchBrokers(options.client, options.keys, (registrations) => {
        view.live = registrations.map(({ nodeId, host, port, rack, listeners }) =>
          ({ nodeId, host, port, rack, ...(listeners !== undefined ? { listeners } : {}) }));
        view.leaving = new Set(registrations.filter((r) => r.leaving === true)
          .map((r) => r.nodeId));
      }, log);
      view.cleanups.push(() => brokers.close());
      const key = options.keys.controller();
      const controller = await KeySetWatch.open(options.client, { key, exact: true },
        (entries) => view.onControllerKey(entries.get(key) ?? null), log);
      view.cleanups.push(() => controller.close());
      await view.loadLeaders(options.coordinator);
    } catch (error) {
      await view.close();
      throw error;
    }
    return view;
  }

  brokers(): BrokerEndpoint[] {
    return this.live.map((b) => ({ ...b }));
  }

  /** Node ids of the live brokers that are leaving (membership.ts, `markLeaving`). */
  leavingBrokers(): ReadonlySet<number> {
    return this.leaving;
  }

  controllerId(): number {
    return this.controller;
  }

  leader(topicId: string, partition: number, localEpoch: number): PartitionLeader {
    const leader = this.leaders.get(partitionKey(topicId, partition));
    return leader === undefined ? { leaderId: -1, leaderEpoch: localEpoch } : { ...leader };
  }

  groupCoordinator(groupId: string): BrokerEndpoint | null {
    const coordinator = rendezvous(groupId, this.live);
    return coordinator === null ? null : { ...coordinator };
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0)) await cleanup();
  }

  private onControllerKey(kv: EtcdKeyValue | null): void {
    this.controller = kv === null ? -1 : decodeControllerRecord(kv.value).nodeId;
  }

  private onCoordinatorChange(change: MetadataChange): void {
    if (change.kind === 'topic') return; // a deleted topic's partitions arrive as deletions too
    const key = partitionKey(change.topicId, change.partition);
    if (change.state === null) this.leaders.delete(key);
    else this.remember(change.state);
  }

  private async loadLeaders(coordinator: WatchedCoordinator): Promise<void> {
    for (const topic of await coordinator.topics.list()) {
      try {
        for (const state of await coordinator.leadership.states(topic.topicId)) {
          this.remember(state);
        }
      } catch (error) {
        if (!(error instanceof UnknownTopicError)) throw error; // deleted meanwhile
      }
    }
  }

  /** Keeps the newer of the cached and the given leadership (epochs only grow). */
  private remember(state: PartitionState): void {
    const key = partitionKey(state.topicId, state.partition);
    const cached = this.leaders.get(key);
    if (cached !== undefined && cached.leaderEpoch > state.leaderEpoch) return;
    this.leaders.set(key, { leaderId: state.leaderId, leaderEpoch: state.leaderEpoch });
  }
}
