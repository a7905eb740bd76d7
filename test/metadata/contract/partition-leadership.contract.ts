/**
 * The PartitionLeadership contract: epochs, fencing, and the recovery duty a leader change
 * leaves (the transition table in src/metadata/rules.ts).
 */
import { expect, it } from 'vitest';
import { FencedError, UnknownTopicError } from '../../../src/metadata/records.js';
import type { Metadata } from '../../../src/metadata/stores.js';
import { createTopic, rejectionOf, topicRecord, type Current } from './fixtures.js';

export function partitionLeadershipContract(current: Current): void {
  recoveryContract(current);
  it('bumps the leader epoch by one on every setPartitionLeader call', async () => {
    const { c } = current();
    const topicId = await createTopic(c, 'lead', 2);
    const first = await c.leadership.setLeader(topicId, 1, 4);
    expect(first).toMatchObject({ topicId, partition: 1, leaderId: 4, leaderEpoch: 1 });
    expect((await c.leadership.setLeader(topicId, 1, 4)).leaderEpoch).toBe(2); // same leader too
    expect((await c.leadership.setLeader(topicId, 1, -1)).leaderEpoch).toBe(3);
    const states = await c.leadership.states(topicId);
    expect(states.map((s) => [s.leaderId, s.leaderEpoch])).toEqual([[1, 0], [-1, 3]]);
    expect(await rejectionOf(c.leadership.setLeader(topicId, 2, 1))).toBeInstanceOf(
      UnknownTopicError);
  });

  it('fences setPartitionLeader on an expected epoch that moved on, changing nothing',
    async () => {
      const { c } = current();
      const topicId = await createTopic(c, 'elect', 1);
      expect(await c.leadership.setLeader(topicId, 0, 2, 0)).toMatchObject(
        { leaderId: 2, leaderEpoch: 1 });
      // A second controller that also saw epoch 0 loses: its election is stale.
      const error = await rejectionOf(c.leadership.setLeader(topicId, 0, 3, 0));
      expect(error).toBeInstanceOf(FencedError);
      expect(error).toMatchObject({ topicId, partition: 0, heldEpoch: 0, currentEpoch: 1 });
      expect(await rejectionOf(c.leadership.setLeader(topicId, 0, 3, 7))).toBeInstanceOf(
        FencedError); // ahead is as wrong as behind
      expect((await c.leadership.states(topicId)).map((s) => [s.leaderId, s.leaderEpoch]))
        .toEqual([[2, 1]]);
      expect((await c.leadership.setLeader(topicId, 0, 3, 1)).leaderEpoch).toBe(2);
      expect(await rejectionOf(c.leadership.setLeader(topicId, 1, 3, 0))).toBeInstanceOf(
        UnknownTopicError);
    });
}

