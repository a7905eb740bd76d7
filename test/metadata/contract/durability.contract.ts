/**
 * The contract of every store together: what one instance committed, across stores, a
 * reopened instance over the same storage shows.
 */
import { expect, it } from 'vitest';
import type { Metadata } from '../../../src/metadata/stores.js';
import {
  at, commitOf, key, offsetOf, producerState, topicRecord, type Current, type Reopen,
} from './fixtures.js';

export function durabilityContract(current: Current, reopen: Reopen): void {
  it('shows everything committed after a reopen', async (ctx) => {
    const { c } = current();
    const topic = topicRecord('durable', 2, { 'retention.ms': '60000' });
    await c.topics.create(topic, 3);
    const t = topic.topicId;
    await c.leadership.setLeader(t, 1, 4);
    const states = new Map([[key(t, 0), [producerState(8, 19)]]]);
    await c.segments.commit(commitOf('obj/1', [at(t, 0, 0, 9), at(t, 0, 10, 19)],
      { producerStates: states }));
    await c.segments.commit(commitOf('obj/2', [at(t, 0, 20, 29), at(t, 1, 0, 4,
      { leaderEpoch: 1 })], { epochs: new Map([[key(t, 1), 1]]) }));
    expect(await c.segments.advanceLogStart(t, 0, 10)).toEqual([]);
    await c.offsets.commit('g', [offsetOf('durable', 0, 12)]);
    const producerId = await c.producers.allocate();
    const before = await snapshot(c, t);

    const reopened = await reopen(ctx);
    expect(await snapshot(reopened, t)).toEqual(before);
    expect(before.segments0.map((e) => e.baseOffset)).toEqual([10, 20]);
    expect(before.states.map((s) => s.recoverFrom)).toEqual([-1, 3]);
    expect(await reopened.producers.allocate()).toBeGreaterThan(producerId);
  });
}

async function snapshot(c: Metadata, topicId: string) {
  return {
    clusterId: c.clusterId(),
    topics: await c.topics.list(),
    states: await c.leadership.states(topicId),
    segments0: await c.segments.list(topicId, 0, 0, 100),
    segments1: await c.segments.list(topicId, 1, 0, 100),
    producers: await c.producers.loadStates(topicId, 0),
    offsets: await c.offsets.fetch('g'),
    groups: await c.offsets.listGroups(),
    objects: [...(await c.segments.referencedObjects())].sort(),
  };
}
