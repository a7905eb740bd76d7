/**
 * The PartitionManager keeps ONE log per partition, whichever paths open it concurrently. In
 * cluster mode a topic (or partition) this broker creates is opened twice over: by the request
 * that creates it, and by cluster/leadership.ts reacting to the coordinator's change event for
 * that same write. Opening awaits the coordinator (producer states), so the two overlap; if the
 * later one replaced the earlier's log, the records a producer had appended to it meanwhile —
 * acknowledged — would vanish: consumers would see an empty partition (kcat -e: zero records)
 * and the uploader would never store them.
 *
 * A topic another broker grew (cluster mode) grows here too, all at once: Metadata must never
 * see a partition list with holes.
 *
 * These tests hold the coordinator's producer-state reads to force each interleaving.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateBatch } from '../../protocol/records/batch-header.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type BrokerConfig, loadConfig } from '../../src/config/config.js';
import type { ProducerPartitionState } from '../../src/metadata/records.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import type { PartitionLog } from '../../src/partition/partition-log.js';
import { memoryDurability } from '../helpers/memory-wal.js';
import { emptyHistory } from '../helpers/partition-fakes.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';

const NODE_ID = 1;
const TICKS_MAX = 1_000;

/** Holds every loadProducerStates call until the test releases it. */
class HeldCoordinator extends SqliteMetadata {
  readonly held: (() => void)[] = [];
  constructor(filePath: string) {
    super(filePath);
    const loadStates = this.producers.loadStates.bind(this.producers);
    this.producers.loadStates = async (topicId, partition): Promise<ProducerPartitionState[]> => {
      await new Promise<void>((resolve) => this.held.push(resolve));
      return loadStates(topicId, partition);
    };
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < TICKS_MAX && !condition(); i++) await tick();
  expect(condition(), what).toBe(true);
}

/** Releases held reads until `promise` settles (however many reads it makes). */
async function releaseUntilSettled<T>(metadata: HeldCoordinator, promise: Promise<T>): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => { settled = true; });
  for (let i = 0; i < TICKS_MAX && !settled; i++) {
    for (const release of metadata.held.splice(0)) release();
    await tick();
  }
  return watched;
}

/** Appends `count` records as a producer would, and waits until they are acknowledged. */
async function appendRecords(log: PartitionLog, count: number): Promise<void> {
  const batch = await encodeBatch({ baseTimestamp: 1,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })) });
  const check = validateBatch(batch, 0, 'client');
  if (!check.ok) throw new Error(check.detail);
  const outcome = log.append(batch, check.header, { messageBytesMax: 1 << 20, logAppendTime: false }, 1);
  if (outcome.kind !== 'appended') throw new Error(`append: ${outcome.kind}`);
  await outcome.durable;
}

