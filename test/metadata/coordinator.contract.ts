/**
 * The one contract every MetadataCoordinator engine must pass (embedded SQLite now, etcd later).
 * Each engine's test file calls `runCoordinatorContract` with a factory that returns a fresh, empty
 * coordinator per test; engines that persist also return `reopen`, which closes the current
 * instance and opens a new one over the same storage, so durability is part of the contract.
 *
 * Only behaviour visible through the interface is asserted here. Where the interface names no
 * error class (a contiguity violation, a partition count that does not grow), the contract asserts
 * that the call rejects and that nothing changed.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import {
  FencedError,
  TopicExistsError,
  UnknownTopicError,
  type CommittedOffset,
  type MetadataCoordinator,
  type ProducerPartitionState,
  type SegmentCommit,
  type SegmentEntry,
  type TopicRecord,
} from '../../src/metadata/coordinator.js';

export interface CoordinatorHarness {
  coordinator: MetadataCoordinator;
  /** Closes the current instance, opens a new one over the same storage and returns it. */
  reopen?: () => Promise<MetadataCoordinator>;
  /** Closes whatever instance is open and removes the storage. */
  cleanup(): Promise<void>;
}

// Fixtures ---------------------------------------------------------------------------------------

const kafkaUuidPattern = /^[A-Za-z0-9_-]{22}$/;
const entryBytesPerOffset = 100;
const brokerId = 1;

export function newTopicId(): string {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
}

export function topicRecord(name: string, partitionCount: number,
  configs: Record<string, string> = {}): TopicRecord {
  return { name, topicId: newTopicId(), partitionCount, configs, createdAtMs: 1_700_000_000_000 };
}

function key(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/** One index entry before it is placed in an object. */
export interface EntrySpec {
  topicId: string;
  partition: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestampMs?: number;
  leaderEpoch?: number;
}

export function at(topicId: string, partition: number, baseOffset: number, lastOffset: number,
  extra: Partial<EntrySpec> = {}): EntrySpec {
  return { topicId, partition, baseOffset, lastOffset, ...extra };
}

export interface CommitOptions {
  /** Held epoch per `${topicId}:${partition}`; 0 for any partition not listed. */
  epochs?: Map<string, number>;
  producerStates?: Map<string, ProducerPartitionState[]>;
}

/** Lays the entries out back to back in one object and fences every partition touched. */
export function commitOf(objectKey: string, specs: EntrySpec[],
  options: CommitOptions = {}): SegmentCommit {
  let position = 0;
  const entries: SegmentEntry[] = specs.map((spec) => {
    const sizeBytes = (spec.lastOffset - spec.baseOffset + 1) * entryBytesPerOffset;
    const entry = { objectKey, position, sizeBytes, maxTimestampMs: spec.lastOffset * 10,
      leaderEpoch: 0, ...spec };
    position += sizeBytes;
    return entry;
  });
  const producerStates = options.producerStates ?? new Map();
  const leaderEpochs = new Map<string, number>();
  const touched = [...entries.map((e) => key(e.topicId, e.partition)), ...producerStates.keys()];
  for (const k of touched) leaderEpochs.set(k, options.epochs?.get(k) ?? 0);
  return { objectKey, objectSizeBytes: Math.max(position, 1), entries, producerStates,
    leaderEpochs };
}

export function producerState(producerId: number, lastOffset: number): ProducerPartitionState {
  return { producerId, producerEpoch: 0, lastTimestampMs: lastOffset * 10,
    recentBatches: [{ firstSequence: 0, lastSequence: lastOffset, baseOffset: 0, lastOffset }] };
}

function offsetOf(topic: string, partition: number, offset: number): CommittedOffset {
  return { topic, partition, offset, leaderEpoch: 0, metadata: `m${offset}`,
    commitTimestampMs: 1_700_000_000_000 + offset };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => {
    throw new Error('expected a rejection');
  }, (error: unknown) => error);
}

/** [baseOffset, lastOffset, objectKey] of every entry of a partition, for compact assertions. */
async function rangesOf(c: MetadataCoordinator, topicId: string, partition: number):
  Promise<[number, number, string][]> {
  const entries = await c.listSegments(topicId, partition, 0, 10_000);
  return entries.map((e) => [e.baseOffset, e.lastOffset, e.objectKey]);
}

