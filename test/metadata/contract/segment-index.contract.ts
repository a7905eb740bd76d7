/**
 * The SegmentIndex contract: fenced commits of many partitions, contiguity, replays, the log
 * start, object refcounts, and lookups by offset and time.
 */
import { expect, it } from 'vitest';
import { FencedError, UnknownTopicError } from '../../../src/metadata/records.js';
import {
  at, commitOf, createTopic, entryBytesPerOffset, indexedEnd, key, producerState, rangesOf,
  rejectionOf, type Current,
} from './fixtures.js';

export function segmentIndexContract(current: Current): void {
  logStartContract(current);
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
    await c.segments.commit(commit);
    await c.segments.commit(commitOf('obj/2', [at(t, 0, 20, 29)]));

    const states = await c.leadership.states(t);
    expect(states.map((s) => s.indexedEndOffset)).toEqual([30, 0, 5]);
    expect(await indexedEnd(c, u, 0)).toBe(1);
    const p0 = await c.segments.list(t, 0, 0, 100);
    expect(p0.slice(0, 2)).toEqual([commit.entries[1], commit.entries[3]]);
    expect(p0.map((e) => e.baseOffset)).toEqual([0, 10, 20]);
    expect((await c.segments.list(t, 0, 15, 100)).map((e) => e.baseOffset)).toEqual([10, 20]);
    expect((await c.segments.list(t, 0, 10, 1)).map((e) => e.baseOffset)).toEqual([10]);
    expect(await c.segments.list(t, 0, 30, 100)).toEqual([]);
    expect(await c.segments.list(t, 1, 0, 100)).toEqual([]);
  });

  it('fences the whole commit when any partition epoch moved on', async () => {
    const { c } = current();
    const t = await createTopic(c, 'fence', 2);
    await c.leadership.setLeader(t, 1, 2);
    const states = new Map([[key(t, 0), [producerState(1, 9)]]]);
    const stale = commitOf('obj/stale', [at(t, 0, 0, 9), at(t, 1, 0, 9)],
      { producerStates: states });
    const error = await rejectionOf(c.segments.commit(stale));
    expect(error).toBeInstanceOf(FencedError);
    expect(error).toMatchObject({ topicId: t, partition: 1, heldEpoch: 0, currentEpoch: 1 });

    const ahead = commitOf('obj/ahead', [at(t, 1, 0, 9)], { epochs: new Map([[key(t, 1), 5]]) });
    expect(await rejectionOf(c.segments.commit(ahead))).toBeInstanceOf(FencedError);

    expect((await c.leadership.states(t)).map((s) => s.indexedEndOffset)).toEqual([0, 0]);
    expect(await c.segments.list(t, 0, 0, 100)).toEqual([]);
    expect(await c.producers.loadStates(t, 0)).toEqual([]);
    expect(await c.segments.referencedObjects()).toEqual(new Set());

    const current1 = commitOf('obj/ok', [at(t, 1, 0, 9, { leaderEpoch: 1 })],
      { epochs: new Map([[key(t, 1), 1]]) });
    await c.segments.commit(current1);
    expect(await indexedEnd(c, t, 1)).toBe(10);
  });

  it('rejects a gap or a partial overlap and changes nothing', async () => {
    const { c } = current();
    const t = await createTopic(c, 'contig', 2);
    await c.segments.commit(commitOf('obj/0', [at(t, 0, 0, 9)]));
    await expect(c.segments.commit(commitOf('obj/gap', [at(t, 0, 11, 20)]))).rejects.toThrow();
    await expect(c.segments.commit(commitOf('obj/overlap', [at(t, 0, 5, 14)]))).rejects.toThrow();
    // A valid partition in the same commit must not be applied either.
    const mixed = commitOf('obj/mixed', [at(t, 1, 0, 4), at(t, 0, 12, 20)]);
    await expect(c.segments.commit(mixed)).rejects.toThrow();
    expect((await c.leadership.states(t)).map((s) => s.indexedEndOffset)).toEqual([10, 0]);
    expect(await rangesOf(c, t, 0)).toEqual([[0, 9, 'obj/0']]);
    expect(await c.segments.referencedObjects()).toEqual(new Set(['obj/0']));
  });

  it('replaces producer states of the partitions given and leaves the others', async () => {
    const { c } = current();
    const t = await createTopic(c, 'pstate', 2);
    const first = new Map([
      [key(t, 0), [producerState(1, 9), producerState(2, 9)]],
      [key(t, 1), [producerState(3, 4)]],
    ]);
    await c.segments.commit(commitOf('obj/1', [at(t, 0, 0, 9), at(t, 1, 0, 4)],
      { producerStates: first }));
    expect(await c.producers.loadStates(t, 0)).toEqual(first.get(key(t, 0)));
    const second = new Map([[key(t, 0), [producerState(2, 19)]]]);
    await c.segments.commit(commitOf('obj/2', [at(t, 0, 10, 19)], { producerStates: second }));
    expect(await c.producers.loadStates(t, 0)).toEqual([producerState(2, 19)]);
    expect(await c.producers.loadStates(t, 1)).toEqual([producerState(3, 4)]);
  });
}

