/**
 * The partition core without the network: real PartitionLogs, producer state, the uploader and
 * the segment committer, over the local-WAL durability strategy on an in-memory WAL, the embedded
 * coordinator and a local-folder store behind the fault-injecting wrapper. A broker "crashes" by
 * being dropped with everything in memory; what survives is the WAL, the coordinator and the
 * store, and the next broker recovers from them as start-up does (load, replay, upload).
 *
 * Each row of the table crashes in one window of an upload pass. The pass uploads partition A's
 * object, then partition B's (one partition per object); between the two, partition C takes
 * appends that are acknowledged while the pass runs. After each crash every acknowledged record
 * must be read back from the segment index exactly once (no loss, no duplication), a producer's
 * retry of its last batch must be answered as a duplicate, and orphans are collected without
 * touching live data. The row says what the code does to make its window safe, and so what must
 * break if that is removed (see the report for the mutations checked):
 *
 *   before PUT    B's PUT fails            the committer commits only after its PUT succeeded
 *   after PUT     B's object is written,   the object is an orphan: the index does not name it,
 *                 its PUT reports failure  replay re-uploads B, the collector deletes the orphan
 *                                          and nothing the index names
 *   after commit  B is committed, the WAL  replay skips what the index holds
 *                 trim after it fails
 *   after trim    the pass completes       the trim keeps what any partition has not uploaded (C)
 *
 * With durability by upload (no WAL) a batch is acknowledged only once committed, so a crash
 * before the commit loses only what was never acknowledged; the client's retries after it must
 * then be appended once, and a retry of a batch whose commit was applied but not answered must
 * be answered as its duplicate (second table).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateBatch } from '../../protocol/records/batch-header.js';
import { decodeBatch, encodeBatch } from '../../protocol/records/record.js';
import { loadConfig } from '../../src/config/config.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { createMetrics } from '../../src/metrics.js';
import { replayWal } from '../../src/partition/durability/local-wal.js';
import { ObjectUploadDurability } from '../../src/partition/durability/object-upload.js';
import { collectOrphans } from '../../src/partition/orphan-collector.js';
import type {
  AppendOutcome, HistoryReader, PartitionLog,
} from '../../src/partition/partition-log.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';
import { TailMemory } from '../../src/partition/tail-memory.js';
import { Uploader } from '../../src/partition/uploader.js';
import { FaultyObjectStore } from '../../storage/object-store/faulty.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { MemoryWal, memoryDurability } from '../helpers/memory-wal.js';

const log = pino({ level: 'silent' });
const [A, B, C] = [0, 1, 2];
const BATCHES_PER_PARTITION = 3;
const PRODUCER_ID = 42n;

/** The coordinator, with a hook after each successful segment commit (where faults are armed). */
class HookedMetadata extends SqliteMetadata {
  commits = 0;
  afterCommit: (commit: number) => Promise<void> = async () => {};
  constructor() {
    super(':memory:');
    const commit = this.segments.commit.bind(this.segments);
    this.segments.commit = async (...args) => {
      await commit(...args);
      await this.afterCommit(++this.commits);
    };
  }
}

/** What survives a crash. */
interface Disks {
  metadata: HookedMetadata;
  store: FaultyObjectStore;
  wal: MemoryWal;
  nowMs: () => number;
}

interface Broker {
  partitions: PartitionManager;
  uploader: Uploader;
  logs: PartitionLog[];
}

const noHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};

/**
 * Starts a broker on the disks as start-up does: load the coordinator, replay the WAL (with
 * durability by upload there is none).
 */