async function indexedEnd(c: MetadataCoordinator, topicId: string, partition: number):
  Promise<number> {
  const state = (await c.getPartitionStates(topicId)).find((s) => s.partition === partition);
  if (state === undefined) throw new Error(`no partition ${partition}`);
  return state.indexedEndOffset;
}

async function createTopic(c: MetadataCoordinator, name: string, partitionCount: number):
  Promise<string> {
  const topic = topicRecord(name, partitionCount);
  await c.createTopic(topic, brokerId);
  return topic.topicId;
}

// The contract -----------------------------------------------------------------------------------

type Current = () => { c: MetadataCoordinator; h: CoordinatorHarness };

export function runCoordinatorContract(name: string,
  makeCoordinator: () => Promise<CoordinatorHarness>): void {
  describe(`MetadataCoordinator contract: ${name}`, () => {
    let h: CoordinatorHarness;
    let c: MetadataCoordinator;
    beforeEach(async () => {
      h = await makeCoordinator();
      c = h.coordinator;
    });
    afterEach(async () => {
      await h.cleanup();
    });
    // Tests that reopen replace `c`; the getter keeps every group looking at the live instance.
    const current: Current = () => ({ c, h });
    const reopen = async (ctx: TestContext): Promise<MetadataCoordinator> => {
      if (h.reopen === undefined) return ctx.skip(`${name} has no durable storage to reopen`);
      c = await h.reopen();
      return c;
    };

    describeTopics(current, reopen);
    describePartitionState(current);
    describeRecovery(current);
    describeSegmentIndex(current);
    describeProducers(current, reopen);
    describeGroupOffsets(current);
    describeDurability(current, reopen);
  });
}

type Reopen = (ctx: TestContext) => Promise<MetadataCoordinator>;

function describeTopics(current: Current, reopen: Reopen): void {
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
    await c.createTopic(topic, 7);
    expect(await c.getTopic('orders')).toEqual(topic);
    expect(await c.getTopicById(topic.topicId)).toEqual(topic);
    expect(await c.getPartitionStates(topic.topicId)).toEqual([0, 1, 2].map((partition) => ({
      topicId: topic.topicId, partition, leaderId: 7, leaderEpoch: 0, logStartOffset: 0,
      indexedEndOffset: 0, recoverFrom: -1 })));
  });

  it('lists topics by name and answers null for unknown ones', async () => {
    const { c } = current();
    await createTopic(c, 'zeta', 1);
    await createTopic(c, 'alpha', 2);
    expect((await c.listTopics()).map((t) => t.name)).toEqual(['alpha', 'zeta']);
    expect(await c.getTopic('missing')).toBeNull();
    expect(await c.getTopicById(newTopicId())).toBeNull();
    expect(await rejectionOf(c.getPartitionStates(newTopicId()))).toBeInstanceOf(
      UnknownTopicError);
  });

  it('rejects a duplicate name or topic id and changes nothing', async () => {
    const { c } = current();
    const topic = topicRecord('dup', 2);
    await c.createTopic(topic, brokerId);
    const sameName = { ...topicRecord('dup', 5), configs: { a: 'b' } };
    expect(await rejectionOf(c.createTopic(sameName, 9))).toBeInstanceOf(TopicExistsError);
    const sameId = { ...topicRecord('other', 1), topicId: topic.topicId };
    expect(await rejectionOf(c.createTopic(sameId, 9))).toBeInstanceOf(TopicExistsError);
    expect(await c.listTopics()).toEqual([topic]);
    expect((await c.getPartitionStates(topic.topicId)).map((s) => s.leaderId)).toEqual([1, 1]);
  });

  it('adds partitions that start empty and rejects a count that does not grow', async () => {
    const { c } = current();
    const topicId = await createTopic(c, 'grow', 2);
    await c.setPartitionLeader(topicId, 0, 2);
    await c.createPartitions('grow', 4, 3);
    const states = await c.getPartitionStates(topicId);
    expect(states.map((s) => [s.partition, s.leaderId, s.leaderEpoch])).toEqual(
      [[0, 2, 1], [1, 1, 0], [2, 3, 0], [3, 3, 0]]);
    expect((await c.getTopic('grow'))?.partitionCount).toBe(4);
    await expect(c.createPartitions('grow', 4, 3)).rejects.toThrow();
    await expect(c.createPartitions('grow', 1, 3)).rejects.toThrow();
    expect(await rejectionOf(c.createPartitions('missing', 9, 1))).toBeInstanceOf(
      UnknownTopicError);
    expect((await c.getPartitionStates(topicId)).length).toBe(4);
  });

  it('replaces topic configs', async () => {
    const { c } = current();
    await c.createTopic(topicRecord('conf', 1, { 'cleanup.policy': 'delete', a: '1' }), 1);
    await c.setTopicConfigs('conf', { 'retention.bytes': '42' });
    expect((await c.getTopic('conf'))?.configs).toEqual({ 'retention.bytes': '42' });
    expect(await rejectionOf(c.setTopicConfigs('missing', {}))).toBeInstanceOf(
      UnknownTopicError);
  });

  it('deletes a topic with everything of it, returning only objects left without data',
    async () => {
      const { c } = current();
      const doomed = await createTopic(c, 'doomed', 2);
      const kept = await createTopic(c, 'kept', 1);
      const states = new Map([[key(doomed, 0), [producerState(5, 9)]]]);
      await c.commitSegments(commitOf('obj/only-doomed',
        [at(doomed, 0, 0, 9), at(doomed, 1, 0, 4)], { producerStates: states }));
      await c.commitSegments(commitOf('obj/shared', [at(doomed, 0, 10, 19), at(kept, 0, 0, 9)]));
      await c.commitOffsets('g', [offsetOf('doomed', 0, 3), offsetOf('kept', 0, 4)]);

      expect((await c.deleteTopic('doomed')).sort()).toEqual(['obj/only-doomed']);
      expect(await c.getTopic('doomed')).toBeNull();
      expect(await c.getTopicById(doomed)).toBeNull();
      expect(await rejectionOf(c.getPartitionStates(doomed))).toBeInstanceOf(UnknownTopicError);
      expect(await c.listSegments(doomed, 0, 0, 100)).toEqual([]);
      expect(await c.loadProducerStates(doomed, 0)).toEqual([]);
      expect(await c.fetchOffsets('g')).toEqual([offsetOf('kept', 0, 4)]);
      expect(await c.listReferencedObjects()).toEqual(new Set(['obj/shared']));
      expect(await rangesOf(c, kept, 0)).toEqual([[0, 9, 'obj/shared']]);

      // The name is free again, and the new topic starts from nothing.
      const reborn = await createTopic(c, 'doomed', 1);
      expect(await indexedEnd(c, reborn, 0)).toBe(0);
      expect(await c.deleteTopic('kept')).toEqual(['obj/shared']);
    });

  it('rejects deleting an unknown topic', async () => {
    expect(await rejectionOf(current().c.deleteTopic('missing'))).toBeInstanceOf(
      UnknownTopicError);
  });
}

