/**
 * KIP-951: a partition refused because this broker does not lead it names the leader this
 * broker knows of (`currentLeader`), and the response carries that broker's address
 * (`nodeEndpoints`), as Kafka does for Produce (v10+) and Fetch (v12+ / v16+). A client that
 * understands it (the Java client since 3.7, librdkafka since 2.5) moves that one partition to
 * the named leader at once, without a metadata round trip and without its retry backoff.
 *
 * Only another live broker is named: a leader that is this broker itself, unknown, or not live
 * tells the client nothing it can act on, and it falls back to a metadata refresh. Callers build
 * a namer only once they have seen a refused partition, so the common answer builds no broker
 * list.
 */
import { endpointOn } from '../cluster/cluster-view.js';
import type { BrokerServices } from './services.js';

export interface LeaderIdAndEpoch { leaderId: number; leaderEpoch: number }
export interface NamedEndpoint {
  nodeId: number; host: string; port: number; rack: string | null;
  unknownTaggedFields: undefined;
}

/** Looks up leaders for refused partitions and collects the endpoints of those it named. */
export class CurrentLeaderNamer {
  private readonly live: Map<number, ReturnType<BrokerServices['cluster']['brokers']>[number]>;
  private readonly named = new Set<number>();

  constructor(private readonly s: BrokerServices, private readonly listenerName: string) {
    this.live = new Map(s.cluster.brokers().map((b) => [b.nodeId, b]));
  }

  /** The live leader other than this broker, or undefined when there is none to name. */
  leaderOf(topicId: string, partition: number): LeaderIdAndEpoch | undefined {
    const { leaderId, leaderEpoch } = this.s.cluster.leader(topicId, partition, -1);
    if (leaderId === this.s.nodeId || !this.live.has(leaderId) || leaderEpoch < 0) return undefined;
    this.named.add(leaderId);
    return { leaderId, leaderEpoch };
  }

  /** The addresses, on the request's listener, of every leader named so far. */
  endpoints(): NamedEndpoint[] {
    return [...this.named].map((nodeId) => {
      const b = this.live.get(nodeId)!;
      return { nodeId, ...endpointOn(b, this.listenerName), rack: b.rack,
        unknownTaggedFields: undefined };
    });
  }
}
