/**
 * KIP-951 for Produce v10+: a partition answered NOT_LEADER_OR_FOLLOWER names the leader this
 * broker knows of (`currentLeader`), and the response carries that broker's address
 * (`nodeEndpoints`), as Kafka does. A client that understands it (the Java client since 3.7,
 * librdkafka since 2.5) updates that one partition's leader and resends at once, without a
 * metadata round trip and without its retry backoff. This is what keeps a graceful leave
 * (cluster-mode.ts) within one retry: the leaving broker answers the produces it held with the
 * partition's new leader, which holds them until it has opened the partition
 * (broker/await-opening.ts).
 *
 * Only another live broker is named: a leader that is this broker itself, unknown, or not live
 * tells the client nothing it can act on, and it falls back to a metadata refresh.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import type { ProduceResponse } from '../../../protocol/generated/messages/produce.js';
import { endpointOn } from '../../cluster/cluster-view.js';
import type { BrokerServices } from '../services.js';

/** Fills `currentLeader` and `nodeEndpoints` for every NOT_LEADER_OR_FOLLOWER partition (v10+). */
export function nameCurrentLeaders(s: BrokerServices, res: ProduceResponse, version: number,
  listenerName: string): void {
  if (version < 10) return;
  // The common answer refuses nothing: no broker list is built for it.
  const refused = res.responses.some((t) => t.partitionResponses.some((p) =>
    p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER));
  if (!refused) return;
  const live = new Map(s.cluster.brokers().map((b) => [b.nodeId, b]));
  const named = new Set<number>();
  for (const t of res.responses) {
    const topicId = s.partitions.topic(t.name)?.record.topicId;
    if (topicId === undefined) continue;
    for (const p of t.partitionResponses) {
      if (p.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER) continue;
      const { leaderId, leaderEpoch } = s.cluster.leader(topicId, p.index, -1);
      if (leaderId === s.nodeId || !live.has(leaderId) || leaderEpoch < 0) continue;
      p.currentLeader = { ...p.currentLeader, leaderId, leaderEpoch };
      named.add(leaderId);
    }
  }
  for (const nodeId of named) {
    const b = live.get(nodeId)!;
    res.nodeEndpoints.push({ nodeId, ...endpointOn(b, listenerName), rack: b.rack,
      unknownTaggedFields: undefined });
  }
}