function describePartitionState(current: Current): void {
  it('bumps the leader epoch by one on every setPartitionLeader call', async () => {
    const { c } = current();
    const topicId = await createTopic(c, 'lead', 2);
    const first = await c.setPartitionLeader(topicId, 1, 4);
    expect(first).toMatchObject({ topicId, partition: 1, leaderId: 4, leaderEpoch: 1 });
    expect((await c.setPartitionLeader(topicId, 1, 4)).leaderEpoch).toBe(2); // same leader too
    expect((await c.setPartitionLeader(topicId, 1, -1)).leaderEpoch).toBe(3);
    const states = await c.getPartitionStates(topicId);
    expect(states.map((s) => [s.leaderId, s.leaderEpoch])).toEqual([[1, 0], [-1, 3]]);
    expect(await rejectionOf(c.setPartitionLeader(topicId, 2, 1))).toBeInstanceOf(
      UnknownTopicError);
  });

  it('fences setPartitionLeader on an expected epoch that moved on, changing nothing',
    async () => {
      const { c } = current();
      const topicId = await createTopic(c, 'elect', 1);
      expect(await c.setPartitionLeader(topicId, 0, 2, 0)).toMatchObject(
        { leaderId: 2, leaderEpoch: 1 });
      // A second controller that also saw epoch 0 loses: its election is stale.
      const error = await rejectionOf(c.setPartitionLeader(topicId, 0, 3, 0));
      expect(error).toBeInstanceOf(FencedError);
      expect(error).toMatchObject({ topicId, partition: 0, heldEpoch: 0, currentEpoch: 1 });
      expect(await rejectionOf(c.setPartitionLeader(topicId, 0, 3, 7))).toBeInstanceOf(
        FencedError); // ahead is as wrong as behind
      expect((await c.getPartitionStates(topicId)).map((s) => [s.leaderId, s.leaderEpoch]))
        .toEqual([[2, 1]]);
      expect((await c.setPartitionLeader(topicId, 0, 3, 1)).leaderEpoch).toBe(2);
      expect(await rejectionOf(c.setPartitionLeader(topicId, 1, 3, 0))).toBeInstanceOf(
        UnknownTopicError);
    });

  it('advances the log start, drops entries wholly below it, returns emptied objects',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'retain', 2);
      await c.commitSegments(commitOf('obj/a', [at(t, 0, 0, 9), at(t, 1, 0, 4)]));
      await c.commitSegments(commitOf('obj/b', [at(t, 0, 10, 19)]));
      await c.commitSegments(commitOf('obj/c', [at(t, 0, 20, 29)]));

      expect(await c.advanceLogStartOffset(t, 0, 15)).toEqual([]); // obj/a still holds p1
      expect(await rangesOf(c, t, 0)).toEqual([[10, 19, 'obj/b'], [20, 29, 'obj/c']]);
      expect(await c.advanceLogStartOffset(t, 0, 20)).toEqual(['obj/b']);
      expect(await c.advanceLogStartOffset(t, 0, 5)).toEqual([]); // never backwards
      expect(await c.advanceLogStartOffset(t, 1, 5)).toEqual(['obj/a']);

      const states = await c.getPartitionStates(t);
      expect(states.map((s) => [s.logStartOffset, s.indexedEndOffset])).toEqual(
        [[20, 30], [5, 5]]);
      expect(await c.listReferencedObjects()).toEqual(new Set(['obj/c']));
      expect(await c.partitionSizeBytes(t, 0)).toBe(10 * entryBytesPerOffset);
      expect(await c.partitionSizeBytes(t, 1)).toBe(0);
      expect(await rejectionOf(c.advanceLogStartOffset(t, 7, 1))).toBeInstanceOf(
        UnknownTopicError);
    });

  it('advances the index end over entries that arrive wholly below the log start', async () => {
    const { c } = current();
    const t = await createTopic(c, 'dead-on-arrival', 1);
    await c.advanceLogStartOffset(t, 0, 100); // DeleteRecords past what is indexed yet
    await c.commitSegments(commitOf('obj/dead', [at(t, 0, 0, 49)]));
    expect(await indexedEnd(c, t, 0)).toBe(50);
    expect(await rangesOf(c, t, 0)).toEqual([]);
    expect(await c.listReferencedObjects()).toEqual(new Set());
    await c.commitSegments(commitOf('obj/live', [at(t, 0, 50, 99), at(t, 0, 100, 149)]));
    expect(await rangesOf(c, t, 0)).toEqual([[100, 149, 'obj/live']]);
    expect(await c.listReferencedObjects()).toEqual(new Set(['obj/live']));
  });
}

