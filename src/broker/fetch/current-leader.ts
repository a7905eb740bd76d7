/**
 * KIP-951 for Fetch (broker/current-leader.ts): a partition answered NOT_LEADER_OR_FOLLOWER or
 * FENCED_LEADER_EPOCH names its leader (`currentLeader`, v12+) and the response carries that
 * leader's address (`nodeEndpoints`, v16+), the errors on which Kafka's KafkaApis fills them.
 * The Java consumer then fetches that partition from the named leader at once.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import type { FetchResponse } from '../../../protocol/generated/messages/fetch.js';
import { CurrentLeaderNamer } from '../current-leader.js';
import type { BrokerServices } from '../services.js';

function isRefused(errorCode: number): boolean {
  return errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER
    || errorCode === ErrorCode.FENCED_LEADER_EPOCH;
}

/** Fills `currentLeader` (v12+) and `nodeEndpoints` (v16+) for every refused partition. */
export function nameFetchLeaders(s: BrokerServices, res: FetchResponse, version: number,
  listenerName: string): void {
  if (version < 12) return;
  // The common answer refuses nothing: no broker list is built for it.
  if (!res.responses.some((t) => t.partitions.some((p) => isRefused(p.errorCode)))) return;
  const namer = new CurrentLeaderNamer(s, listenerName);
  for (const t of res.responses) {
    const topicId = version >= 13 ? t.topicId : s.partitions.topic(t.topic)?.record.topicId;
    if (topicId === undefined) continue;
    for (const p of t.partitions) {
      if (!isRefused(p.errorCode)) continue;
      const leader = namer.leaderOf(topicId, p.partitionIndex);
      if (leader !== undefined) p.currentLeader = { ...p.currentLeader, ...leader };
    }
  }
  if (version >= 16) res.nodeEndpoints.push(...namer.endpoints());
}