async function boot(disks: Disks, dir: string, mode: 'local WAL' | 'object upload' = 'local WAL'):
  Promise<Broker> {
  const config = loadConfig(['--data-dir', dir]);
  const durability = mode === 'local WAL' ? memoryDurability(disks.wal)
    : new ObjectUploadDurability();
  const partitions = new PartitionManager(disks.metadata, config, durability, noHistory, 1, log,
    disks.nowMs);
  await partitions.load();
  if (mode === 'local WAL') await replayWal(disks.wal.readFrom(1), partitions, disks.nowMs());
  const uploader = new Uploader(partitions, durability, disks.store, disks.metadata,
    new TailMemory(1 << 20, 1 << 20),
    { nodeId: 1, uploadIntervalMs: 60_000, putGapMs: 0, uploadBytesMax: 1 << 30,
      turnWaitMsMax: 60_000,
      partitionsPerObjectMax: 1, objectBytesMax: 1 << 20, nowMs: disks.nowMs,
      monotonicNowMs: disks.nowMs },
    createMetrics(), log);
  const topic = partitions.topic('windows');
  return { partitions, uploader, logs: topic === undefined ? [] : topic.logs.map((l) => l!) };
}

/** Appends one batch of two records named `<partition>:<n>`; resolves with the outcome. */
async function append(target: PartitionLog, n: number, producerSeq = -1): Promise<AppendOutcome> {
  const batch = await encodeBatch({ baseTimestamp: 1_700_000_000_000,
    records: [0, 1].map((i) => ({ key: null,
      value: Buffer.from(`${target.partition}:${2 * n + i}`) })),
    ...(producerSeq >= 0
      ? { producerId: PRODUCER_ID, producerEpoch: 0, baseSequence: producerSeq } : {}) });
  const check = validateBatch(batch, 0, 'client');
  if (!check.ok) throw new Error(check.detail);
  return target.append(batch, check.header, { messageBytesMax: 1 << 20, logAppendTime: false }, 1);
}

/** Appends and waits for the acknowledgement; returns the values acknowledged. */
async function appendAcked(target: PartitionLog, n: number, producerSeq = -1): Promise<string[]> {
  const outcome = await append(target, n, producerSeq);
  if (outcome.kind !== 'appended') throw new Error(`append refused: ${JSON.stringify(outcome)}`);
  await outcome.durable;
  return [0, 1].map((i) => `${target.partition}:${2 * n + i}`);
}

/** Every record the segment index names, per partition in offset order ('?' where unreadable). */
async function readIndex(disks: Disks, topicId: string):
  Promise<{ offset: number; value: string }[][]> {
  const out: { offset: number; value: string }[][] = [];
  for (const partition of [A, B, C]) {
    const records: { offset: number; value: string }[] = [];
    for (const entry of await disks.metadata.segments.list(topicId, partition, 0, 1000)) {
      const bytes = await disks.store.inner.getRange(entry.objectKey, entry.position,
        entry.position + entry.sizeBytes).catch(() => null);
      if (bytes === null) continue; // named by the index, gone from the store: lost
      for (let at = 0; at < bytes.length;) {
        const batch = await decodeBatch(bytes, { offset: at, maxUncompressedBytes: 1 << 20 });
        for (const r of batch.records) records.push({ offset: r.offset, value: String(r.value) });
        at += batch.sizeBytes;
      }
    }
    out.push(records);
  }
  return out;
}

/** A row of a crash-window table: the window, how the fault is armed, what recovery finds. */
interface WindowRow {
  name: string;
  arm: (disks: Disks) => void;
  /** Objects nothing in the index names, collected after recovery. */
  orphans: number;
}

interface CrashWindow extends WindowRow {
  /** Which commit's hook arms the fault (1: A's object, 2: B's). */
  armAfterCommit: number;
  /** Whether the pass fails (it does when the crash interrupts it). */
  passFails: boolean;
  /** Batches the next broker holds not yet uploaded after its WAL replay. */
  replayedPending: number;
}

