/**
 * The cluster view a broker serves from in cluster mode, plus the one question the produce path
 * asks before acknowledging: does this broker still hold its lease? A broker paused (SIGSTOP) or
 * cut off from etcd past its lease may already have been replaced; it must not acknowledge a
 * write it cannot prove the new leader will see. Membership answers from a monotonic clock, so
 * the answer is right even before any timer has fired after a pause.
 */
import type { BrokerEndpoint, ClusterView, PartitionLeader } from './cluster-view.js';

export class LeasedView implements ClusterView {
  constructor(private readonly view: ClusterView, private readonly leaseValid: () => boolean) {}

  brokers(): BrokerEndpoint[] {
    return this.view.brokers();
  }

  controllerId(): number {
    return this.view.controllerId();
  }

  leader(topicId: string, partition: number, localEpoch: number): PartitionLeader {
    return this.view.leader(topicId, partition, localEpoch);
  }

  groupCoordinator(groupId: string): BrokerEndpoint | null {
    return this.view.groupCoordinator(groupId);
  }

  canAcknowledge(): boolean {
    return this.leaseValid();
  }
}
