/**
 * Pipelined uploads (uploader.ts, commit-turns.ts): the next PUT starts on its pacer slot while
 * the one before is still in flight, but commits apply in the order the uploads started, and a
 * produce is acknowledged only by its own object's commit. Real logs in the object-WAL mode
 * (durability by upload), the embedded coordinator and a local-folder store; the store holds
 * each PUT until the test releases it, so every interleaving here is chosen, not timed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBatchHeader } from '../../protocol/records/batch-header.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { loadConfig } from '../../src/config/config.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { createMetrics } from '../../src/metrics.js';
import { CommitTurns } from '../../src/partition/commit-turns.js';
import { ObjectUploadDurability } from '../../src/partition/durability/object-upload.js';
import type { HistoryReader, PartitionLog } from '../../src/partition/partition-log.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';
import { TailMemory } from '../../src/partition/tail-memory.js';
import { Uploader } from '../../src/partition/uploader.js';
import type { ObjectBody } from '../../storage/object-store/object-store.js';
import { FaultyObjectStore } from '../../storage/object-store/faulty.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';

const log = pino({ level: 'silent' });
const emptyHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};

/** Lets the loop run until nothing is left to do but what waits on the store (held PUTs). */
async function settleLoop(): Promise<void> {
  for (let i = 0; i < 20; i++) await nextTurn();
}

