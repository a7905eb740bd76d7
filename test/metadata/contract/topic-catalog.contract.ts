/**
 * The TopicCatalog contract: what every engine's topics store must do (and the cluster id).
 */
import { expect, it } from 'vitest';
import { TopicExistsError, UnknownTopicError } from '../../../src/metadata/records.js';
import {
  at, brokerId, commitOf, createTopic, indexedEnd, kafkaUuidPattern, key, newTopicId, offsetOf,
  producerState,
  rangesOf, rejectionOf, topicRecord, type Current, type Reopen,
} from './fixtures.js';

export function topicCatalogContract(current: Current, reopen: Reopen): void {
  it('generates a Kafka-style cluster id', async () => {
    const id = current().c.clusterId();
    expect(id).toMatch(kafkaUuidPattern);
    expect(id.startsWith('-')).toBe(false);
    expect(current().c.clusterId()).toBe(id);
  });

  it('keeps the cluster id across a reopen', async (ctx) => {
    const id = current().c.clusterId();
    expect((await reopen(ctx)).clusterId()).toBe(id);
  });

  it('creates a topic atomically with its partition states', async () => {
    const { c } = current();
    const topic = topicRecord('orders', 3, { 'retention.ms': '1000' });
    await c.topics.create(topic, 7);
    expect(await c.topics.get('orders')).toEqual(topic);
    expect(await c.topics.getById(topic.topicId)).toEqual(topic);
    expect(await c.leadership.states(topic.topicId)).toEqual([0, 1, 2].map((partition) => ({
      topicId: topic.topicId, partition, leaderId: 7, leaderEpoch: 0, logStartOffset: 0,
      indexedEndOffset: 0, recoverFrom: -1 })));
  });

  it('lists topics by name and answers null for unknown ones', async () => {
    const { c } = current();
    await createTopic(c, 'zeta', 1);
    await createTopic(c, 'alpha', 2);
    expect((await c.topics.list()).map((t) => t.name)).toEqual(['alpha', 'zeta']);
    expect(await c.topics.get('missing')).toBeNull();
    expect(await c.topics.getById(newTopicId())).toBeNull();
    expect(await rejectionOf(c.leadership.states(newTopicId()))).toBeInstanceOf(
      UnknownTopicError);
  });

  it('rejects a duplicate name or topic id and changes nothing', async () => {
    const { c } = current();
    const topic = topicRecord('dup', 2);
    await c.topics.create(topic, brokerId);
    const sameName = { ...topicRecord('dup', 5), configs: { a: 'b' } };
    expect(await rejectionOf(c.topics.create(sameName, 9))).toBeInstanceOf(TopicExistsError);
    const sameId = { ...topicRecord('other', 1), topicId: topic.topicId };
    expect(await rejectionOf(c.topics.create(sameId, 9))).toBeInstanceOf(TopicExistsError);
    expect(await c.topics.list()).toEqual([topic]);
    expect((await c.leadership.states(topic.topicId)).map((s) => s.leaderId)).toEqual([1, 1]);
  });

  it('adds partitions that start empty and rejects a count that does not grow', async () => {
    const { c } = current();
    const topicId = await createTopic(c, 'grow', 2);
    await c.leadership.setLeader(topicId, 0, 2);
    await c.topics.createPartitions('grow', 4, 3);
    const states = await c.leadership.states(topicId);
    expect(states.map((s) => [s.partition, s.leaderId, s.leaderEpoch])).toEqual(
      [[0, 2, 1], [1, 1, 0], [2, 3, 0], [3, 3, 0]]);
    expect((await c.topics.get('grow'))?.partitionCount).toBe(4);
    await expect(c.topics.createPartitions('grow', 4, 3)).rejects.toThrow();
    await expect(c.topics.createPartitions('grow', 1, 3)).rejects.toThrow();
    expect(await rejectionOf(c.topics.createPartitions('missing', 9, 1))).toBeInstanceOf(
      UnknownTopicError);
    expect((await c.leadership.states(topicId)).length).toBe(4);
  });

  it('replaces topic configs', async () => {
    const { c } = current();
    await c.topics.create(topicRecord('conf', 1, { 'cleanup.policy': 'delete', a: '1' }), 1);
    await c.topics.setConfigs('conf', { 'retention.bytes': '42' });
    expect((await c.topics.get('conf'))?.configs).toEqual({ 'retention.bytes': '42' });
    expect(await rejectionOf(c.topics.setConfigs('missing', {}))).toBeInstanceOf(
      UnknownTopicError);
  });

  it('deletes a topic with everything of it, returning only objects left without data',
    async () => {
      const { c } = current();
      const doomed = await createTopic(c, 'doomed', 2);
      const kept = await createTopic(c, 'kept', 1);
      const states = new Map([[key(doomed, 0), [producerState(5, 9)]]]);
      await c.segments.commit(commitOf('obj/only-doomed',
        [at(doomed, 0, 0, 9), at(doomed, 1, 0, 4)], { producerStates: states }));
      await c.segments.commit(commitOf('obj/shared', [at(doomed, 0, 10, 19), at(kept, 0, 0, 9)]));
      await c.offsets.commit('g', [offsetOf('doomed', 0, 3), offsetOf('kept', 0, 4)]);

      expect((await c.topics.delete('doomed')).sort()).toEqual(['obj/only-doomed']);
      expect(await c.topics.get('doomed')).toBeNull();
      expect(await c.topics.getById(doomed)).toBeNull();
      expect(await rejectionOf(c.leadership.states(doomed))).toBeInstanceOf(UnknownTopicError);
      expect(await c.segments.list(doomed, 0, 0, 100)).toEqual([]);
      expect(await c.producers.loadStates(doomed, 0)).toEqual([]);
      expect(await c.offsets.fetch('g')).toEqual([offsetOf('kept', 0, 4)]);
      expect(await c.segments.referencedObjects()).toEqual(new Set(['obj/shared']));
      expect(await rangesOf(c, kept, 0)).toEqual([[0, 9, 'obj/shared']]);

      // The name is free again, and the new topic starts from nothing.
      const reborn = await createTopic(c, 'doomed', 1);
      expect(await indexedEnd(c, reborn, 0)).toBe(0);
      expect(await c.topics.delete('kept')).toEqual(['obj/shared']);
    });

  it('rejects deleting an unknown topic', async () => {
    expect(await rejectionOf(current().c.topics.delete('missing'))).toBeInstanceOf(
      UnknownTopicError);
  });
}