/** [leaderId, leaderEpoch, recoverFrom] of one partition. */
async function leadershipOf(c: MetadataCoordinator, topicId: string, partition: number):
  Promise<[number, number, number]> {
  const state = (await c.getPartitionStates(topicId)).find((s) => s.partition === partition);
  if (state === undefined) throw new Error(`no partition ${partition}`);
  return [state.leaderId, state.leaderEpoch, state.recoverFrom];
}

function describeRecovery(current: Current): void {
  it('makes a new leader recover from the old one, and keeps the ORIGINAL broker across moves',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'recover', 2); // led by broker 1, nothing to recover
      expect(await leadershipOf(c, t, 0)).toEqual([1, 0, -1]);
      expect(await c.setPartitionLeader(t, 0, 1)).toMatchObject( // same leader: epoch only
        { leaderId: 1, leaderEpoch: 1, recoverFrom: -1 });
      expect(await c.setPartitionLeader(t, 0, 2, 1)).toMatchObject( // 1 died: 2 replays 1's WAL
        { leaderId: 2, leaderEpoch: 2, recoverFrom: 1 });
      expect(await c.setPartitionLeader(t, 0, 2)).toMatchObject( // same leader keeps the duty
        { leaderId: 2, leaderEpoch: 3, recoverFrom: 1 });
      expect(await c.setPartitionLeader(t, 0, 3)).toMatchObject( // 2 died mid-recovery
        { leaderId: 3, leaderEpoch: 4, recoverFrom: 1 });
      expect(await leadershipOf(c, t, 0)).toEqual([3, 4, 1]);
      expect(await leadershipOf(c, t, 1)).toEqual([1, 0, -1]); // the other partition is apart
    });

  it('completes a recovery only at the current epoch, then the next move recovers anew',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'complete', 1);
      await c.setPartitionLeader(t, 0, 2); // [2, 1, 1]
      const stale = await rejectionOf(c.completeRecovery(t, 0, 0));
      expect(stale).toBeInstanceOf(FencedError);
      expect(stale).toMatchObject({ topicId: t, partition: 0, heldEpoch: 0, currentEpoch: 1 });
      expect(await rejectionOf(c.completeRecovery(t, 0, 2))).toBeInstanceOf(FencedError);
      expect(await leadershipOf(c, t, 0)).toEqual([2, 1, 1]);

      await c.completeRecovery(t, 0, 1);
      expect(await leadershipOf(c, t, 0)).toEqual([2, 1, -1]); // the epoch does not move
      await c.completeRecovery(t, 0, 1); // a repeat is a no-op
      expect(await leadershipOf(c, t, 0)).toEqual([2, 1, -1]);
      expect((await c.setPartitionLeader(t, 0, 3, 1)).recoverFrom).toBe(2); // now 2 died
      expect(await rejectionOf(c.completeRecovery(t, 5, 0))).toBeInstanceOf(UnknownTopicError);
    });

  it('starts with nothing to recover after no leader, and in added partitions', async () => {
    const { c } = current();
    const topic = topicRecord('leaderless', 1);
    await c.createTopic(topic, -1);
    expect(await c.setPartitionLeader(topic.topicId, 0, 4, 0)).toMatchObject(
      { leaderId: 4, leaderEpoch: 1, recoverFrom: -1 });
    expect((await c.setPartitionLeader(topic.topicId, 0, -1)).recoverFrom).toBe(4);
    await c.createPartitions('leaderless', 3, 2);
    expect(await leadershipOf(c, topic.topicId, 1)).toEqual([2, 0, -1]);
    expect(await leadershipOf(c, topic.topicId, 2)).toEqual([2, 0, -1]);
  });

  it('releases a partition from a live leader: new leader, epoch + 1, nothing to recover',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'release', 1);
      expect(await c.releasePartition(t, 0, 0, 5)).toMatchObject(
        { topicId: t, partition: 0, leaderId: 5, leaderEpoch: 1, recoverFrom: -1 });
      // The releasing broker's epoch is gone: a second release (or a stale one) is fenced.
      const stale = await rejectionOf(c.releasePartition(t, 0, 0, 6));
      expect(stale).toBeInstanceOf(FencedError);
      expect(stale).toMatchObject({ heldEpoch: 0, currentEpoch: 1 });
      expect(await leadershipOf(c, t, 0)).toEqual([5, 1, -1]);
      expect((await c.releasePartition(t, 0, 1, -1)).leaderId).toBe(-1); // to the controller
      // From no leader, an unconsented move has no WAL to recover.
      expect((await c.setPartitionLeader(t, 0, 6, 2)).recoverFrom).toBe(-1);
      expect(await rejectionOf(c.releasePartition(t, 3, 0, 1))).toBeInstanceOf(
        UnknownTopicError);
    });

  it('keeps a third broker\'s pending recovery when a leader releases before completing it',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'release-recovering', 1);
      await c.setPartitionLeader(t, 0, 2, 0); // 1 died: [2, 1, 1]
      expect(await c.releasePartition(t, 0, 1, 3)).toMatchObject(
        { leaderId: 3, leaderEpoch: 2, recoverFrom: 1 }); // 1's WAL is still not replayed
      await c.completeRecovery(t, 0, 2);
      expect(await c.releasePartition(t, 0, 2, 4)).toMatchObject(
        { leaderId: 4, leaderEpoch: 3, recoverFrom: -1 });
    });

  it('lets only one of two racing leadership changes at one epoch win', async () => {
    const { c } = current();
    const t = await createTopic(c, 'race-release', 1);
    const [release, election] = await Promise.allSettled([c.releasePartition(t, 0, 0, 2),
      c.setPartitionLeader(t, 0, 3, 0)]);
    const won = [release, election].filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const lost = [release, election].find((r) => r.status === 'rejected');
    expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(FencedError);
    expect(await leadershipOf(c, t, 0)).toEqual(release.status === 'fulfilled' ? [2, 1, -1]
      : [3, 1, 1]);
  });
}