describe('PartitionManager: concurrent opens of one partition', () => {
  let metadata: HeldCoordinator;
  let partitions: PartitionManager;

  beforeEach(() => {
    const config: BrokerConfig = { ...loadConfig([], {}), nodeId: NODE_ID };
    metadata = new HeldCoordinator(':memory:');
    partitions = new PartitionManager(metadata, config, memoryDurability(), emptyHistory, NODE_ID,
      pino({ level: 'silent' }), Date.now);
  });

  afterEach(async () => {
    await metadata.close();
  });

  it('a topic it creates is installed once, though the creation\'s change event adopts it meanwhile', async () => {
    const created = partitions.createTopic('t', 1, {});
    await until(() => metadata.held.length === 1, 'createTopic is opening the log');
    // What cluster/leadership.ts does on the change event of the creation.
    const record = (await metadata.topics.get('t'))!;
    const adopted = partitions.adoptTopic(record);
    await tick();
    metadata.held.shift()!(); // createTopic's open finishes first: it answers the client
    const entry = await created;
    const log = entry.logs[0]!;
    await appendRecords(log, 200); // the producer's records, acknowledged
    await releaseUntilSettled(metadata, adopted);

    expect(partitions.topic('t')).toBe(entry);
    expect(partitions.partitionLog('t', 0)).toBe(log);
    expect(partitions.partitionLog('t', 0)!.highWatermark).toBe(200);
    expect([...partitions.allLogs()]).toEqual([log]);
  });

  it('adopting first and creating second also ends with one entry', async () => {
    const created = partitions.createTopic('t', 1, {});
    await until(() => metadata.held.length === 1, 'createTopic is opening the log');
    const adopted = partitions.adoptTopic((await metadata.topics.get('t'))!);
    await tick();
    // Whatever finishes first, both callers get the same entry.
    const [entry] = await releaseUntilSettled(metadata, Promise.all([created, adopted]));
    expect(partitions.topic('t')).toBe(entry);
    await appendRecords(entry.logs[0]!, 3);
    expect(partitions.partitionLog('t', 0)!.highWatermark).toBe(3);
  });

  for (const first of ['createPartitions', 'openPartition'] as const) {
    it(`a partition it adds keeps the first log opened (${first} finishes first)`, async () => {
      const entry = await releaseUntilSettled(metadata, partitions.createTopic('t', 1, {}));
      const added = partitions.createPartitions('t', 2);
      await until(() => metadata.held.length === 1, 'createPartitions is opening the new log');
      // What cluster/leadership.ts does on the change event of the new partition.
      const state = (await metadata.leadership.states(entry.record.topicId))[1]!;
      const opened = partitions.openPartition(entry.record.topicId, state);
      await until(() => metadata.held.length === 2, 'openPartition is opening a log');
      const [winner, loser]: [Promise<unknown>, Promise<unknown>] = first === 'createPartitions' ? [added, opened] : [opened, added];
      if (first === 'createPartitions') metadata.held.shift()!();
      else metadata.held.pop()!();
      await winner;
      const log = partitions.partitionLog('t', 1)!;
      expect(log).toBeDefined();
      await appendRecords(log, 5);
      await releaseUntilSettled(metadata, loser);

      expect(partitions.partitionLog('t', 1)).toBe(log);
      expect(log.highWatermark).toBe(5);
      expect(log.fenced).toBe(false);
      expect(partitions.topic('t')!.logs).toHaveLength(2);
    });
  }

  it('adopting a topic another broker grew adds its partitions and configs, never showing a hole', async () => {
    const entry = await releaseUntilSettled(metadata, partitions.createTopic('t', 1, {}));
    // Another broker's CreatePartitions and config change: only the coordinator knows of them.
    await metadata.topics.createPartitions('t', 4, [2, NODE_ID, 2]);
    await metadata.topics.setConfigs('t', { 'retention.ms': '1000' });
    const adopted = partitions.adoptTopic((await metadata.topics.get('t'))!);
    await until(() => metadata.held.length === 1, 'the new log this broker leads is opening');
    expect(entry.logs).toHaveLength(1); // nothing half-grown is visible meanwhile
    await releaseUntilSettled(metadata, adopted);
    expect(entry.record.partitionCount).toBe(4);
    expect(Object.keys(entry.logs)).toEqual(['0', '1', '2', '3']); // no hole
    expect(entry.logs.map((l) => l?.partition)).toEqual([0, undefined, 2, undefined]);
    expect(entry.record.configs).toEqual({ 'retention.ms': '1000' });
    expect(partitions.partitionExists('t', 3)).toBe(true);
  });

  it('a partition opened past the known count grows the whole entry first', async () => {
    const entry = await releaseUntilSettled(metadata, partitions.createTopic('t', 1, {}));
    await metadata.topics.createPartitions('t', 4, [2, 2, NODE_ID]);
    const state = (await metadata.leadership.states(entry.record.topicId))[3]!;
    expect(await releaseUntilSettled(metadata, partitions.openPartition(entry.record.topicId, state))).toBe(true);
    expect(Object.keys(entry.logs)).toEqual(['0', '1', '2', '3']);
    expect(entry.logs.map((l) => l?.partition)).toEqual([0, undefined, undefined, 3]);
    expect(entry.record.partitionCount).toBe(4);
  });

  it('openPartition at a newer epoch still replaces (and fences) the older log', async () => {
    const entry = await releaseUntilSettled(metadata, partitions.createTopic('t', 1, {}));
    const old = entry.logs[0]!;
    const state = await metadata.leadership.setLeader(entry.record.topicId, 0, NODE_ID);
    await releaseUntilSettled(metadata, partitions.openPartition(entry.record.topicId, state));
    const now = partitions.partitionLog('t', 0)!;
    expect(now).not.toBe(old);
    expect(now.leaderEpoch).toBe(state.leaderEpoch);
    expect(old.fenced).toBe(true);
  });
});
