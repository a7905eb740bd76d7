/**
 * The controller's placement rule (controller.ts carries it out): a pure function of the live
 * brokers and every partition's leadership, tested on its own (plan-assignments.test.ts).
 */
import assert from 'node:assert/strict';
import type { PartitionState } from '../metadata/records.js';

/** What placement needs of a partition's state. */
export type PartitionPlacement =
  Pick<PartitionState, 'topicId' | 'partition' | 'leaderId' | 'leaderEpoch' | 'recoverFrom'>;

/** Give a partition whose leader is gone to `toLeaderId`, if its epoch is still `expectedEpoch`. */
export interface PlannedReassignment {
  topicId: string;
  partition: number;
  fromLeaderId: number;
  toLeaderId: number;
  expectedEpoch: number;
}

/** Ask the live leader `fromLeaderId` at `epoch` to release the partition to `toLeaderId`. */
export interface PlannedHandoff {
  topicId: string;
  partition: number;
  fromLeaderId: number;
  toLeaderId: number;
  epoch: number;
}

export interface AssignmentPlan {
  reassign: PlannedReassignment[];
  handoffs: PlannedHandoff[];
}

function byPartition(a: PartitionPlacement, b: PartitionPlacement): number {
  return a.topicId < b.topicId ? -1 : a.topicId > b.topicId ? 1 : a.partition - b.partition;
}

/** The broker with the fewest partitions (`sign` 1) or the most (-1); ties to the lowest id. */
function extremeBroker(load: Map<number, number>, candidates: Iterable<number>, sign: 1 | -1):
  number | null {
  let best: number | null = null;
  for (const nodeId of candidates) {
    const difference = best === null ? -1 : sign * (load.get(nodeId)! - load.get(best)!);
    if (difference < 0 || (difference === 0 && best !== null && nodeId < best)) best = nodeId;
  }
  return best;
}

/**
 * What the controller should do, given the live brokers and every partition's leadership; the
 * same input always gives the same plan (ties go to the lowest node id, partitions are taken in
 * (topicId, partition) order), so a plan re-run while its handoffs are in flight asks for the same
 * moves. Orphans (leader not live, or -1) go one at a time to the least-loaded live broker. Then,
 * while the most-loaded broker leads at least two more than the least-loaded, its last movable
 * partition is handed to the least-loaded. Movable: led by it before this plan, and not
 * recovering (recoverFrom -1), since a leader mid-replay cannot flush and release yet. With no
 * live broker the plan is empty: there is nowhere to move anything. A `leaving` broker (shutting
 * down gracefully, membership.ts) receives nothing and gives nothing: it releases its partitions
 * itself, and what it got would move again the moment it is gone.
 */
export function planAssignments(liveBrokers: readonly number[],
  partitions: readonly PartitionPlacement[], leaving: ReadonlySet<number> = new Set()):
  AssignmentPlan {
  const live = [...new Set(liveBrokers)].sort((a, b) => a - b);
  assert.ok(live.every((nodeId) => Number.isSafeInteger(nodeId) && nodeId >= 0), 'node ids');
  const plan: AssignmentPlan = { reassign: [], handoffs: [] };
  if (live.length === 0) return plan;
  // A leaving broker keeps what it leads (it hands each partition over itself) and gets nothing
  // more, unless every live broker is leaving: then an orphan still needs a leader somewhere.
  const staying = live.filter((nodeId) => !leaving.has(nodeId));
  const targets = staying.length > 0 ? staying : live;
  const load = new Map(live.map((nodeId) => [nodeId, 0]));
  const movable = new Map(live.map((nodeId): [number, PartitionPlacement[]] => [nodeId, []]));
  const orphans: PartitionPlacement[] = [];
  for (const p of [...partitions].sort(byPartition)) {
    const count = load.get(p.leaderId);
    if (count === undefined) {
      orphans.push(p);
      continue;
    }
    load.set(p.leaderId, count + 1);
    if (p.recoverFrom === -1 && !leaving.has(p.leaderId)) movable.get(p.leaderId)!.push(p);
  }
  for (const p of orphans) {
    const to = extremeBroker(load, targets, 1)!;
    load.set(to, load.get(to)! + 1);
    plan.reassign.push({ topicId: p.topicId, partition: p.partition, fromLeaderId: p.leaderId,
      toLeaderId: to, expectedEpoch: p.leaderEpoch });
  }
  for (;;) {
    const under = extremeBroker(load, staying, 1);
    if (under === null) break;
    const over = extremeBroker(load, live.filter((b) => movable.get(b)!.length > 0), -1);
    if (over === null || load.get(over)! - load.get(under)! < 2) break;
    const p = movable.get(over)!.pop()!;
    load.set(over, load.get(over)! - 1);
    load.set(under, load.get(under)! + 1);
    plan.handoffs.push({ topicId: p.topicId, partition: p.partition, fromLeaderId: over,
      toLeaderId: under, epoch: p.leaderEpoch });
  }
  assert.equal([...load.values()].reduce((a, b) => a + b, 0), partitions.length, 'all placed');
  return plan;
}
