/**
 * The etcd engine: every store's contract (contract/) against a real etcd (one server per file, a
 * fresh key prefix per test so cases never see each other's keys), then what only a shared, watched store
 * can get wrong — two instances seeing each other's changes, racing writers, a 20k-key segment
 * index, and the cache reload after the watch fails.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FencedError } from '../../src/metadata/records.js';
import { IndexContinuityError } from '../../src/metadata/rules.js';
import {
  EtcdMetadata,
  EtcdTxnTooLargeError,
  commitSegmentsTxnOpsMax,
  type MetadataChange,
} from '../../src/metadata/etcd/metadata.js';
import { EtcdKeys, prefixEnd } from '../../src/etcd/keys.js';
import { etcdPerFile } from '../helpers/etcd-per-file.js';
import { etcdServerLimits } from '../helpers/etcd-server.js';
import type { ProducerPartitionState } from '../../src/metadata/records.js';
import { etcdCoordinatorLimits } from '../../src/limits.js';
import {
  at,
  commitOf,
  key,
  topicRecord,
  type MetadataHarness,
} from './contract/fixtures.js';
import { runMetadataContracts } from './contract/run.js';

/** How soon another instance must see a change through its watch. */
const watchVisibleMsMax = 1_000;

const etcd = etcdPerFile();

function freshPrefix(): string {
  return `/ledgerstream-test/${randomUUID()}/`;
}

/** What the coordinators reported (watch failures, reloads) instead of process warnings. */
const logged: string[] = [];

async function open(keyPrefix: string, txnOpsMax: number = etcdServerLimits.txnOpsMax):
  Promise<EtcdMetadata> {
  return EtcdMetadata.open({ hosts: etcd.server.endpoint, keyPrefix, txnOpsMax,
    log: (message) => logged.push(message) });
}

runMetadataContracts('etcd', async (): Promise<MetadataHarness> => {
  const prefix = freshPrefix();
  let current = await open(prefix);
  return {
    metadata: current,
    reopen: async () => {
      await current.close();
      current = await open(prefix);
      return current;
    },
    cleanup: async () => {
      await current.close();
      await etcd.raw.delete().prefix(prefix);
    },
  };
});