function describeSegmentIndex(current: Current): void {
  describeCommits(current);
  describeReplays(current);
  describeQueries(current);
}

function describeCommits(current: Current): void {
  it('commits entries of many partitions at once and lists them in offset order', async () => {
    const { c } = current();
    const t = await createTopic(c, 'multi', 3);
    const u = await createTopic(c, 'other', 1);
    const commit = commitOf('obj/1', [at(t, 2, 0, 4), at(t, 0, 0, 9), at(u, 0, 0, 0),
      at(t, 0, 10, 19)]);
    await c.commitSegments(commit);
    await c.commitSegments(commitOf('obj/2', [at(t, 0, 20, 29)]));

    const states = await c.getPartitionStates(t);
    expect(states.map((s) => s.indexedEndOffset)).toEqual([30, 0, 5]);
    expect(await indexedEnd(c, u, 0)).toBe(1);
    const p0 = await c.listSegments(t, 0, 0, 100);
    expect(p0.slice(0, 2)).toEqual([commit.entries[1], commit.entries[3]]);
    expect(p0.map((e) => e.baseOffset)).toEqual([0, 10, 20]);
    expect((await c.listSegments(t, 0, 15, 100)).map((e) => e.baseOffset)).toEqual([10, 20]);
    expect((await c.listSegments(t, 0, 10, 1)).map((e) => e.baseOffset)).toEqual([10]);
    expect(await c.listSegments(t, 0, 30, 100)).toEqual([]);
    expect(await c.listSegments(t, 1, 0, 100)).toEqual([]);
  });

  it('fences the whole commit when any partition epoch moved on', async () => {
    const { c } = current();
    const t = await createTopic(c, 'fence', 2);
    await c.setPartitionLeader(t, 1, 2);
    const states = new Map([[key(t, 0), [producerState(1, 9)]]]);
    const stale = commitOf('obj/stale', [at(t, 0, 0, 9), at(t, 1, 0, 9)],
      { producerStates: states });
    const error = await rejectionOf(c.commitSegments(stale));
    expect(error).toBeInstanceOf(FencedError);
    expect(error).toMatchObject({ topicId: t, partition: 1, heldEpoch: 0, currentEpoch: 1 });

    const ahead = commitOf('obj/ahead', [at(t, 1, 0, 9)], { epochs: new Map([[key(t, 1), 5]]) });
    expect(await rejectionOf(c.commitSegments(ahead))).toBeInstanceOf(FencedError);

    expect((await c.getPartitionStates(t)).map((s) => s.indexedEndOffset)).toEqual([0, 0]);
    expect(await c.listSegments(t, 0, 0, 100)).toEqual([]);
    expect(await c.loadProducerStates(t, 0)).toEqual([]);
    expect(await c.listReferencedObjects()).toEqual(new Set());

    const current1 = commitOf('obj/ok', [at(t, 1, 0, 9, { leaderEpoch: 1 })],
      { epochs: new Map([[key(t, 1), 1]]) });
    await c.commitSegments(current1);
    expect(await indexedEnd(c, t, 1)).toBe(10);
  });

  it('rejects a gap or a partial overlap and changes nothing', async () => {
    const { c } = current();
    const t = await createTopic(c, 'contig', 2);
    await c.commitSegments(commitOf('obj/0', [at(t, 0, 0, 9)]));
    await expect(c.commitSegments(commitOf('obj/gap', [at(t, 0, 11, 20)]))).rejects.toThrow();
    await expect(c.commitSegments(commitOf('obj/overlap', [at(t, 0, 5, 14)]))).rejects.toThrow();
    // A valid partition in the same commit must not be applied either.
    const mixed = commitOf('obj/mixed', [at(t, 1, 0, 4), at(t, 0, 12, 20)]);
    await expect(c.commitSegments(mixed)).rejects.toThrow();
    expect((await c.getPartitionStates(t)).map((s) => s.indexedEndOffset)).toEqual([10, 0]);
    expect(await rangesOf(c, t, 0)).toEqual([[0, 9, 'obj/0']]);
    expect(await c.listReferencedObjects()).toEqual(new Set(['obj/0']));
  });

  it('replaces producer states of the partitions given and leaves the others', async () => {
    const { c } = current();
    const t = await createTopic(c, 'pstate', 2);
    const first = new Map([
      [key(t, 0), [producerState(1, 9), producerState(2, 9)]],
      [key(t, 1), [producerState(3, 4)]],
    ]);
    await c.commitSegments(commitOf('obj/1', [at(t, 0, 0, 9), at(t, 1, 0, 4)],
      { producerStates: first }));
    expect(await c.loadProducerStates(t, 0)).toEqual(first.get(key(t, 0)));
    const second = new Map([[key(t, 0), [producerState(2, 19)]]]);
    await c.commitSegments(commitOf('obj/2', [at(t, 0, 10, 19)], { producerStates: second }));
    expect(await c.loadProducerStates(t, 0)).toEqual([producerState(2, 19)]);
    expect(await c.loadProducerStates(t, 1)).toEqual([producerState(3, 4)]);
  });
}

