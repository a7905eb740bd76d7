/**
 * planAssignments, the controller's pure placement rule: orphans to the least-loaded live broker,
 * handoff requests while some live broker leads two or more partitions than another, never a
 * forced move away from a live leader, and the same plan for the same input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  planAssignments,
  type AssignmentPlan,
  type PartitionPlacement,
} from '../../src/cluster/plan-assignments.js';

const topicA = 'AAAAAAAAAAAAAAAAAAAAAA';
const topicB = 'BBBBBBBBBBBBBBBBBBBBBB';

function led(leaderId: number, partition: number, extra: Partial<PartitionPlacement> = {}):
  PartitionPlacement {
  return { topicId: topicA, partition, leaderId, leaderEpoch: 3, recoverFrom: -1, ...extra };
}

/** Leaders 0..n-1 of topic A, each from the list. */
function topic(leaders: number[], topicId = topicA): PartitionPlacement[] {
  return leaders.map((leaderId, partition) => led(leaderId, partition, { topicId }));
}

/** Partition count per broker once the plan is carried out. */
function loadAfter(live: number[], partitions: PartitionPlacement[], plan: AssignmentPlan):
  Map<number, number> {
  const leaders = new Map(partitions.map((p) => [`${p.topicId}:${p.partition}`, p.leaderId]));
  for (const move of [...plan.reassign, ...plan.handoffs]) {
    leaders.set(`${move.topicId}:${move.partition}`, move.toLeaderId);
  }
  const load = new Map(live.map((b) => [b, 0]));
  for (const leaderId of leaders.values()) load.set(leaderId, (load.get(leaderId) ?? 0) + 1);
  return load;
}

