/**
 * Incremental fetch sessions (KIP-227): the cache's bounds and eviction rules, then a real broker
 * process driven with raw Fetch frames, by name (v12) and by topic id (v17), through a session's
 * life: opened by a full Fetch, answered with only what changed, partitions added and forgotten,
 * a long poll woken by an append, the session errors, closing, and sessions turned off. The
 * clients that use sessions (the Java consumer, franz-go) are checked in test/compat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as F from '../../protocol/generated/messages/fetch.js';
import { FetchSessionCache, type SessionPartition } from '../../src/broker/fetch/fetch-sessions.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  createTopic, type FetchAsked, fetchInSession, produce, topicIdOf,
} from '../helpers/raw-requests.js';
import { metricValue } from '../helpers/store-variants.js';

function parts(n: number): SessionPartition[] {
  return Array.from({ length: n }, (_, partition) => ({ ...F.defaultFetchRequestFetchPartition(),
    topicId: '', topic: 't', partition, highWatermark: -1n, localLogStartOffset: -1n,
    highWatermarkBefore: -1n, localLogStartOffsetBefore: -1n }));
}

describe('FetchSessionCache', () => {
  it('makes no session with no slots, or past the partitions all sessions may hold', () => {
    expect(new FetchSessionCache({ slots: 0, evictionMs: 1000, partitionsMax: 10 })
      .create(0, false, parts(1))).toBeNull();
    const cache = new FetchSessionCache({ slots: 5, evictionMs: 1000, partitionsMax: 10 });
    const a = cache.create(0, false, parts(6))!;
    expect(a.id).toBeGreaterThan(0);
    expect(a.epoch).toBe(1);
    expect(cache.create(0, false, parts(5))).toBeNull();
    expect(cache.create(0, false, parts(4))).not.toBeNull();
    expect(cache.stats()).toMatchObject({ sessions: 2, partitions: 10 });
    // Growing past the bound is refused; the caller drops the session.
    a.add({ ...parts(1)[0]!, partition: 99 });
    expect(cache.touch(a, 1, 6)).toBe(false);
    a.remove('', 't', 99);
    expect(cache.touch(a, 1, 6)).toBe(true);
    expect(cache.stats()).toMatchObject({ partitions: 10, incremental_fetches: 1 });
    cache.remove(a.id);
    expect(cache.get(a.id)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ sessions: 1, partitions: 4 });
  });

  it('evicts a stale session, or an older smaller one for a larger one; never a young one', () => {
    const cache = new FetchSessionCache({ slots: 2, evictionMs: 1000, partitionsMax: 100 });
    const small = cache.create(0, false, parts(2))!;
    const large = cache.create(0, false, parts(5))!;
    // Full, both young: nothing is evicted, whatever the size.
    expect(cache.create(500, false, parts(9))).toBeNull();
    // Both older than the eviction time but used recently: only a larger session evicts the
    // smallest; one the same size does not.
    cache.touch(small, 1500, 2);
    cache.touch(large, 1500, 5);
    expect(cache.create(1600, false, parts(2))).toBeNull();
    const bigger = cache.create(1600, false, parts(3))!;
    expect(cache.get(small.id)).toBeUndefined();
    expect(cache.get(large.id)).toBe(large);
    // Unused longer than the eviction time: the least recently used goes, for any new session.
    expect(cache.create(2600, false, parts(1))).not.toBeNull();
    expect(cache.get(large.id)).toBeUndefined();
    expect(cache.get(bigger.id)).toBe(bigger);
    expect(cache.stats().evictions).toBe(2);
  });

  it('reads answered partitions last, and finds, replaces and removes by topic and index', () => {
    const cache = new FetchSessionCache({ slots: 1, evictionMs: 1000, partitionsMax: 10 });
    const s = cache.create(0, false, parts(3))!;
    const order = () => [...s.partitions()].map((p) => p.partition);
    s.moveToBack(s.find('', 't', 0)!);
    expect(order()).toEqual([1, 2, 0]);
    s.add({ ...parts(2)[1]!, fetchOffset: 7n }); // the same partition again: replaced, at the back
    expect(order()).toEqual([2, 0, 1]);
    expect(s.find('', 't', 1)!.fetchOffset).toBe(7n);
    expect(s.find('other-id', 'u', 1)).toBeUndefined();
    s.remove('', 't', 2);
    s.remove('', 't', 5); // not in the session: nothing happens
    expect(order()).toEqual([0, 1]);
    expect(s.size).toBe(2);
  });

  it('wraps the epoch to 1, never to 0 or -1', () => {
    const cache = new FetchSessionCache({ slots: 1, evictionMs: 1000, partitionsMax: 10 });
    const s = cache.create(0, false, parts(1))!;
    s.epoch = 2 ** 31 - 1;
    s.advanceEpoch();
    expect(s.epoch).toBe(1);
  });
});

const TOPIC = 'sessions';
const PARTITIONS = 3;

/** Fetch of `asked` (and forgetting `forgotten`) in session `sessionId` at `epoch`. */
function fetchIn(client: RawClient, version: number, topicId: string, sessionId: number,
  epoch: number, asked: FetchAsked[], options: { forgotten?: number[]; maxWaitMs?: number } = {}) {
  return fetchInSession(client, version, { name: TOPIC, id: topicId }, sessionId, epoch, asked,
    options);
}