const WINDOWS: CrashWindow[] = [
  { name: 'before PUT', armAfterCommit: 1, arm: (d) => d.store.failNext('putIfAbsent', 1),
    passFails: true, replayedPending: BATCHES_PER_PARTITION + 2, orphans: 0 },
  { name: 'after PUT', armAfterCommit: 1, arm: (d) => d.store.crashAfterUpload(1),
    passFails: true, replayedPending: BATCHES_PER_PARTITION + 2, orphans: 1 },
  { name: 'after commit', armAfterCommit: 2, arm: (d) => d.wal.failNextTrim(),
    passFails: true, replayedPending: 2, orphans: 0 },
  { name: 'after trim', armAfterCommit: 0, arm: () => {},
    passFails: false, replayedPending: 2, orphans: 0 },
];

// Fresh disks for every test (each row is its own broker's life).
let dir: string;
let disks: Disks;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'crash-windows-'));
  let clockMs = Date.now(); // the store stamps objects with the real time (the collector's age)
  disks = { metadata: new HookedMetadata(), wal: new MemoryWal(), nowMs: () => clockMs++,
    store: new FaultyObjectStore(
      await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') })) };
});
afterEach(async () => {
  await disks.metadata.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the uploader crashing in each window of a pass', () => {
  it.each(WINDOWS)('crash $name: nothing acknowledged lost, nothing duplicated', async (window) => {
    const first = await boot(disks, dir);
    const topicId = (await first.partitions.createTopic('windows', 3, {})).record.topicId;
    const [logA, logB, logC] = first.partitions.topic('windows')!.logs.map((l) => l!);
    const acked: string[] = [];
    for (let n = 0; n < BATCHES_PER_PARTITION; n++) acked.push(...await appendAcked(logA!, n));
    for (let n = 0; n < BATCHES_PER_PARTITION; n++) {
      acked.push(...await appendAcked(logB!, n, 2 * n));
    }
    disks.metadata.afterCommit = async (commit) => {
      if (commit === 1) {
        // Acknowledged while the pass runs, after its cut: the trims must keep them.
        for (let n = 0; n < 2; n++) acked.push(...await appendAcked(logC!, n));
      }
      if (commit === window.armAfterCommit) window.arm(disks);
    };

    const pass = first.uploader.flush();
    if (window.passFails) await expect(pass).rejects.toThrow();
    else await pass;
    await first.uploader.stop(); // the crash: the first broker's memory is gone
    disks.store.heal();
    disks.metadata.afterCommit = async () => {};

    const second = await boot(disks, dir);
    const pending = second.logs.reduce((n, l) => n + l.uploadable(Infinity).length, 0);
    expect(pending, 'batches re-added from the WAL').toBe(window.replayedPending);
    // The producer's retry of its last batch is its duplicate, in every window.
    const lastSeq = 2 * (BATCHES_PER_PARTITION - 1);
    const retry = await append(second.logs[B]!, BATCHES_PER_PARTITION - 1, lastSeq);
    expect(retry).toMatchObject({ kind: 'duplicate', baseOffset: lastSeq });
    await second.uploader.flush();
    const collected = await collectOrphans(disks.store, disks.metadata, disks.nowMs() + 60_000, 0);
    expect(collected, 'orphans collected').toHaveLength(window.orphans);

    const stored = await readIndex(disks, topicId);
    const values = stored.flat().map((r) => r.value);
    expect(acked.filter((v) => !values.includes(v)), 'lost').toEqual([]);
    expect(values.filter((v, i) => values.indexOf(v) !== i), 'duplicated').toEqual([]);
    expect(values.filter((v) => !acked.includes(v)), 'never acknowledged').toEqual([]);
    for (const records of stored) {
      expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    }
    expect(disks.wal.entryCount, 'the WAL is trimmed once all is uploaded').toBe(0);
    await second.uploader.stop();
  });
});

interface UploadCrashWindow extends WindowRow {
  /** Whether B's batches were acknowledged before the crash. */
  bAcknowledged: boolean;
  /** Whether the index holds B after the crash (its retries are then duplicates). */
  bIndexed: boolean;
}