function recoveryContract(current: Current): void {
  it('makes a new leader recover from the old one, and keeps the ORIGINAL broker across moves',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'recover', 2); // led by broker 1, nothing to recover
      expect(await leadershipOf(c, t, 0)).toEqual([1, 0, -1]);
      expect(await c.leadership.setLeader(t, 0, 1)).toMatchObject( // same leader: epoch only
        { leaderId: 1, leaderEpoch: 1, recoverFrom: -1 });
      expect(await c.leadership.setLeader(t, 0, 2, 1)).toMatchObject( // 1 died: 2 replays 1's WAL
        { leaderId: 2, leaderEpoch: 2, recoverFrom: 1 });
      expect(await c.leadership.setLeader(t, 0, 2)).toMatchObject( // same leader keeps the duty
        { leaderId: 2, leaderEpoch: 3, recoverFrom: 1 });
      expect(await c.leadership.setLeader(t, 0, 3)).toMatchObject( // 2 died mid-recovery
        { leaderId: 3, leaderEpoch: 4, recoverFrom: 1 });
      expect(await leadershipOf(c, t, 0)).toEqual([3, 4, 1]);
      expect(await leadershipOf(c, t, 1)).toEqual([1, 0, -1]); // the other partition is apart
    });

  it('completes a recovery only at the current epoch, then the next move recovers anew',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'complete', 1);
      await c.leadership.setLeader(t, 0, 2); // [2, 1, 1]
      const stale = await rejectionOf(c.leadership.completeRecovery(t, 0, 0));
      expect(stale).toBeInstanceOf(FencedError);
      expect(stale).toMatchObject({ topicId: t, partition: 0, heldEpoch: 0, currentEpoch: 1 });
      expect(await rejectionOf(c.leadership.completeRecovery(t, 0, 2))).toBeInstanceOf(FencedError);
      expect(await leadershipOf(c, t, 0)).toEqual([2, 1, 1]);

      await c.leadership.completeRecovery(t, 0, 1);
      expect(await leadershipOf(c, t, 0)).toEqual([2, 1, -1]); // the epoch does not move
      await c.leadership.completeRecovery(t, 0, 1); // a repeat is a no-op
      expect(await leadershipOf(c, t, 0)).toEqual([2, 1, -1]);
      expect((await c.leadership.setLeader(t, 0, 3, 1)).recoverFrom).toBe(2); // now 2 died
      expect(await rejectionOf(c.leadership.completeRecovery(t, 5, 0))).toBeInstanceOf(UnknownTopicError);
    });

  it('starts with nothing to recover after no leader, and in added partitions', async () => {
    const { c } = current();
    const topic = topicRecord('leaderless', 1);
    await c.topics.create(topic, -1);
    expect(await c.leadership.setLeader(topic.topicId, 0, 4, 0)).toMatchObject(
      { leaderId: 4, leaderEpoch: 1, recoverFrom: -1 });
    expect((await c.leadership.setLeader(topic.topicId, 0, -1)).recoverFrom).toBe(4);
    await c.topics.createPartitions('leaderless', 3, 2);
    expect(await leadershipOf(c, topic.topicId, 1)).toEqual([2, 0, -1]);
    expect(await leadershipOf(c, topic.topicId, 2)).toEqual([2, 0, -1]);
  });

  it('releases a partition from a live leader: new leader, epoch + 1, nothing to recover',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'release', 1);
      expect(await c.leadership.release(t, 0, 0, 5)).toMatchObject(
        { topicId: t, partition: 0, leaderId: 5, leaderEpoch: 1, recoverFrom: -1 });
      // The releasing broker's epoch is gone: a second release (or a stale one) is fenced.
      const stale = await rejectionOf(c.leadership.release(t, 0, 0, 6));
      expect(stale).toBeInstanceOf(FencedError);
      expect(stale).toMatchObject({ heldEpoch: 0, currentEpoch: 1 });
      expect(await leadershipOf(c, t, 0)).toEqual([5, 1, -1]);
      expect((await c.leadership.release(t, 0, 1, -1)).leaderId).toBe(-1); // to the controller
      // From no leader, an unconsented move has no WAL to recover.
      expect((await c.leadership.setLeader(t, 0, 6, 2)).recoverFrom).toBe(-1);
      expect(await rejectionOf(c.leadership.release(t, 3, 0, 1))).toBeInstanceOf(
        UnknownTopicError);
    });

  it('keeps a third broker\'s pending recovery when a leader releases before completing it',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'release-recovering', 1);
      await c.leadership.setLeader(t, 0, 2, 0); // 1 died: [2, 1, 1]
      expect(await c.leadership.release(t, 0, 1, 3)).toMatchObject(
        { leaderId: 3, leaderEpoch: 2, recoverFrom: 1 }); // 1's WAL is still not replayed
      await c.leadership.completeRecovery(t, 0, 2);
      expect(await c.leadership.release(t, 0, 2, 4)).toMatchObject(
        { leaderId: 4, leaderEpoch: 3, recoverFrom: -1 });
    });

  it('lets only one of two racing leadership changes at one epoch win', async () => {
    const { c } = current();
    const t = await createTopic(c, 'race-release', 1);
    const [release, election] = await Promise.allSettled([c.leadership.release(t, 0, 0, 2),
      c.leadership.setLeader(t, 0, 3, 0)]);
    const won = [release, election].filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = [release, election].find((r) => r.status === 'rejected');
    expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(FencedError);
    expect(await leadershipOf(c, t, 0)).toEqual(release.status === 'fulfilled' ? [2, 1, -1]
      : [3, 1, 1]);
  });
}

/** [leaderId, leaderEpoch, recoverFrom] of one partition. */
async function leadershipOf(c: Metadata, topicId: string, partition: number):
  Promise<[number, number, number]> {
  const state = (await c.leadership.states(topicId)).find((s) => s.partition === partition);
  if (state === undefined) throw new Error(`no partition ${partition}`);
  return [state.leaderId, state.leaderEpoch, state.recoverFrom];
}