/** partition → [high watermark, record bytes] of every partition answered. */
function answered(res: F.FetchResponse): Record<number, [number, number]> {
  return Object.fromEntries(res.responses.flatMap((t) => t.partitions).map((p) =>
    [p.partitionIndex, [Number(p.highWatermark), p.records?.length ?? 0]]));
}

/** A session over every partition, opened where each partition ends (a sessionless Fetch first,
 *  to learn where that is): its id and those offsets. */
async function openSession(client: RawClient, version: number, topicId: string):
  Promise<{ id: number; base: number[] }> {
  const all = [0, 1, 2].map((partition) => ({ partition, offset: 0 }));
  const probe = answered(await fetchIn(client, version, topicId, 0, -1, all));
  const base = all.map(({ partition }) => probe[partition]![0]);
  const full = await fetchIn(client, version, topicId, 0, 0,
    base.map((offset, partition) => ({ partition, offset })));
  expect(full.errorCode).toBe(ErrorCode.NONE);
  expect(full.sessionId).toBeGreaterThan(0);
  expect(answered(full)).toEqual(Object.fromEntries(base.map((hw, p) => [p, [hw, 0]])));
  return { id: full.sessionId, base };
}

/** A session's later Fetches answer only what changed, as partitions are added and forgotten. */
async function changedOnly(client: RawClient, version: number, topicId: string): Promise<void> {
  const { id, base } = await openSession(client, version, topicId);
  // Nothing new: no partitions at all.
  const quiet = await fetchIn(client, version, topicId, id, 1, []);
  expect(quiet).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: id, responses: [] });

  // A record in partition 1: only partition 1, with it.
  await produce(client, TOPIC, 100, 1);
  const one = answered(await fetchIn(client, version, topicId, id, 2, []));
  expect(Object.keys(one)).toEqual(['1']);
  expect(one[1]![0]).toBe(base[1]! + 1);
  expect(one[1]![1]).toBeGreaterThan(0);

  // The client moves past it and forgets partition 2, which then gets a record: not answered.
  const afterOne = { partition: 1, offset: base[1]! + 1 };
  await produce(client, TOPIC, 100, 2);
  expect(answered(await fetchIn(client, version, topicId, id, 3, [afterOne],
    { forgotten: [2] }))).toEqual({});
  // Named again, it is answered with its record.
  const again = answered(await fetchIn(client, version, topicId, id, 4,
    [{ partition: 2, offset: base[2]! }]));
  expect(Object.keys(again)).toEqual(['2']);
  expect(again[2]![1]).toBeGreaterThan(0);
}