describe('planAssignments', () => {
  it('does nothing for a balanced cluster or no partitions', () => {
    expect(planAssignments([1, 2], topic([1, 2, 1, 2]))).toEqual({ reassign: [], handoffs: [] });
    expect(planAssignments([1, 2, 3], topic([1, 2, 3, 1]))).toEqual(
      { reassign: [], handoffs: [] }); // 2 vs 1 is within one
    expect(planAssignments([1], [])).toEqual({ reassign: [], handoffs: [] });
  });

  it('gives a dead broker\'s partitions to the least-loaded live brokers, with their epochs',
    () => {
      // Broker 3 died leading p2, p3, p5; 1 leads two, 2 leads one.
      const partitions = topic([1, 2, 3, 3, 1, 3]);
      const plan = planAssignments([1, 2], partitions);
      expect(plan.reassign).toEqual([
        { topicId: topicA, partition: 2, fromLeaderId: 3, toLeaderId: 2, expectedEpoch: 3 },
        { topicId: topicA, partition: 3, fromLeaderId: 3, toLeaderId: 1, expectedEpoch: 3 },
        { topicId: topicA, partition: 5, fromLeaderId: 3, toLeaderId: 2, expectedEpoch: 3 },
      ]);
      expect(plan.handoffs).toEqual([]);
      expect(loadAfter([1, 2], partitions, plan)).toEqual(new Map([[1, 3], [2, 3]]));
    });

  it('places leaderless partitions (-1) too, ties to the lowest node id', () => {
    const plan = planAssignments([7, 3, 5], topic([-1, -1, -1, -1]));
    expect(plan.reassign.map((m) => [m.partition, m.fromLeaderId, m.toLeaderId])).toEqual(
      [[0, -1, 3], [1, -1, 5], [2, -1, 7], [3, -1, 3]]);
  });

  it('plans nothing at all with no live broker', () => {
    expect(planAssignments([], topic([1, 2, -1]))).toEqual({ reassign: [], handoffs: [] });
  });

  it('hands nothing to a leaving broker, moves nothing off it, places orphans elsewhere', () => {
    // Broker 3 is shutting down gracefully: it released what it led (1 and 2 lead three each)
    // but one partition, which it releases itself; broker 4 died leading p7.
    const partitions = topic([1, 2, 1, 2, 1, 2, 3, 4]);
    const plan = planAssignments([1, 2, 3], partitions, new Set([3]));
    expect(plan.handoffs).toEqual([]);
    expect(plan.reassign).toEqual([
      { topicId: topicA, partition: 7, fromLeaderId: 4, toLeaderId: 1, expectedEpoch: 3 }]);
    // Without the mark, the least-loaded broker 3 gets the orphan, and what it released back.
    expect(planAssignments([1, 2, 3], partitions).reassign.map((m) => m.toLeaderId)).toEqual([3]);
    const released = topic([1, 2, 1, 2, 1, 2]);
    expect(planAssignments([1, 2, 3], released).handoffs.map((h) => h.toLeaderId)).toEqual([3, 3]);
    expect(planAssignments([1, 2, 3], released, new Set([3])))
      .toEqual({ reassign: [], handoffs: [] });
    // Every live broker leaving: an orphan still gets a leader.
    expect(planAssignments([3], topic([4]), new Set([3])).reassign.map((m) => m.toLeaderId))
      .toEqual([3]);
  });

  it('asks the most-loaded live broker to hand partitions to a broker that joined', () => {
    // 1 and 2 lead three each; 3 joins with none: 1 gives first (tie: lowest id), then 2.
    const partitions = topic([1, 2, 1, 2, 1, 2]);
    const plan = planAssignments([1, 2, 3], partitions);
    expect(plan.reassign).toEqual([]);
    expect(plan.handoffs).toEqual([
      { topicId: topicA, partition: 4, fromLeaderId: 1, toLeaderId: 3, epoch: 3 },
      { topicId: topicA, partition: 5, fromLeaderId: 2, toLeaderId: 3, epoch: 3 }]);
    expect(loadAfter([1, 2, 3], partitions, plan)).toEqual(new Map([[1, 2], [2, 2], [3, 2]]));
    // 7 over 3: within one is enough, so no more moves than that take.
    const seven = topic([1, 2, 1, 2, 1, 2, 1]);
    expect(planAssignments([1, 2, 3], seven).handoffs.map((h) => h.partition)).toEqual([6, 4]);
  });

  it('levels a single overloaded broker in as few handoffs as it takes', () => {
    const partitions = topic([1, 1, 1, 1, 1, 1, 1, 1]);
    const plan = planAssignments([1, 2, 3, 4], partitions);
    expect(plan.handoffs.map((h) => [h.partition, h.fromLeaderId, h.toLeaderId])).toEqual(
      [[7, 1, 2], [6, 1, 3], [5, 1, 4], [4, 1, 2], [3, 1, 3], [2, 1, 4]]);
    expect(loadAfter([1, 2, 3, 4], partitions, plan)).toEqual(
      new Map([[1, 2], [2, 2], [3, 2], [4, 2]]));
  });

  it('asks for the same handoffs again while the earlier ones are in flight', () => {
    const partitions = topic([1, 1, 1, 1, 1, 1]);
    const first = planAssignments([1, 2], partitions);
    expect(first.handoffs.map((h) => h.partition)).toEqual([5, 4, 3]);
    // p5 was released to 2 (epoch + 1); p4 and p3 are still pending: the same two again.
    const afterOne = partitions.map((p) => p.partition === 5
      ? { ...p, leaderId: 2, leaderEpoch: 4 } : p);
    expect(planAssignments([1, 2], afterOne).handoffs).toEqual(first.handoffs.slice(1));
  });

  it('never hands off a partition whose leader is still recovering it', () => {
    const partitions = [...topic([1, 1, 1, 1]).map((p) => p.partition >= 2
      ? { ...p, recoverFrom: 9 } : p)];
    const plan = planAssignments([1, 2], partitions);
    expect(plan.handoffs.map((h) => h.partition)).toEqual([1, 0]); // p2, p3 are replaying
    // With only one movable partition left, the plan stops short of balance rather than wait.
    const busier = partitions.map((p) => p.partition === 0 ? { ...p, recoverFrom: 9 } : p);
    expect(planAssignments([1, 2], busier).handoffs.map((h) => h.partition)).toEqual([1]);
    const allRecovering = partitions.map((p) => ({ ...p, recoverFrom: 9 }));
    expect(planAssignments([1, 2], allRecovering)).toEqual({ reassign: [], handoffs: [] });
  });

  it('counts orphans it places before balancing, and only hands off live-led partitions',
    () => {
      // 1 leads four; dead 9 led two; 2 and 3 just joined.
      const partitions = [...topic([1, 1, 1, 1]), ...topic([9, 9], topicB)];
      const plan = planAssignments([1, 2, 3], partitions);
      expect(plan.reassign.map((m) => [m.topicId, m.partition, m.toLeaderId])).toEqual(
        [[topicB, 0, 2], [topicB, 1, 3]]);
      expect(plan.handoffs.map((h) => [h.topicId, h.partition, h.fromLeaderId, h.toLeaderId]))
        .toEqual([[topicA, 3, 1, 2], [topicA, 2, 1, 3]]);
      expect(loadAfter([1, 2, 3], partitions, plan)).toEqual(new Map([[1, 2], [2, 2], [3, 2]]));
    });

  it('orders partitions by topic id then partition, whatever the input order', () => {
    const partitions = [...topic([5, 5], topicB), ...topic([5, 5], topicA)];
    const shuffled = [partitions[3]!, partitions[0]!, partitions[2]!, partitions[1]!];
    const plan = planAssignments([1, 2], shuffled);
    expect(plan).toEqual(planAssignments([2, 1], partitions));
    expect(plan.reassign.map((m) => [m.topicId, m.partition, m.toLeaderId])).toEqual(
      [[topicA, 0, 1], [topicA, 1, 2], [topicB, 0, 1], [topicB, 1, 2]]);
  });

  it('balances 10,000 partitions over 7 brokers after one of 8 dies, quickly', () => {
    const leaders = Array.from({ length: 10_000 }, (_, i) => i % 8);
    const partitions = topic(leaders);
    const startMs = performance.now();
    const plan = planAssignments([0, 1, 2, 3, 4, 5, 6], partitions);
    expect(performance.now() - startMs).toBeLessThan(500);
    expect(plan.reassign).toHaveLength(1_250);
    expect(plan.handoffs).toEqual([]);
    const load = [...loadAfter([0, 1, 2, 3, 4, 5, 6], partitions, plan).values()];
    expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(1);
  });

  it('always ends within one of balance, moves only what it must, and is deterministic', () => {
    const arbitraryCluster = fc.record({
      live: fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 6 }),
      leaders: fc.array(fc.integer({ min: -1, max: 12 }), { maxLength: 60 }),
      recovering: fc.array(fc.boolean(), { maxLength: 60 }),
    });
    fc.assert(fc.property(arbitraryCluster, ({ live, leaders, recovering }) => {
      const partitions = topic(leaders).map((p, i) => recovering[i] === true
        ? { ...p, recoverFrom: 11 } : p);
      const plan = planAssignments(live, partitions);
      expect(planAssignments([...live].reverse(), [...partitions].reverse())).toEqual(plan);
      const liveSet = new Set(live);
      // Exactly the orphans are reassigned, each to a live broker, at its current epoch.
      expect(plan.reassign.map((m) => m.partition)).toEqual(
        partitions.filter((p) => !liveSet.has(p.leaderId)).map((p) => p.partition));
      for (const move of plan.reassign) expect(liveSet.has(move.toLeaderId)).toBe(true);
      // Handoffs only from live leaders of recovered partitions, each partition at most once.
      for (const handoff of plan.handoffs) {
        const p = partitions[handoff.partition]!;
        expect([p.leaderId, p.recoverFrom, p.leaderEpoch]).toEqual(
          [handoff.fromLeaderId, -1, handoff.epoch]);
        expect(liveSet.has(handoff.toLeaderId) && handoff.toLeaderId !== p.leaderId).toBe(true);
      }
      expect(new Set(plan.handoffs.map((h) => h.partition)).size).toBe(plan.handoffs.length);
      // Balanced within one, unless only recovering partitions are left on the busiest broker.
      const load = loadAfter(live, partitions, plan);
      const spread = Math.max(...load.values()) - Math.min(...load.values());
      const recoveringCount = partitions.filter((p) => p.recoverFrom !== -1).length;
      if (recoveringCount === 0) expect(spread).toBeLessThanOrEqual(1);
    }), { numRuns: 500 });
  });
});