function describeReplays(current: Current): void {
  it('treats a replay of an indexed range as idempotent', async () => {
    const { c } = current();
    const t = await createTopic(c, 'replay', 1);
    const x = commitOf('obj/x', [at(t, 0, 0, 9), at(t, 0, 10, 19)],
      { producerStates: new Map([[key(t, 0), [producerState(1, 19)]]]) });
    await c.commitSegments(x);
    await c.commitSegments(commitOf('obj/y', [at(t, 0, 20, 29)],
      { producerStates: new Map([[key(t, 0), [producerState(1, 29)]]]) }));

    await c.commitSegments(x); // e.g. a crash between the commit and the WAL trim
    expect(await indexedEnd(c, t, 0)).toBe(30);
    expect(await rangesOf(c, t, 0)).toEqual(
      [[0, 9, 'obj/x'], [10, 19, 'obj/x'], [20, 29, 'obj/y']]);
    expect(await c.loadProducerStates(t, 0)).toEqual([producerState(1, 29)]); // not rolled back

    // A re-upload overlapping what is indexed and extending it: only the new range is taken.
    await c.commitSegments(commitOf('obj/z', [at(t, 0, 20, 29), at(t, 0, 30, 39)]));
    expect(await rangesOf(c, t, 0)).toEqual([[0, 9, 'obj/x'], [10, 19, 'obj/x'],
      [20, 29, 'obj/y'], [30, 39, 'obj/z']]);
    // The replays did not inflate live counts: obj/x empties when its two entries go.
    expect(await c.advanceLogStartOffset(t, 0, 30)).toEqual(['obj/x', 'obj/y']);
    expect(await c.listReferencedObjects()).toEqual(new Set(['obj/z']));
  });
}

