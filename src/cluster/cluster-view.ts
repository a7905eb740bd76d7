/**
 * What a broker knows about the cluster, for the handlers that describe it (Metadata,
 * FindCoordinator, DescribeCluster): the live brokers, the controller, each partition's leader,
 * and which broker coordinates a group. A single node answers with itself; cluster mode keeps
 * this view fresh from etcd watches (cluster/etcd-view.ts).
 */
import { createHash } from 'node:crypto';

export interface BrokerEndpoint {
  nodeId: number;
  /** Host and port of the broker's first listener. */
  host: string;
  port: number;
  rack: string | null;
  /** Every listener's advertised host and port, by listener name (absent: the first only). */
  listeners?: Readonly<Record<string, { host: string; port: number }>>;
}

/**
 * Where a client that came in on `listenerName` reaches broker `b`: the same listener's
 * advertised address, as Kafka answers (a SASL_SSL client is sent to SASL_SSL ports).
 */
export function endpointOn(b: BrokerEndpoint,
  listenerName: string): { host: string; port: number } {
  return b.listeners?.[listenerName] ?? { host: b.host, port: b.port };
}

export interface PartitionLeader {
  leaderId: number;
  leaderEpoch: number;
}

export interface ClusterView {
  /** Live brokers, by node id. */
  brokers(): BrokerEndpoint[];
  controllerId(): number;
  leader(topicId: string, partition: number, localEpoch: number): PartitionLeader;
  /** The broker that coordinates `groupId`, or null while no broker is alive. */
  groupCoordinator(groupId: string): BrokerEndpoint | null;
  /**
   * Cluster mode: taken before a write is appended, asked once it is durable. False: the write
   * must not be acknowledged (the broker no longer holds its lease, or a new leader fenced its WAL
   * for the session the write was appended in; see leased-view.ts).
   */
  acknowledgement?(): AcknowledgementCheck;
}

export interface AcknowledgementCheck {
  mayAcknowledge(): Promise<boolean>;
}

/**
 * Rendezvous hashing: every broker scores (groupId, nodeId) and the highest score wins, so all
 * brokers with the same membership agree without talking, and a broker leaving moves only the
 * groups it coordinated.
 */
export function rendezvous(groupId: string, brokers: readonly BrokerEndpoint[]): BrokerEndpoint | null {
  let best: BrokerEndpoint | null = null;
  let bestScore = '';
  for (const b of brokers) {
    const score = createHash('sha256').update(`${groupId}\0${b.nodeId}`).digest('hex');
    if (best === null || score > bestScore) {
      best = b;
      bestScore = score;
    }
  }
  return best;
}

export class SingleNodeView implements ClusterView {
  constructor(private readonly self: BrokerEndpoint) {}

  brokers(): BrokerEndpoint[] {
    return [this.self];
  }

  controllerId(): number {
    return this.self.nodeId;
  }

  leader(_topicId: string, _partition: number, localEpoch: number): PartitionLeader {
    return { leaderId: this.self.nodeId, leaderEpoch: localEpoch };
  }

  groupCoordinator(): BrokerEndpoint {
    return this.self;
  }
}