const UPLOAD_WINDOWS: UploadCrashWindow[] = [
  { name: 'before PUT', arm: (d) => d.store.failNext('putIfAbsent', 1), bAcknowledged: false,
    bIndexed: false, orphans: 0 },
  { name: 'after PUT', arm: (d) => d.store.crashAfterUpload(1), bAcknowledged: false,
    bIndexed: false, orphans: 1 },
  { name: 'after commit, before its answer', arm: (d) => {
    d.metadata.afterCommit = async () => { throw new Error('injected: crashed after the commit'); };
  }, bAcknowledged: false, bIndexed: true, orphans: 0 },
  { name: 'after the acknowledgement', arm: () => {}, bAcknowledged: true, bIndexed: true,
    orphans: 0 },
];

describe('durability by upload: the uploader crashing in each window of a pass', () => {
  /** Appends B's batches as an idempotent producer; returns their outcomes. */
  async function appendB(target: PartitionLog): Promise<AppendOutcome[]> {
    const outcomes: AppendOutcome[] = [];
    for (let n = 0; n < BATCHES_PER_PARTITION; n++) outcomes.push(await append(target, n, 2 * n));
    return outcomes;
  }

  it.each(UPLOAD_WINDOWS)('crash $name: acknowledged only once stored, retries stored once',
    async (window) => {
    const first = await boot(disks, dir, 'object upload');
    const topicId = (await first.partitions.createTopic('windows', 3, {})).record.topicId;
    const [logA, logB] = first.partitions.topic('windows')!.logs.map((l) => l!);
    const acked = new Set<string>();
    const appended = [...await Promise.all([0, 1, 2].map((n) => append(logA!, n))),
      ...await appendB(logB!)];
    const settled = appended.map((o, i) => o.kind !== 'appended' ? Promise.reject(new Error(o.kind))
      : o.durable.then(() => {
        const [partition, n] = i < BATCHES_PER_PARTITION ? [A, i] : [B, i - BATCHES_PER_PARTITION];
        for (const r of [0, 1]) acked.add(`${partition}:${2 * n + r}`);
      }));
    disks.metadata.afterCommit = async (commit) => { if (commit === 1) window.arm(disks); };
    await first.uploader.flush().catch(() => {});
    await first.uploader.stop(); // the crash: what is not acknowledged by now never will be
    for (const l of first.partitions.allLogs()) l.fence('crashed');
    await Promise.allSettled(settled);
    const partitionsAcked = window.bAcknowledged ? 2 : 1;
    expect(acked.size, 'records acknowledged').toBe(partitionsAcked * 2 * BATCHES_PER_PARTITION);
    disks.store.heal();
    disks.metadata.afterCommit = async () => {};

    const second = await boot(disks, dir, 'object upload');
    // The client retries what it has no answer for: appended anew, or answered as a duplicate.
    const retries = await appendB(second.logs[B]!);
    const retried = window.bIndexed ? 'duplicate' : 'appended';
    expect(retries.map((o) => o.kind)).toEqual(retries.map(() => retried));
    await second.uploader.flush();
    await Promise.all(retries.map((o) => (o.kind === 'error' ? undefined : o.durable)));
    const collected = await collectOrphans(disks.store, disks.metadata, disks.nowMs() + 60_000, 0);
    expect(collected, 'orphans collected').toHaveLength(window.orphans);

    const values = (await readIndex(disks, topicId)).flat().map((r) => r.value);
    expect([...acked].filter((v) => !values.includes(v)), 'lost').toEqual([]);
    expect(values.filter((v, i) => values.indexOf(v) !== i), 'duplicated').toEqual([]);
    for (let n = 0; n < 2 * BATCHES_PER_PARTITION; n++) {
      expect(values, 'retried records stored').toContain(`${B}:${n}`);
    }
    await second.uploader.stop();
  });
});
