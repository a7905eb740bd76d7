/**
 * Where a new partition starts: on the broker the controller would give it, so that it does not
 * move in its first second. A topic created with every partition on the broker that received
 * CreateTopics was rebalanced by handoffs ~100 ms later; producers that had started at once got
 * NOT_LEADER_OR_FOLLOWER for some partitions of a request, and a client that resends the whole
 * request (kafkajs without idempotence) wrote the others twice.
 *
 * The placement is the controller's own plan (planAssignments) run over the partitions that exist
 * now plus the new ones as orphans: each goes to the least-loaded live broker that is not leaving,
 * ties to the lowest id, so the controller's next pass finds nothing to move (unless two
 * creations raced, which at worst leaves one handoff, as before).
 */
import { UnknownTopicError } from '../metadata/records.js';
import type { LeaderPlacement } from '../partition/partition-manager.js';
import type { WatchedCoordinator } from './controller.js';
import { type PartitionPlacement, planAssignments } from './plan-assignments.js';

export interface PlacementDeps {
  coordinator: WatchedCoordinator;
  /** Node ids of the live brokers, as this broker sees them now. */
  liveBrokers: () => number[];
  /** Those of them shutting down: they get no new partition (they would hand it over at once). */
  leavingBrokers: () => ReadonlySet<number>;
  /** Who leads when no broker is known to be live (this broker). */
  nodeId: number;
}

export function controllerPlacement(deps: PlacementDeps): LeaderPlacement {
  return async (topicId, from, to) => {
    const live = deps.liveBrokers();
    if (live.length === 0) return Array.from({ length: to - from }, () => deps.nodeId);
    const partitions: PartitionPlacement[] = [];
    for (const topic of await deps.coordinator.topics.list()) {
      try {
        for (const p of await deps.coordinator.leadership.states(topic.topicId)) {
          if (p.topicId !== topicId || p.partition < from) partitions.push(p);
        }
      } catch (error) {
        if (!(error instanceof UnknownTopicError)) throw error; // deleted meanwhile
      }
    }
    const fresh = Array.from({ length: to - from }, (_, i): PartitionPlacement =>
      ({ topicId, partition: from + i, leaderId: -1, leaderEpoch: 0, recoverFrom: -1 }));
    const plan = planAssignments(live, [...partitions, ...fresh], deps.leavingBrokers());
    const leaders = new Map(plan.reassign
      .filter((m) => m.topicId === topicId && m.partition >= from)
      .map((m) => [m.partition, m.toLeaderId]));
    return fresh.map((p) => leaders.get(p.partition) ?? deps.nodeId);
  };
}
