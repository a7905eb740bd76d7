/**
 * The uploader's bounded objects (issue 8 item 4): the plan on its own (upload-plan.ts), then a
 * real Uploader — embedded coordinator, real PartitionManager and logs, a local-folder store
 * behind the fault-injecting wrapper — through an outage with a backlog of many objects, and
 * after a commit that was applied though its caller was told it failed.
 * The WAL is in memory (test/helpers/memory-wal.ts): durable at once, it records trims.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBatchHeader } from '../../protocol/records/batch-header.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { loadConfig } from '../../src/config/config.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { createMetrics } from '../../src/metrics.js';
import type { HistoryReader, PartitionLog } from '../../src/partition/partition-log.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';
import { TailMemory } from '../../src/partition/tail-memory.js';
import { type PendingBatch, type PendingPart, planUploadObjects } from '../../src/partition/upload-plan.js';
import { Uploader } from '../../src/partition/uploader.js';
import { MemoryWal, memoryDurability } from '../helpers/memory-wal.js';
import { FaultyObjectStore } from '../../storage/object-store/faulty.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';

const log = pino({ level: 'silent' });

describe('planUploadObjects', () => {
  /** Deterministic pseudo-random numbers (a failing case replays identically). */
  function lcg(seed: number): () => number {
    let x = seed >>> 0;
    return () => (x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32;
  }

  /** Partitions whose batches interleave in one WAL, as the uploader's cut sees them. */
  function pendingOf(random: () => number, partitions: number, batches: number, bytesMax: number):
    PendingPart<number, PendingBatch>[] {
    const parts = Array.from({ length: partitions }, (_, p) => ({ log: p, batches: [] as PendingBatch[] }));
    for (let lsn = 1; lsn <= batches; lsn++) {
      parts[Math.floor(random() * partitions)]!.batches.push({ lsn, bytes: { length: 1 + Math.floor(random() * bytesMax) } });
    }
    return parts.filter((p) => p.batches.length > 0);
  }

  it('keeps every rule on 300 random backlogs', () => {
    const random = lcg(8);
    for (let round = 0; round < 300; round++) {
      const pending = pendingOf(random, 1 + Math.floor(random() * 12), Math.floor(random() * 200), 5000);
      const limits = { objectBytesMax: 1 + Math.floor(random() * 20_000), partitionsMax: 1 + Math.floor(random() * 5) };
      const objects = planUploadObjects(pending, limits);
      const taken = new Map<number, PendingBatch[]>();
      let lsnBefore = 0;
      for (const object of objects) {
        const batches = object.flatMap((p) => p.batches);
        const bytes = batches.reduce((n, b) => n + b.bytes.length, 0);
        expect(batches.length).toBeGreaterThan(0);
        if (batches.length > 1) expect(bytes).toBeLessThanOrEqual(limits.objectBytesMax);
        expect(object.length).toBeLessThanOrEqual(limits.partitionsMax);
        expect(new Set(object.map((p) => p.log)).size).toBe(object.length);
        // Oldest first: an object holds no batch older than one a previous object left behind.
        expect(Math.min(...batches.map((b) => b.lsn))).toBeGreaterThan(lsnBefore);
        lsnBefore = Math.max(...batches.map((b) => b.lsn));
        for (const p of object) taken.set(p.log, [...(taken.get(p.log) ?? []), ...p.batches]);
      }
      // Per partition, the objects in order hold exactly its pending batches, in order: every
      // object is a prefix of what the ones before it left pending.
      for (const p of pending) expect(taken.get(p.log)).toEqual(p.batches);
      expect(taken.size).toBe(pending.length);
    }
  });

  it('puts a batch larger than the limit alone in its object', () => {
    const pending = [{ log: 'a', batches: [{ lsn: 1, bytes: { length: 10 } }, { lsn: 3, bytes: { length: 500 } }] },
      { log: 'b', batches: [{ lsn: 2, bytes: { length: 10 } }, { lsn: 4, bytes: { length: 10 } }] }];
    const plan = planUploadObjects(pending, { objectBytesMax: 100, partitionsMax: 10 });
    expect(plan.map((o) => o.map((p) => [p.log, p.batches.map((b) => b.lsn)]))).toEqual([
      [['a', [1]], ['b', [2]]], [['a', [3]]], [['b', [4]]],
    ]);
  });

  it('plans nothing for nothing pending', () => {
    expect(planUploadObjects([], { objectBytesMax: 100, partitionsMax: 1 })).toEqual([]);
  });
});

const emptyHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};

/**
 * The coordinator applies a commit but its caller never hears so (a call deadline while etcd was
 * paused: etcd runs the request once it resumes). Then the index ends inside the batches the log
 * still holds as pending, and the next commit of them overlaps it partially.
 */
class AnswerLosingCoordinator extends SqliteMetadata {
  private losing = 0;
  loseNextAnswers(n: number): void {
    this.losing = n;
  }
  constructor(filePath: string) {
    super(filePath);
    const commit = this.segments.commit.bind(this.segments);
    this.segments.commit = async (...args) => {
      await commit(...args);
      if (this.losing > 0) {
        this.losing--;
        throw new Error('4 DEADLINE_EXCEEDED: Deadline exceeded (the commit was applied)');
      }
    };
  }
}

describe('Uploader on real logs and the embedded coordinator', () => {
  const OBJECT_BYTES_MAX = 64 * 1024;
  let dir: string;
  let metadata: AnswerLosingCoordinator;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'uploader-test-'));
    metadata = new AnswerLosingCoordinator(':memory:');
  });
  afterEach(async () => {
    await metadata.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function append(target: PartitionLog, n: number, valueBytes = 3000): Promise<number> {
    const batch = await encodeBatch({ baseTimestamp: 1_700_000_000_000,
      records: [{ key: null, value: Buffer.alloc(valueBytes, n % 251) }] });
    const outcome = target.append(batch, readBatchHeader(batch, 0),
      { messageBytesMax: 1 << 20, logAppendTime: false }, Date.now());
    if (outcome.kind !== 'appended') throw new Error(`append failed: ${JSON.stringify(outcome)}`);
    await outcome.durable;
    return batch.length;
  }

  it('keeps the backlog count equal to what is pending, through uploads and DeleteRecords', async () => {
    const config = loadConfig(['--data-dir', dir]);
    const wal = new MemoryWal();
    const durability = memoryDurability(wal);
    const partitions = new PartitionManager(metadata, config, durability, emptyHistory, 1, log,
      Date.now);
    await partitions.load();
    const logs = (await partitions.createTopic('counted', 2, {})).logs.map((l) => l!);
    const store = await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') });
    const uploader = new Uploader(partitions, durability, store, metadata,
      new TailMemory(1 << 20, 1 << 20),
      { nodeId: 1, uploadIntervalMs: 60_000, putGapMs: 0, uploadBytesMax: config.uploadBytesMax,
        turnWaitMsMax: 60_000,
        partitionsPerObjectMax: 100, objectBytesMax: 16 * 1024,
        nowMs: Date.now, monotonicNowMs: () => performance.now() }, createMetrics(), log);
    const pendingBytes = (l: PartitionLog) => l.uploadable(Infinity).reduce((n, b) => n + b.bytes.length, 0);
    const check = () => {
      for (const l of logs) expect(l.bytesNotUploaded).toBe(pendingBytes(l));
      expect(logs.reduce((n, l) => n + l.bytesNotUploaded, 0)).toBe(uploader.uploadBacklogBytes);
    };
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 10; i++) uploader.noteAppended(await append(logs[i % 2]!, i));
      check();
      if (round % 3 === 1) {
        // DeleteRecords (only ever up to what is uploaded: the handler refuses beyond) evicts
        // uploaded batches and must leave the count of the pending ones alone.
        const target = logs[round % 2]!;
        target.advanceLogStart(target.uploadedEndOffset);
        check();
        expect(uploader.uploadBacklogBytes).toBeGreaterThan(0);
      } else if (round % 3 === 2) {
        await uploader.flush();
        check();
        expect(uploader.uploadBacklogBytes).toBe(0);
      }
    }
  });

  it('drains a backlog of many objects in bounded pieces, oldest first, once the store is back', async () => {
    const config = loadConfig(['--data-dir', dir]);
    const wal = new MemoryWal();
    const durability = memoryDurability(wal);
    const partitions = new PartitionManager(metadata, config, durability, emptyHistory, 1, log,
      Date.now);
    await partitions.load();
    const logs = (await partitions.createTopic('backlog', 3, {})).logs.map((l) => l!);
    const store = new FaultyObjectStore(await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') }));
    const metrics = createMetrics();
    const uploader = new Uploader(partitions, durability, store, metadata,
      new TailMemory(config.tailBytesMax, config.tailBatchesMax),
      { nodeId: 1, uploadIntervalMs: 60_000, putGapMs: 0, uploadBytesMax: config.uploadBytesMax,
        turnWaitMsMax: 60_000,
        partitionsPerObjectMax: 100, objectBytesMax: OBJECT_BYTES_MAX,
        nowMs: Date.now, monotonicNowMs: () => performance.now() }, metrics, log);
    let appended = 0;
    for (let i = 0; i < 150; i++) {
      const bytes = await append(logs[i % 3]!, i);
      uploader.noteAppended(bytes);
      appended += bytes;
    }
    expect(uploader.uploadBacklogBytes).toBe(appended);
    expect(appended).toBeGreaterThan(6 * OBJECT_BYTES_MAX);

    store.failNext('putIfAbsent', 50);
    await expect(uploader.flush()).rejects.toThrow();
    expect(uploader.uploadBacklogBytes).toBe(appended);
    expect(logs.map((l) => l.uploadedEndOffset)).toEqual([0, 0, 0]);

    store.heal();
    await uploader.flush();
    expect(uploader.uploadBacklogBytes).toBe(0);
    expect((await metrics.registry.getSingleMetric('ledgerstream_upload_backlog_bytes')!.get()).values[0]!.value).toBe(0);
    expect(logs.map((l) => l.uploadedEndOffset)).toEqual([50, 50, 50]);

    const objects = new Set<string>();
    for (const l of logs) {
      const segments = await metadata.segments.list(l.topicId, l.partition, 0, 1000);
      let next = 0;
      for (const s of segments) {
        expect(s.baseOffset).toBe(next); // contiguous: each object continued where the last ended
        next = s.lastOffset + 1;
        objects.add(s.objectKey);
      }
      expect(next).toBe(50);
    }
    const sizes = await Promise.all([...objects].map(async (k) => (await store.head(k))!.sizeBytes));
    expect(objects.size).toBeGreaterThanOrEqual(Math.floor(appended / OBJECT_BYTES_MAX));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(OBJECT_BYTES_MAX + 4096);
    // The WAL was trimmed after each object, further each time (the backlog interleaves).
    expect(wal.trims.length).toBe(objects.size);
    for (let i = 1; i < wal.trims.length; i++) expect(wal.trims[i]!).toBeGreaterThan(wal.trims[i - 1]!);
    expect(wal.trims.at(-1)).toBe(wal.lsnDurable + 1);
  });

  it('keeps at most tailBatchesMax uploaded batches, evicting the oldest uploads', async () => {
    const config = loadConfig(['--data-dir', dir]);
    const durability = memoryDurability(new MemoryWal());
    const partitions = new PartitionManager(metadata, config, durability, emptyHistory, 1, log,
      Date.now);
    await partitions.load();
    const [a] = (await partitions.createTopic('few-batches', 1, {})).logs.map((l) => l!);
    const store = await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') });
    // Room for any number of bytes, but five batches.
    const tailMemory = new TailMemory(1 << 30, 5);
    const uploader = new Uploader(partitions, durability, store, metadata, tailMemory,
      { nodeId: 1, uploadIntervalMs: 60_000, putGapMs: 0, uploadBytesMax: config.uploadBytesMax,
        turnWaitMsMax: 60_000, partitionsPerObjectMax: 100, objectBytesMax: 1 << 20,
        nowMs: Date.now, monotonicNowMs: () => performance.now() }, createMetrics(), log);
    let offset = 0;
    const appendAndUpload = async (batches: number) => {
      for (let i = 0; i < batches; i++) await append(a!, offset++, 100);
      await uploader.flush();
    };
    await appendAndUpload(4);
    expect([a!.tailStartOffset, tailMemory.cachedBatches]).toEqual([0, 4]);
    // 8 > 5: the first upload's batches leave memory, whatever their bytes.
    await appendAndUpload(4);
    expect([a!.tailStartOffset, tailMemory.cachedBatches]).toEqual([4, 4]);
    await appendAndUpload(3);
    expect([a!.tailStartOffset, tailMemory.cachedBatches]).toEqual([8, 3]);
    expect(a!.uploadedEndOffset).toBe(11);
    // A batch not yet uploaded is never evicted, however many there are.
    for (let i = 0; i < 7; i++) await append(a!, offset++, 100);
    expect([a!.tailStartOffset, a!.bytesNotUploaded > 0]).toEqual([8, true]);
  });

  it('takes its own applied commit as uploaded and commits the rest, instead of failing forever', async () => {
    const config = loadConfig(['--data-dir', dir]);
    const wal = new MemoryWal();
    const durability = memoryDurability(wal);
    const partitions = new PartitionManager(metadata, config, durability, emptyHistory, 1, log,
      Date.now);
    await partitions.load();
    const [a, b] = (await partitions.createTopic('lost', 2, {})).logs.map((l) => l!);
    const store = new FaultyObjectStore(await LocalFolderStore.open(
      { rootDir: path.join(dir, 'objects') }));
    const uploader = new Uploader(partitions, durability, store, metadata,
      new TailMemory(1 << 20, 1 << 20),
      { nodeId: 1, uploadIntervalMs: 60_000, putGapMs: 0, uploadBytesMax: config.uploadBytesMax,
        turnWaitMsMax: 60_000,
        partitionsPerObjectMax: 100, objectBytesMax: 1 << 20,
        nowMs: Date.now, monotonicNowMs: () => performance.now() }, createMetrics(), log);
    for (let i = 0; i < 3; i++) await append(a!, i, 100);
    for (let i = 0; i < 2; i++) await append(b!, i, 100);
    metadata.loseNextAnswers(1);
    await expect(uploader.flush()).rejects.toThrow(/DEADLINE_EXCEEDED/);
    // Applied all the same; the logs do not know it.
    expect((await metadata.leadership.states(a!.topicId)).map((s) => s.indexedEndOffset)).toEqual([3, 2]);
    expect([a!.uploadedEndOffset, b!.uploadedEndOffset]).toEqual([0, 0]);

    // Appended meanwhile: the next commit of partition 0 is 0..4, which the index ends inside.
    await append(a!, 3, 100);
    await append(a!, 4, 100);
    await uploader.flush();
    expect([a!.uploadedEndOffset, b!.uploadedEndOffset]).toEqual([5, 2]);
    expect(uploader.uploadBacklogBytes).toBe(0);
    for (const [target, end] of [[a!, 5], [b!, 2]] as const) {
      let next = 0;
      for (const s of await metadata.segments.list(target.topicId, target.partition, 0, 100)) {
        expect(s.baseOffset).toBe(next); // contiguous: nothing indexed twice, nothing skipped
        next = s.lastOffset + 1;
      }
      expect(next).toBe(end);
    }
    // And on from there as usual.
    await append(b!, 2, 100);
    await uploader.flush();
    expect(b!.uploadedEndOffset).toBe(3);
  });
});
