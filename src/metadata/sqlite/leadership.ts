/** PartitionLeadership on SQLite: the leadership columns of the `partitions` table. The
 *  transitions and their fencing are rules.ts's; this file reads and writes rows. */
import assert from 'node:assert/strict';
import type { PartitionState } from '../records.js';
import { afterLeaderSet, afterRecoveryComplete, afterRelease } from '../rules.js';
import type { PartitionLeadership } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteWriter } from './writer.js';

export const leadershipWrites = {
  leaderSet(d: SqliteDatabase, topicId: string, partition: number, leaderId: number,
    expectedEpoch?: number): PartitionState {
    const current = d.partition(topicId, partition);
    const next = afterLeaderSet(current, topicId, partition, leaderId, expectedEpoch);
    return writeLeadership(d, current!, next);
  },

  leaderCompleteRecovery(d: SqliteDatabase, topicId: string, partition: number, epoch: number):
    PartitionState {
    const current = d.partition(topicId, partition);
    const next = afterRecoveryComplete(current, topicId, partition, epoch);
    return next === null ? current! : writeLeadership(d, current!, next); // null: a no-op repeat
  },

  leaderRelease(d: SqliteDatabase, topicId: string, partition: number, epoch: number,
    toLeaderId: number): PartitionState {
    const current = d.partition(topicId, partition);
    return writeLeadership(d, current!,
      afterRelease(current, topicId, partition, epoch, toLeaderId));
  },
};

export class SqlitePartitionLeadership implements PartitionLeadership {
  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {}

  async states(topicId: string): Promise<PartitionState[]> {
    return this.d.transaction(() => { // a read transaction: the topic and its rows agree
      this.d.requireTopicById(topicId);
      const states = this.d.s.selectPartitions.all(topicId);
      assert.ok(states.length > 0, 'a topic has partitions');
      return states;
    });
  }

  async setLeader(topicId: string, partition: number, leaderId: number,
    expectedEpoch?: number): Promise<PartitionState> {
    return this.writer.run('leaderSet', topicId, partition, leaderId, expectedEpoch);
  }

  async completeRecovery(topicId: string, partition: number, epoch: number):
    Promise<PartitionState> {
    return this.writer.run('leaderCompleteRecovery', topicId, partition, epoch);
  }

  async release(topicId: string, partition: number, epoch: number, toLeaderId: number):
    Promise<PartitionState> {
    return this.writer.run('leaderRelease', topicId, partition, epoch, toLeaderId);
  }
}

/** Writes the leadership columns of `next` over `current` (read in the same transaction); the
 *  epoch in the WHERE clause makes it a compare-and-set even if a caller forgot to check. */
function writeLeadership(d: SqliteDatabase, current: PartitionState, next: PartitionState):
  PartitionState {
  assert.ok(next.leaderEpoch >= current.leaderEpoch && next.recoverFrom >= -1);
  const state = d.s.updateLeadership.get(next.leaderId, next.leaderEpoch, next.recoverFrom,
    current.topicId, current.partition, current.leaderEpoch);
  assert.ok(state !== undefined, 'the row read in this transaction is still there');
  assert.deepEqual(state, next, 'the row is what the transition computed');
  return state;
}