/** Polls `check` until it returns true or `deadlineMs` passes; returns the time it took. */
async function within(deadlineMs: number, check: () => Promise<boolean> | boolean):
  Promise<number> {
  const startMs = Date.now();
  while (!(await check())) {
    if (Date.now() - startMs > deadlineMs) throw new Error(`not true within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - startMs;
}

async function countKeys(prefix: string): Promise<number> {
  const response = await etcd.raw.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix),
    count_only: true });
  return Number(response.count);
}

describe('etcd engine specifics', () => {
  let prefix: string;
  let keys: EtcdKeys;
  let a: EtcdMetadata;
  let b: EtcdMetadata;
  beforeEach(async () => {
    prefix = freshPrefix();
    keys = new EtcdKeys(prefix);
    [a, b] = [await open(prefix), await open(prefix)];
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await etcd.raw.delete().prefix(prefix);
  });

  it('shares one cluster id between instances on one prefix', () => {
    expect(b.clusterId()).toBe(a.clusterId());
  });

  it('shows one instance the topic and leadership changes of another within a second',
    async () => {
      const heard: MetadataChange[] = [];
      b.onChange((change) => heard.push(change));
      const topic = topicRecord('shared', 2);
      await a.topics.create(topic, 1);
      await within(watchVisibleMsMax, async () => (await b.topics.get('shared')) !== null);
      expect(await b.topics.getById(topic.topicId)).toEqual(topic);

      await a.leadership.setLeader(topic.topicId, 1, 7);
      await within(watchVisibleMsMax, () => heard.some((c) => c.kind === 'partition' &&
        c.partition === 1 && c.state?.leaderEpoch === 1));
      expect(heard).toContainEqual({ kind: 'topic', name: 'shared', topic });
      expect(heard).toContainEqual({ kind: 'partition', topicId: topic.topicId, partition: 1,
        state: { topicId: topic.topicId, partition: 1, leaderId: 7, leaderEpoch: 1,
          logStartOffset: 0, indexedEndOffset: 0, recoverFrom: 1 } });
      expect((await b.leadership.states(topic.topicId)).map((s) => s.leaderId)).toEqual([1, 7]);

      await b.topics.delete('shared');
      await within(watchVisibleMsMax, async () => (await a.topics.get('shared')) === null);
      expect(await a.topics.list()).toEqual([]);
      expect(heard).toContainEqual({ kind: 'topic', name: 'shared', topic: null });
    });

  it('shows one instance the ACLs another creates and deletes within a second', async () => {
    const binding = { resourceType: 2, resourceName: 'orders', patternType: 3,
      principal: 'User:alice', host: '*', operation: 3, permissionType: 3 };
    await a.acls.create([binding]);
    const seenMs = await within(watchVisibleMsMax, () => b.acls.bindings().length === 1);
    expect(b.acls.bindings()).toEqual([binding]);
    await b.acls.delete([{ resourceType: 1, resourceName: null, patternType: 1, principal: null,
      host: null, operation: 1, permissionType: 1 }]);
    const goneMs = await within(watchVisibleMsMax, () => a.acls.bindings().length === 0);
    console.log(`ACL change seen by the other instance after ${seenMs} ms (create), `
      + `${goneMs} ms (delete)`);
    expect(await countKeys(keys.aclsPrefix())).toBe(0);
  });

  it('never lets two racing commits to a partition both write: one wins, one fails or replays',
    async () => {
      const topic = topicRecord('race', 1);
      await a.topics.create(topic, 1);
      const t = topic.topicId;
      await within(watchVisibleMsMax, async () => (await b.topics.get('race')) !== null);
      let endOffset = 0;
      const outcomes = new Set<string>();
      for (let round = 0; round < 20; round++) {
        // Both continue the same index end; A's range is shorter. If A wins, B no longer
        // continues the index (IndexContinuityError). If B wins, A's range is wholly indexed
        // already: the contract makes that an idempotent replay that writes nothing.
        // Both caches at the same state first, so neither starts from a stale guess.
        for (const c of [a, b]) {
          await within(watchVisibleMsMax, async () =>
            (await c.leadership.states(t))[0]?.indexedEndOffset === endOffset);
        }
        const fromA = commitOf(`obj/a${round}`, [at(t, 0, endOffset, endOffset + 9)]);
        const fromB = commitOf(`obj/b${round}`, [at(t, 0, endOffset, endOffset + 14)]);
        const [resultA, resultB] = await Promise.allSettled(
          [a.segments.commit(fromA), b.segments.commit(fromB)]);
        const entries = await a.segments.list(t, 0, endOffset, 100);
        if (resultB.status === 'rejected') {
          expect(resultB.reason).toBeInstanceOf(IndexContinuityError);
          expect(resultA.status).toBe('fulfilled');
          expect(entries).toEqual(fromA.entries);
          outcomes.add('a won');
        } else {
          expect(resultA.status).toBe('fulfilled'); // the replay
          expect(entries).toEqual(fromB.entries); // B's entry only: nothing of A's
          outcomes.add('b won');
        }
        endOffset = entries[0]!.lastOffset + 1;
        const objects = await a.segments.referencedObjects();
        expect(objects.size).toBe(round + 1); // exactly one object per round is referenced
        expect(objects.has(entries[0]!.objectKey)).toBe(true);
      }
      const [state] = await b.leadership.states(t);
      expect(state?.indexedEndOffset).toBe(endOffset);
      expect(outcomes.size).toBeGreaterThan(0);
      // Every round's loser lost a compare in etcd: the conflict path ran, not just the cache.
      expect(a.watchStatus().conflicts + b.watchStatus().conflicts).toBeGreaterThanOrEqual(20);
    });

  it('fences a former leader whose commit races the election that replaced it', async () => {
    const topic = topicRecord('election', 1);
    await a.topics.create(topic, 1);
    const t = topic.topicId;
    for (let round = 0; round < 10; round++) {
      const [state] = await a.leadership.states(t);
      const { leaderEpoch, indexedEndOffset: end } = state!;
      const stale = commitOf(`obj/${round}`, [at(t, 0, end, end + 9, { leaderEpoch })],
        { epochs: new Map([[`${t}:0`, leaderEpoch]]) });
      const [commit, election] = await Promise.allSettled([a.segments.commit(stale),
        b.leadership.setLeader(t, 0, 2, leaderEpoch)]);
      expect(election.status).toBe('fulfilled');
      const entries = await a.segments.list(t, 0, end, 10);
      if (commit.status === 'fulfilled') {
        expect(entries).toEqual(stale.entries); // committed before the epoch moved
      } else {
        expect(commit.reason).toBeInstanceOf(FencedError);
        expect(entries).toEqual([]);
      }
    }
  });

  it('keeps one writer of two identical replays: the other is an idempotent no-op', async () => {
    const topic = topicRecord('same-range', 1);
    await a.topics.create(topic, 1);
    const t = topic.topicId;
    await within(watchVisibleMsMax, async () => (await b.topics.get('same-range')) !== null);
    const [first, second] = [commitOf('obj/x', [at(t, 0, 0, 9)]),
      commitOf('obj/y', [at(t, 0, 0, 9)])];
    await Promise.all([a.segments.commit(first), b.segments.commit(second)]);
    const entries = await a.segments.list(t, 0, 0, 10);
    expect(entries).toHaveLength(1);
    expect([first.entries, second.entries]).toContainEqual(entries);
    // Only the entry's object is referenced; the other is an orphan for the sweep.
    expect(await a.segments.referencedObjects()).toEqual(new Set([entries[0]!.objectKey]));
  });

  it('stores a 20k-entry index as 20k keys and lists from its middle quickly', async () => {
    const topic = topicRecord('big', 1);
    await a.topics.create(topic, 1);
    const t = topic.topicId;
    const entryCount = 20_000;
    const entriesPerCommit = 1_000; // 1002 ops per txn, under the server's 1024
    const offsetsPerEntry = 10;
    for (let first = 0; first < entryCount; first += entriesPerCommit) {
      const specs = Array.from({ length: entriesPerCommit }, (_, i) => {
        const base = (first + i) * offsetsPerEntry;
        return at(t, 0, base, base + offsetsPerEntry - 1);
      });
      const commit = commitOf(`obj/big-${first}`, specs);
      expect(commitSegmentsTxnOpsMax(commit)).toBeLessThanOrEqual(etcdServerLimits.txnOpsMax);
      await a.segments.commit(commit);
    }
    expect(await countKeys(keys.segmentsOfPartition(t, 0))).toBe(entryCount);
    expect(await countKeys(keys.objectsPrefix())).toBe(entryCount / entriesPerCommit);

    const fromOffset = 100_005; // inside entry 10_000, which covers 100_000..100_009
    const startMs = performance.now();
    const page = await b.segments.list(t, 0, fromOffset, 50);
    const elapsedMs = performance.now() - startMs;
    expect(page.map((e) => e.baseOffset)).toEqual(
      Array.from({ length: 50 }, (_, i) => 100_000 + i * offsetsPerEntry));
    expect(page[0]).toMatchObject({ lastOffset: 100_009, objectKey: 'obj/big-10000' });
    expect(elapsedMs).toBeLessThan(250);
    expect(await b.segments.list(t, 0, 199_995, 50)).toHaveLength(1);
    expect(await b.segments.list(t, 0, 200_000, 50)).toEqual([]);

    // Retention over more entries than one txn can release goes in steps and ends exact.
    const dead = await a.segments.advanceLogStart(t, 0, 150_000);
    expect(dead).toHaveLength(15);
    expect(await countKeys(keys.segmentsOfPartition(t, 0))).toBe(5_000);
    const [state] = await a.leadership.states(t);
    expect(state).toMatchObject({ logStartOffset: 150_000, indexedEndOffset: 200_000 });
    expect(await a.topics.delete('big')).toHaveLength(5);
    expect(await countKeys(prefix)).toBe(1); // only the cluster id is left
  }, 120_000);

  it('deletes a topic too large for one txn by trimming it through retention first',
    async () => {
      const narrow = await open(prefix, 8);
      try {
        const topic = topicRecord('trim', 2);
        await narrow.topics.create(topic, 1);
        for (let i = 0; i < 10; i++) {
          await narrow.segments.commit(commitOf(`obj/${i}`,
            [at(topic.topicId, 0, i * 10, i * 10 + 9), at(topic.topicId, 1, i, i)]));
        }
        await narrow.offsets.commit('g', [0, 1].map((partition) => ({ topic: 'trim', partition,
          offset: 5, leaderEpoch: 0, metadata: null, commitTimestampMs: 1 })));
        // 10 objects + 2 offsets + 5 prefix deletes do not fit 8 ops: retention goes first.
        expect(await narrow.topics.delete('trim')).toEqual(
          Array.from({ length: 10 }, (_, i) => `obj/${i}`).sort());
        expect(await countKeys(prefix)).toBe(1); // only the cluster id is left
        expect(await narrow.offsets.listGroups()).toEqual([]);
      } finally {
        await narrow.close();
      }
    });

  it('refuses a commit larger than txnOpsMax before sending it, writing nothing', async () => {
    const small = await open(prefix, 16);
    try {
      const topic = topicRecord('wide', 20);
      await expect(small.topics.create(topic, 1)).rejects.toBeInstanceOf(EtcdTxnTooLargeError);
      await a.topics.create(topic, 1);
      const wide = commitOf('obj/wide', Array.from({ length: 20 }, (_, p) =>
        at(topic.topicId, p, 0, 0)));
      await expect(small.segments.commit(wide)).rejects.toBeInstanceOf(EtcdTxnTooLargeError);
      expect(await a.segments.referencedObjects()).toEqual(new Set());
    } finally {
      await small.close();
    }
  });

  it('cuts a producer list too large for one value to the most recently active producers',
    async () => {
      const topic = topicRecord('crowded', 1);
      await a.topics.create(topic, 1);
      const partition = key(topic.topicId, 0);
      // Producer 7 is the least recently active, but has a transaction open: it must stay.
      const producers = Array.from({ length: 2000 }, (_, i): ProducerPartitionState => ({
        producerId: 1000 + i, producerEpoch: 0, lastTimestampMs: 1_700_000_000_000 + i,
        recentBatches: Array.from({ length: 5 }, (_, b) => ({ firstSequence: 10 * b,
          lastSequence: 10 * b + 9, baseOffset: 1_000_000 + 10 * b,
          lastOffset: 1_000_009 + 10 * b })),
      }));
      const inTransaction = { ...producers[0]!, producerId: 7, lastTimestampMs: 1 };
      const txnIndex: ProducerPartitionState = { producerId: -1, producerEpoch: -1,
        recentBatches: [], lastTimestampMs: 0,
        txnIndex: { open: [[7, 5]], aborted: [[3, 0, 4]], markers: [] } };
      const states = [txnIndex, inTransaction, ...producers];
      expect(Buffer.byteLength(JSON.stringify(states)))
        .toBeGreaterThan(etcdCoordinatorLimits.producerStatesBytesMax);

      await a.segments.commit(commitOf('obj/crowded-1', [at(topic.topicId, 0, 0, 9)],
        { producerStates: new Map([[partition, states]]) }));
      const stored = await b.producers.loadStates(topic.topicId, 0);
      const ids = new Set(stored.map((s) => s.producerId));
      expect(ids.has(-1) && ids.has(7)).toBe(true);
      const kept = stored.filter((s) => s.producerId >= 1000);
      expect(kept.length).toBeGreaterThan(500);
      expect(kept.length).toBeLessThan(producers.length);
      // Exactly the most recent ones, whole.
      expect(kept).toEqual(producers.slice(producers.length - kept.length));
      expect(logged.filter((m) => m.includes('least recently active producers left out')))
        .toHaveLength(1);

      await a.segments.commit(commitOf('obj/crowded-2', [at(topic.topicId, 0, 10, 19)],
        { producerStates: new Map([[partition, [txnIndex, inTransaction]]]) }));
      expect(await b.producers.loadStates(topic.topicId, 0)).toEqual([txnIndex, inTransaction]);
      expect(logged)
        .toContain(`producer states of ${partition}: every producer fits the list again`);
    });

  it('reloads the cache when the watch is cancelled and keeps following changes', async () => {
    const heard: MetadataChange[] = [];
    a.onChange((change) => heard.push(change));
    const reloadsBefore = a.watchStatus().reloads;
    await a.cancelWatchForTesting();
    await within(5_000, () => a.watchStatus().reloads > reloadsBefore && a.watchStatus().watching);
    expect(logged).toContain('metadata watch failed; reloading the topic cache');
    const topic = topicRecord('after-cancel', 1);
    await b.topics.create(topic, 1);
    await within(watchVisibleMsMax, async () => (await a.topics.get('after-cancel')) !== null);
    expect(heard).toContainEqual({ kind: 'topic', name: 'after-cancel', topic });
  });

  it('reloads from a fresh snapshot when its watch revision was compacted away', async () => {
    const kept = topicRecord('kept', 1);
    await a.topics.create(kept, 1);
    await a.pauseWatchForTesting(); // as if disconnected: b's changes are missed...
    const heard: MetadataChange[] = [];
    a.onChange((change) => heard.push(change));
    const missed = topicRecord('missed', 2);
    await b.topics.create(missed, 3);
    await b.leadership.setLeader(kept.topicId, 0, 9);
    await b.topics.delete('kept');
    const { header } = await etcd.raw.kv.range({ key: Buffer.from(prefix) });
    await etcd.raw.kv.compact({ revision: header.revision, physical: true }); // ...and compacted away
    const reloadsBefore = a.watchStatus().reloads;

    await a.resumeWatchForTesting(); // the resumed watch is refused: it must reload instead
    await within(5_000, () => a.watchStatus().reloads > reloadsBefore && a.watchStatus().watching);
    expect(await a.topics.list()).toEqual([missed]);
    expect(heard).toContainEqual({ kind: 'topic', name: 'missed', topic: missed });
    expect(heard).toContainEqual({ kind: 'topic', name: 'kept', topic: null });
    expect(heard).toContainEqual({ kind: 'partition', topicId: kept.topicId, partition: 0,
      state: null });
    await b.leadership.setLeader(missed.topicId, 1, 4); // and the new watch follows on
    await within(watchVisibleMsMax, async () =>
      (await a.leadership.states(missed.topicId))[1]?.leaderId === 4);
  });

  it('hands one instance\'s quota watchers the quotas another instance alters, both racing kept',
    async () => {
      const seen: unknown[] = [];
      const stop = await b.quotas.watch((records) => seen.push(records));
      await Promise.all([a.quotas.alter({ user: 'u' }, { producer_byte_rate: 1 }, []),
        b.quotas.alter({ user: 'u' }, { consumer_byte_rate: 2 }, [])]);
      await expect.poll(() => seen.at(-1)).toEqual([
        { entity: { user: 'u' }, values: { producer_byte_rate: 1, consumer_byte_rate: 2 } }]);
      await stop();
    });

  it('keeps producer ids unique across instances allocating concurrently', async () => {
    const ids = await Promise.all(Array.from({ length: 300 }, (_, i) =>
      (i % 2 === 0 ? a : b).producers.allocate()));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps group offsets apart when group ids contain slashes', async () => {
    const offset = { topic: 't', partition: 0, offset: 1, leaderEpoch: 0, metadata: null,
      commitTimestampMs: 1 };
    await a.offsets.commit('g', [offset]);
    await a.offsets.commit('g/t', [{ ...offset, offset: 2 }]);
    expect((await a.offsets.fetch('g')).map((o) => o.offset)).toEqual([1]);
    expect(await a.offsets.listGroups()).toEqual(['g', 'g/t']);
    await a.offsets.deleteGroup('g');
    expect(await a.offsets.listGroups()).toEqual(['g/t']);
  });
});