function resolvers(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

interface HeldPut {
  key: string;
  /** Lets the PUT reach the store; resolves once it is there. */
  release(): Promise<void>;
  fail(): void;
}

/** Holds every PUT until the test releases or fails it; counts them as they arrive. */
class GatedStore extends FaultyObjectStore {
  readonly held: HeldPut[] = [];
  private arrived: (() => void) | null = null;

  override async putIfAbsent(key: string, body: ObjectBody): Promise<boolean> {
    const gate = resolvers();
    const stored = resolvers();
    this.held.push({ key, fail: () => gate.reject(new Error(`PUT ${key} failed`)),
      release: () => { gate.resolve(); return stored.promise; } });
    this.arrived?.();
    await gate.promise;
    const created = await super.putIfAbsent(key, body);
    stored.resolve();
    return created;
  }

  /** Resolves once `count` PUTs have arrived. */
  async untilHeld(count: number): Promise<void> {
    while (this.held.length < count) {
      await new Promise<void>((resolve) => { this.arrived = resolve; });
    }
  }
}

/** Appends one batch named `name` and tells the uploader; `acked` gets the name once durable. */
async function produce(uploader: Uploader, acked: string[], target: PartitionLog, name: string):
  Promise<{ durable: Promise<void> }> {
  const batch = await encodeBatch({ baseTimestamp: 1_700_000_000_000,
    records: [{ key: null, value: Buffer.from(name) }] });
  const outcome = target.append(batch, readBatchHeader(batch, 0),
    { messageBytesMax: 1 << 20, logAppendTime: false }, Date.now());
  if (outcome.kind !== 'appended') throw new Error(`append failed: ${outcome.kind}`);
  uploader.noteAppended(batch.length);
  const durable = outcome.durable.then(() => { acked.push(name); });
  durable.catch(() => {});
  return { durable }; // not the promise itself: the async function would wait for it
}

/** Two partitions in the object-WAL mode, uploaded through a GatedStore. */
async function setUp(dir: string, metadata: SqliteMetadata, clock: () => number) {
  const config = loadConfig(['--data-dir', dir]);
  const durability = new ObjectUploadDurability();
  const partitions = new PartitionManager(metadata, config, durability, emptyHistory, 1, log,
    Date.now);
  await partitions.load();
  const logs = (await partitions.createTopic('piped', 2, {})).logs.map((l) => l!);
  const store = new GatedStore(await LocalFolderStore.open({ rootDir: path.join(dir, 'o') }));
  const uploader = new Uploader(partitions, durability, store, metadata,
    new TailMemory(1 << 20, 1 << 20),
    { nodeId: 1, uploadIntervalMs: 60_000, putGapMs: 0, turnWaitMsMax: 500,
      uploadBytesMax: config.uploadBytesMax, partitionsPerObjectMax: 100,
      objectBytesMax: 1 << 20, nowMs: Date.now, monotonicNowMs: clock }, createMetrics(), log);
  const acked: string[] = [];
  const indexed = async (target: PartitionLog) =>
    (await metadata.segments.list(target.topicId, target.partition, 0, 100))
      .map((s) => [s.baseOffset, s.lastOffset, s.objectKey]);
  return { logs, store, uploader, acked, indexed,
    produce: (target: PartitionLog, name: string) => produce(uploader, acked, target, name) };
}

interface Context {
  dir: string;
  metadata: SqliteMetadata;
  /** Object keys in the order the coordinator was asked to commit them. */
  commits: string[];
}

/** Registers the hooks of a describe block: a fresh folder and coordinator per test. */
function freshContext(): Context {
  const ctx = {} as Context;
  beforeEach(async () => {
    ctx.dir = await mkdtemp(path.join(tmpdir(), 'upload-pipeline-test-'));
    ctx.metadata = new SqliteMetadata(':memory:');
    ctx.commits = [];
    const commit = ctx.metadata.segments.commit.bind(ctx.metadata.segments);
    ctx.metadata.segments.commit = async (c) => {
      ctx.commits.push(c.objectKey);
      await commit(c);
    };
  });
  afterEach(async () => {
    await ctx.metadata.close();
    await rm(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}

describe('pipelined uploads', () => {
  const ctx = freshContext();
  const clocked = (clock: () => number = () => performance.now()) =>
    setUp(ctx.dir, ctx.metadata, clock);
  /** 'a' on p0 in the first upload (held), 'b' on p0 and 'c' on p1 in the second (held). */
  const twoInFlight = async () => {
    const set = await clocked();
    const [p0, p1] = set.logs;
    const { durable: a } = await set.produce(p0!, 'a');
    await set.store.untilHeld(1);
    const { durable: b } = await set.produce(p0!, 'b');
    const { durable: c } = await set.produce(p1!, 'c');
    await set.store.untilHeld(2); // started while the first is still in flight
    return { ...set, a, b, c };
  };

  it('starts the next PUT with one in flight, commits in start order, acks by commit', async () => {
    const { logs: [p0, p1], store, uploader, produce, acked, indexed, a, b, c } =
      await twoInFlight();
    await produce(p0!, 'd');
    await settleLoop();
    expect(store.held).toHaveLength(2); // at most uploadsInFlightMax at once

    // The second PUT lands first: its commit waits for the first's, and nothing is acknowledged.
    await store.held[1]!.release();
    await settleLoop();
    expect(ctx.commits).toEqual([]);
    expect(acked).toEqual([]);

    await store.held[0]!.release();
    await Promise.all([a, b, c]);
    expect(ctx.commits.slice(0, 2)).toEqual([store.held[0]!.key, store.held[1]!.key]);
    expect(acked.slice(0, 3)).toEqual(['a', 'b', 'c']);
    expect(await indexed(p0!)).toEqual([[0, 0, store.held[0]!.key], [1, 1, store.held[1]!.key]]);
    expect(await indexed(p1!)).toEqual([[0, 0, store.held[1]!.key]]);

    // The freed slot took what waited ('d'), in a third object.
    await store.untilHeld(3);
    await store.held[2]!.release();
    await uploader.stop();
    expect(acked).toEqual(['a', 'b', 'c', 'd']);
    expect(await indexed(p0!)).toEqual([[0, 0, store.held[0]!.key], [1, 1, store.held[1]!.key],
      [2, 2, store.held[2]!.key]]);
  });

  it('commits nothing after a failed upload until it is uploaded again, in order', async () => {
    const { logs: [p0, p1], store, uploader, acked, indexed, a, b, c } = await twoInFlight();

    await store.held[1]!.release(); // in the store, but behind a failure: an orphan
    store.held[0]!.fail();
    await settleLoop();
    expect(ctx.commits).toEqual([]);
    expect(acked).toEqual([]);
    expect(uploader.failing).toBe(true);

    const flushed = uploader.flush(); // what the retry after the backoff does, now
    await store.untilHeld(3);
    await store.held[2]!.release();
    await flushed;
    await Promise.all([a, b, c]);
    expect(ctx.commits).toEqual([store.held[2]!.key]);
    expect(await indexed(p0!)).toEqual([[0, 1, store.held[2]!.key]]);
    expect(await indexed(p1!)).toEqual([[0, 0, store.held[2]!.key]]);
    await uploader.stop();
  });

});

describe('pipelined uploads: waits and stops', () => {
  const ctx = freshContext();

  it('does not commit an object that waited longer than turnWaitMsMax for its turn', async () => {
    let nowMs = 0;
    const { logs: [p0], store, uploader, produce, acked, indexed } =
      await setUp(ctx.dir, ctx.metadata, () => nowMs);
    const { durable: a } = await produce(p0!, 'a');
    await store.untilHeld(1);
    const { durable: b } = await produce(p0!, 'b');
    await store.untilHeld(2);
    await store.held[1]!.release();
    await settleLoop(); // the uploader has noted when the PUT was done
    nowMs = 501; // the second object has waited past turnWaitMsMax (500) when its turn comes
    await store.held[0]!.release();
    await a;
    await settleLoop();
    expect(acked).toEqual(['a']);
    expect(ctx.commits).toEqual([store.held[0]!.key]);

    const flushed = uploader.flush();
    await store.untilHeld(3);
    await store.held[2]!.release();
    await flushed;
    await b;
    expect(await indexed(p0!)).toEqual([[0, 0, store.held[0]!.key], [1, 1, store.held[2]!.key]]);
    await uploader.stop();
  });

  it('stops only once a flush that runs has finished', async () => {
    const { logs: [p0], store, uploader, produce } =
      await setUp(ctx.dir, ctx.metadata, () => performance.now());
    await produce(p0!, 'a');
    await store.untilHeld(1); // a paced upload
    const flushed = uploader.flush(); // waits for it, and meanwhile no paced upload starts
    await produce(p0!, 'b');
    let stopped = false;
    const stop = uploader.stop().then(() => { stopped = true; });
    await store.held[0]!.release();
    await store.untilHeld(2); // the flush's, of 'b'
    await settleLoop();
    expect(stopped).toBe(false);
    await store.held[1]!.release();
    await Promise.all([stop, flushed]);
    expect(p0!.uploadedEndOffset).toBe(2);
  });
});

describe('CommitTurns', () => {
  it('runs turns in the order taken, fails those after a failure, then starts afresh', async () => {
    const turns = new CommitTurns();
    const ran: string[] = [];
    const first = resolvers();
    const one = turns.take(async () => { await first.promise; ran.push('one'); });
    const two = turns.take(async () => { ran.push('two'); });
    const three = turns.take(async () => { ran.push('three'); throw new Error('three failed'); });
    const four = turns.take(async () => { ran.push('four'); });
    await settleLoop();
    expect(ran).toEqual([]); // 'two' waits for 'one' though it could run at once
    expect(turns.openTurns).toBe(4);
    first.resolve();
    await Promise.all([one, two]);
    await expect(three).rejects.toThrow('three failed');
    await expect(four).rejects.toThrow('three failed');
    expect(ran).toEqual(['one', 'two', 'three']);
    expect(turns.openTurns).toBe(0);
    await turns.take(async () => { ran.push('five'); });
    expect(ran.at(-1)).toBe('five');
  });
});
