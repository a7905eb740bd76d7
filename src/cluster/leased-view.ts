/**
 * The cluster view a broker serves from in cluster mode, plus the one question the produce path
 * asks before acknowledging: may this write still be confirmed? Two things say no.
 *
 * - The lease: a broker paused (SIGSTOP) or cut off from etcd past its acknowledgement window may
 *   already have been replaced; it must not acknowledge a write it cannot prove the new leader
 *   will see. Membership answers from a monotonic clock, so the answer is right even before any
 *   timer has fired after a pause.
 * - The WAL fence (walMode=shared, storage/wal/fence.ts): a peer that revoked this broker's lease
 *   (peer-probe.ts) and took its partitions fences the WAL for the lease the write was appended
 *   under before replaying it, and replays at once instead of waiting out the window. The check
 *   reads the fence file after the write is durable, so either the new leader's replay saw the
 *   write, or the write is not acknowledged. The token is taken before appending: a write made
 *   under a lease that was then lost and replaced is judged by the old lease's fence.
 */
import type { WalFenceCheck } from '../../storage/wal/index.js';
import type {
  AcknowledgementCheck, BrokerEndpoint, ClusterView, PartitionLeader,
} from './cluster-view.js';

export interface LeaseAcknowledgement {
  /** Whether a renewal etcd confirmed is recent enough (membership.ts). */
  leaseValid: () => boolean;
  /** The lease writes are appended under now (the fence token). */
  leaseId: () => string;
  /** null unless walMode=shared: no other broker replays this broker's WAL. */
  fence: WalFenceCheck | null;
  /** Told once per lease found fenced (or whose fence file could not be read: `error`). */
  onFenced: (leaseId: string, error: unknown) => void;
}

export class LeasedView implements ClusterView {
  private readonly fencedSeen = new Set<string>();

  constructor(private readonly view: ClusterView, private readonly lease: LeaseAcknowledgement) {}

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

  acknowledgement(): AcknowledgementCheck {
    const { leaseValid, fence } = this.lease;
    const leaseId = this.lease.leaseId();
    return {
      mayAcknowledge: async () => {
        if (fence !== null && await this.isFenced(fence, leaseId)) return false;
        return leaseValid();
      },
    };
  }

  private async isFenced(fence: WalFenceCheck, leaseId: string): Promise<boolean> {
    // A lease of '0' is none yet (never registered): nothing can have fenced it.
    if (leaseId === '0') return false;
    let error: unknown = null;
    // Unreadable: refuse (NOT_LEADER_OR_FOLLOWER is retriable), since a fence may be in it.
    const fenced = await fence.isFenced(leaseId).catch((err: unknown) => {
      error = err;
      return true;
    });
    if (fenced && !this.fencedSeen.has(leaseId)) {
      this.fencedSeen.add(leaseId);
      this.lease.onFenced(leaseId, error);
    }
    return fenced;
  }
}
