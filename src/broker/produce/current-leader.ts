/**
 * KIP-951 for Produce v10+ (broker/current-leader.ts). This is what keeps a graceful leave
 * (cluster-mode.ts) within one retry: the leaving broker answers the produces it held with the
 * partition's new leader, which holds them until it has opened the partition
 * (broker/await-opening.ts).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import type { ProduceResponse } from '../../../protocol/generated/messages/produce.js';
import { CurrentLeaderNamer } from '../current-leader.js';
import type { BrokerServices } from '../services.js';

/** Fills `currentLeader` and `nodeEndpoints` for every NOT_LEADER_OR_FOLLOWER partition (v10+). */
export function nameCurrentLeaders(s: BrokerServices, res: ProduceResponse, version: number,
  listenerName: string): void {
  if (version < 10) return;
  // The common answer refuses nothing: no broker list is built for it.
  const refused = res.responses.some((t) => t.partitionResponses.some((p) =>
    p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER));
  if (!refused) return;
  const namer = new CurrentLeaderNamer(s, listenerName);
  for (const t of res.responses) {
    const topicId = s.partitions.topic(t.name)?.record.topicId;
    if (topicId === undefined) continue;
    for (const p of t.partitionResponses) {
      if (p.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER) continue;
      const leader = namer.leaderOf(topicId, p.index);
      if (leader !== undefined) p.currentLeader = { ...p.currentLeader, ...leader };
    }
  }
  res.nodeEndpoints.push(...namer.endpoints());
}