describe('fetch sessions on a broker', () => {
  let broker: BrokerProcess;
  let client: RawClient;
  let topicId: string;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    broker = await startBroker({ settings: { metricsPort } });
    client = await RawClient.connect(broker.port);
    expect(await createTopic(client, TOPIC, PARTITIONS)).toBe(ErrorCode.NONE);
    topicId = await topicIdOf(client, TOPIC);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await broker?.destroy();
  });

  for (const version of [12, 17]) {
    it(`v${version}: answers only what changed; partitions are added and forgotten`, async () => {
      await changedOnly(client, version, topicId);
    });

    it(`v${version}: a long poll in a session wakes on an append; epoch -1 ends it`, async () => {
      const { id, base } = await openSession(client, version, topicId);
      const polled = fetchIn(client, version, topicId, id, 1, [], { maxWaitMs: 20_000 });
      await new Promise((r) => setTimeout(r, 200));
      const producer = await RawClient.connect(broker.port);
      await produce(producer, TOPIC, 100, 0);
      producer.close();
      const woken = answered(await polled);
      expect(Object.keys(woken)).toEqual(['0']);
      expect(woken[0]).toEqual([base[0]! + 1, expect.any(Number)]);
      expect(woken[0]![1]).toBeGreaterThan(0);

      const closed = await fetchIn(client, version, topicId, id, -1,
        base.map((offset, partition) => ({ partition, offset })));
      expect(closed.sessionId).toBe(0);
      expect(Object.keys(answered(closed))).toHaveLength(PARTITIONS);
      const gone = await fetchIn(client, version, topicId, id, 2, []);
      expect(gone).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0,
        responses: [] });
    });
  }

  it('refuses a wrong epoch, an unknown session, a session of names asked by id', async () => {
    const asked = [{ partition: 0, offset: 0 }];
    const { sessionId } = await fetchIn(client, 12, topicId, 0, 0, asked);
    expect(sessionId).toBeGreaterThan(0);
    expect((await fetchIn(client, 12, topicId, sessionId, 2, [])).errorCode)
      .toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    expect((await fetchIn(client, 17, topicId, sessionId, 1, [])).errorCode)
      .toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    // The epoch did not move with the refusals.
    expect((await fetchIn(client, 12, topicId, sessionId, 1, [])).errorCode).toBe(ErrorCode.NONE);
    expect((await fetchIn(client, 12, topicId, 0x7fff_0000, 1, [])).errorCode)
      .toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const sessions = (kind: string) => metricValue(metricsPort, 'ledgerstream_fetch_sessions',
      `kind="${kind}"`);
    expect(await sessions('sessions')).toBeGreaterThanOrEqual(1);
    expect(await sessions('incremental_fetches')).toBeGreaterThanOrEqual(1);
  });

  it('a v4-6 Fetch has no session fields and is answered without one', async () => {
    const res = await fetchIn(client, 6, topicId, 0, 0, [{ partition: 0, offset: 0 }]);
    expect(res.sessionId).toBe(0);
    expect(Object.keys(answered(res))).toEqual(['0']);
  });
});

it('with max.incremental.fetch.session.cache.slots=0 no Fetch gets a session', async () => {
  const broker = await startBroker({ settings: { fetchSessionCacheSlots: 0 } });
  const client = await RawClient.connect(broker.port);
  try {
    expect(await createTopic(client, TOPIC, 1)).toBe(ErrorCode.NONE);
    const res = await fetchIn(client, 12, '', 0, 0, [{ partition: 0, offset: 0 }]);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.sessionId).toBe(0);
    expect(Object.keys(answered(res))).toEqual(['0']);
  } finally {
    client.close();
    await broker.destroy();
  }
}, 60_000);

// Sessions live in memory: a killed broker's are gone, and the client's next incremental Fetch
// tells it so; the new session it opens reads every acknowledged record.
it('after a kill and restart: FETCH_SESSION_ID_NOT_FOUND, then a new session', async () => {
  const broker = await startBroker();
  let client = await RawClient.connect(broker.port);
  try {
    expect(await createTopic(client, TOPIC, 1)).toBe(ErrorCode.NONE);
    const opened = await fetchIn(client, 12, '', 0, 0, [{ partition: 0, offset: 0 }]);
    expect(opened.sessionId).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect((await produce(client, TOPIC, 100)).errorCode).toBe(0);
    client.close();
    await broker.kill();
    await broker.restart();
    client = await RawClient.connect(broker.port);
    expect(await fetchIn(client, 12, '', opened.sessionId, 1, [])).toMatchObject(
      { errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] });
    const again = await fetchIn(client, 12, '', 0, 0, [{ partition: 0, offset: 0 }]);
    expect(again.sessionId).toBeGreaterThan(0);
    expect(answered(again)[0]![0]).toBe(3);
    expect(answered(again)[0]![1]).toBeGreaterThan(0);
  } finally {
    client.close();
    await broker.destroy();
  }
}, 60_000);