function describeQueries(current: Current): void {
  it('finds the first entry, by offset, whose max timestamp reaches a time', async () => {
    const { c } = current();
    const t = await createTopic(c, 'time', 1);
    await c.commitSegments(commitOf('obj/t', [
      at(t, 0, 0, 9, { maxTimestampMs: 100 }), at(t, 0, 10, 19, { maxTimestampMs: 300 }),
      at(t, 0, 20, 29, { maxTimestampMs: 200 }), at(t, 0, 30, 39, { maxTimestampMs: 400 })]));
    const find = async (ms: number): Promise<number | undefined> =>
      (await c.findSegmentByTimestamp(t, 0, ms))?.baseOffset;
    expect(await find(50)).toBe(0);
    expect(await find(100)).toBe(0);
    expect(await find(150)).toBe(10);
    expect(await find(250)).toBe(10); // not 20: timestamps need not grow with offsets
    expect(await find(350)).toBe(30);
    expect(await c.findSegmentByTimestamp(t, 0, 401)).toBeNull();
  });

  it('sums partition bytes and lists every referenced object', async () => {
    const { c } = current();
    const t = await createTopic(c, 'size', 2);
    await c.commitSegments(commitOf('obj/1', [at(t, 0, 0, 9), at(t, 1, 0, 0)]));
    await c.commitSegments(commitOf('obj/2', [at(t, 0, 10, 14)]));
    expect(await c.partitionSizeBytes(t, 0)).toBe(15 * entryBytesPerOffset);
    expect(await c.partitionSizeBytes(t, 1)).toBe(entryBytesPerOffset);
    expect(await c.listReferencedObjects()).toEqual(new Set(['obj/1', 'obj/2']));
  });
}