function describeReplays(current: Current): void {
  it('treats a replay of an indexed range as idempotent', async () => {
    const { c } = current();
    const t = await createTopic(c, 'replay', 1);
    const x = commitOf('obj/x', [at(t, 0, 0, 9), at(t, 0, 10, 19)],
      { producerStates: new Map([[key(t, 0), [producerState(1, 19)]]]) });
    await c.segments.commit(x);
    await c.segments.commit(commitOf('obj/y', [at(t, 0, 20, 29)],
      { producerStates: new Map([[key(t, 0), [producerState(1, 29)]]]) }));

    await c.segments.commit(x); // e.g. a crash between the commit and the WAL trim
    expect(await indexedEnd(c, t, 0)).toBe(30);
    expect(await rangesOf(c, t, 0)).toEqual(
      [[0, 9, 'obj/x'], [10, 19, 'obj/x'], [20, 29, 'obj/y']]);
    expect(await c.producers.loadStates(t, 0)).toEqual([producerState(1, 29)]); // not rolled back

    // A re-upload overlapping what is indexed and extending it: only the new range is taken.
    await c.segments.commit(commitOf('obj/z', [at(t, 0, 20, 29), at(t, 0, 30, 39)]));
    expect(await rangesOf(c, t, 0)).toEqual([[0, 9, 'obj/x'], [10, 19, 'obj/x'],
      [20, 29, 'obj/y'], [30, 39, 'obj/z']]);
    // The replays did not inflate live counts: obj/x empties when its two entries go.
    expect(await c.segments.advanceLogStart(t, 0, 30)).toEqual(['obj/x', 'obj/y']);
    expect(await c.segments.referencedObjects()).toEqual(new Set(['obj/z']));
  });
}

function describeQueries(current: Current): void {
  it('finds the first entry, by offset, whose max timestamp reaches a time', async () => {
    const { c } = current();
    const t = await createTopic(c, 'time', 1);
    await c.segments.commit(commitOf('obj/t', [
      at(t, 0, 0, 9, { maxTimestampMs: 100 }), at(t, 0, 10, 19, { maxTimestampMs: 300 }),
      at(t, 0, 20, 29, { maxTimestampMs: 200 }), at(t, 0, 30, 39, { maxTimestampMs: 400 })]));
    const find = async (ms: number): Promise<number | undefined> =>
      (await c.segments.findByTimestamp(t, 0, ms))?.baseOffset;
    expect(await find(50)).toBe(0);
    expect(await find(100)).toBe(0);
    expect(await find(150)).toBe(10);
    expect(await find(250)).toBe(10); // not 20: timestamps need not grow with offsets
    expect(await find(350)).toBe(30);
    expect(await c.segments.findByTimestamp(t, 0, 401)).toBeNull();
  });

  it('sums partition bytes and lists every referenced object', async () => {
    const { c } = current();
    const t = await createTopic(c, 'size', 2);
    await c.segments.commit(commitOf('obj/1', [at(t, 0, 0, 9), at(t, 1, 0, 0)]));
    await c.segments.commit(commitOf('obj/2', [at(t, 0, 10, 14)]));
    expect(await c.segments.partitionSizeBytes(t, 0)).toBe(15 * entryBytesPerOffset);
    expect(await c.segments.partitionSizeBytes(t, 1)).toBe(entryBytesPerOffset);
    expect(await c.segments.referencedObjects()).toEqual(new Set(['obj/1', 'obj/2']));
  });
}

function logStartContract(current: Current): void {
  it('advances the log start, drops entries wholly below it, returns emptied objects',
    async () => {
      const { c } = current();
      const t = await createTopic(c, 'retain', 2);
      await c.segments.commit(commitOf('obj/a', [at(t, 0, 0, 9), at(t, 1, 0, 4)]));
      await c.segments.commit(commitOf('obj/b', [at(t, 0, 10, 19)]));
      await c.segments.commit(commitOf('obj/c', [at(t, 0, 20, 29)]));

      expect(await c.segments.advanceLogStart(t, 0, 15)).toEqual([]); // obj/a still holds p1
      expect(await rangesOf(c, t, 0)).toEqual([[10, 19, 'obj/b'], [20, 29, 'obj/c']]);
      expect(await c.segments.advanceLogStart(t, 0, 20)).toEqual(['obj/b']);
      expect(await c.segments.advanceLogStart(t, 0, 5)).toEqual([]); // never backwards
      expect(await c.segments.advanceLogStart(t, 1, 5)).toEqual(['obj/a']);

      const states = await c.leadership.states(t);
      expect(states.map((s) => [s.logStartOffset, s.indexedEndOffset])).toEqual(
        [[20, 30], [5, 5]]);
      expect(await c.segments.referencedObjects()).toEqual(new Set(['obj/c']));
      expect(await c.segments.partitionSizeBytes(t, 0)).toBe(10 * entryBytesPerOffset);
      expect(await c.segments.partitionSizeBytes(t, 1)).toBe(0);
      expect(await rejectionOf(c.segments.advanceLogStart(t, 7, 1))).toBeInstanceOf(
        UnknownTopicError);
    });

  it('advances the index end over entries that arrive wholly below the log start', async () => {
    const { c } = current();
    const t = await createTopic(c, 'dead-on-arrival', 1);
    await c.segments.advanceLogStart(t, 0, 100); // DeleteRecords past what is indexed yet
    await c.segments.commit(commitOf('obj/dead', [at(t, 0, 0, 49)]));
    expect(await indexedEnd(c, t, 0)).toBe(50);
    expect(await rangesOf(c, t, 0)).toEqual([]);
    expect(await c.segments.referencedObjects()).toEqual(new Set());
    await c.segments.commit(commitOf('obj/live', [at(t, 0, 50, 99), at(t, 0, 100, 149)]));
    expect(await rangesOf(c, t, 0)).toEqual([[100, 149, 'obj/live']]);
    expect(await c.segments.referencedObjects()).toEqual(new Set(['obj/live']));
  });
}