function describeProducers(current: Current, reopen: Reopen): void {
  it('allocates strictly increasing, unique producer ids', async () => {
    const { c } = current();
    const sequential: number[] = [];
    for (let i = 0; i < 20; i++) sequential.push(await c.allocateProducerId());
    expect(sequential.every((id, i) => i === 0 || id > sequential[i - 1]!)).toBe(true);
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => c.allocateProducerId()));
    expect(new Set([...sequential, ...concurrent]).size).toBe(40);
    expect(Math.min(...concurrent)).toBeGreaterThan(Math.max(...sequential));
  });

  it('never reallocates a producer id after a reopen', async (ctx) => {
    const { c } = current();
    const ids = [await c.allocateProducerId(), await c.allocateProducerId()];
    expect(await (await reopen(ctx)).allocateProducerId()).toBeGreaterThan(Math.max(...ids));
  });

  it('answers no producer states for a partition that has none', async () => {
    const { c } = current();
    const t = await createTopic(c, 'none', 1);
    expect(await c.loadProducerStates(t, 0)).toEqual([]);
  });
}

function describeGroupOffsets(current: Current): void {
  it('upserts committed offsets and fetches them per group', async () => {
    const { c } = current();
    await c.commitOffsets('g1', [offsetOf('a', 0, 5), offsetOf('a', 1, 7)]);
    await c.commitOffsets('g2', [offsetOf('a', 0, 1)]);
    const updated = { ...offsetOf('a', 0, 9), metadata: null, leaderEpoch: 3 };
    await c.commitOffsets('g1', [updated]);
    expect(await c.fetchOffsets('g1')).toEqual([updated, offsetOf('a', 1, 7)]);
    expect(await c.fetchOffsets('g2')).toEqual([offsetOf('a', 0, 1)]);
    expect(await c.fetchOffsets('nobody')).toEqual([]);
  });

  it('deletes chosen offsets and whole groups, and lists groups with offsets', async () => {
    const { c } = current();
    await c.commitOffsets('g1', [offsetOf('a', 0, 5), offsetOf('a', 1, 7), offsetOf('b', 0, 1)]);
    await c.commitOffsets('g2', [offsetOf('a', 0, 1)]);
    await c.commitOffsets('g3', [offsetOf('a', 0, 2)]);
    expect(await c.listOffsetGroups()).toEqual(['g1', 'g2', 'g3']);
    await c.deleteOffsets('g1', [{ topic: 'a', partition: 1 }, { topic: 'b', partition: 0 },
      { topic: 'never', partition: 0 }]);
    expect(await c.fetchOffsets('g1')).toEqual([offsetOf('a', 0, 5)]);
    await c.deleteGroupOffsets('g2');
    expect(await c.fetchOffsets('g2')).toEqual([]);
    await c.deleteOffsets('g3', [{ topic: 'a', partition: 0 }]);
    expect(await c.listOffsetGroups()).toEqual(['g1']);
  });
}

function describeDurability(current: Current, reopen: Reopen): void {
  it('shows everything committed after a reopen', async (ctx) => {
    const { c } = current();
    const topic = topicRecord('durable', 2, { 'retention.ms': '60000' });
    await c.createTopic(topic, 3);
    const t = topic.topicId;
    await c.setPartitionLeader(t, 1, 4);
    const states = new Map([[key(t, 0), [producerState(8, 19)]]]);
    await c.commitSegments(commitOf('obj/1', [at(t, 0, 0, 9), at(t, 0, 10, 19)],
      { producerStates: states }));
    await c.commitSegments(commitOf('obj/2', [at(t, 0, 20, 29), at(t, 1, 0, 4,
      { leaderEpoch: 1 })], { epochs: new Map([[key(t, 1), 1]]) }));
    expect(await c.advanceLogStartOffset(t, 0, 10)).toEqual([]);
    await c.commitOffsets('g', [offsetOf('durable', 0, 12)]);
    const producerId = await c.allocateProducerId();
    const before = await snapshot(c, t);

    const reopened = await reopen(ctx);
    expect(await snapshot(reopened, t)).toEqual(before);
    expect(before.segments0.map((e) => e.baseOffset)).toEqual([10, 20]);
    expect(before.states.map((s) => s.recoverFrom)).toEqual([-1, 3]);
    expect(await reopened.allocateProducerId()).toBeGreaterThan(producerId);
  });
}

async function snapshot(c: MetadataCoordinator, topicId: string) {
  return {
    clusterId: c.clusterId(),
    topics: await c.listTopics(),
    states: await c.getPartitionStates(topicId),
    segments0: await c.listSegments(topicId, 0, 0, 100),
    segments1: await c.listSegments(topicId, 1, 0, 100),
    producers: await c.loadProducerStates(topicId, 0),
    offsets: await c.fetchOffsets('g'),
    groups: await c.listOffsetGroups(),
    objects: [...(await c.listReferencedObjects())].sort(),
  };
}
