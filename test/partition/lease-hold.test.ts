/**
 * A broker that lost its etcd lease holds appends (cluster/cluster-mode.ts) until it has taken its
 * partitions back at new epochs. Held logs refuse new appends, logs opened while held are held
 * too, and an append already waiting for its fsync is never acknowledged: by the time the fsync
 * completes the broker may hold a NEW lease, but the append belongs to an epoch of the lost one,
 * which another broker may have taken over (and replayed this broker's WAL before the append).
 * The WAL stays pinned for a partition another broker recovers from this broker's WAL.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateBatch } from '../../protocol/records/batch-header.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type BrokerConfig, loadConfig } from '../../src/config/config.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import {
  type AppendOutcome, type PartitionLog, PartitionFencedError, type WalPort,
} from '../../src/partition/partition-log.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';
import { emptyHistory } from '../helpers/partition-fakes.js';

const NODE_ID = 1;

/** A WAL whose fsyncs complete only when the test says so. */
class HeldWal implements WalPort {
  readonly ackOnUpload = false;
  readonly stalledNoSpace = false;
  lsnDurable = 0;
  private readonly pending: (() => void)[] = [];
  submit(): Promise<number> {
    return new Promise((resolve) => this.pending.push(() => resolve(++this.lsnDurable)));
  }
  completeAll(): void {
    for (const complete of this.pending.splice(0)) complete();
  }
}

async function append(log: PartitionLog, value: string): Promise<AppendOutcome> {
  const batch = await encodeBatch({ baseTimestamp: 1, records: [{ key: null, value: Buffer.from(value) }] });
  const check = validateBatch(batch, 0, 'client');
  if (!check.ok) throw new Error(check.detail);
  return log.append(batch, check.header, { messageBytesMax: 1 << 20, logAppendTime: false }, 1);
}

describe('PartitionManager: appends held while the lease is lost', () => {
  let metadata: SqliteMetadata;
  let wal: HeldWal;
  let partitions: PartitionManager;

  beforeEach(() => {
    const config: BrokerConfig = { ...loadConfig([], {}), nodeId: NODE_ID };
    metadata = new SqliteMetadata(':memory:');
    wal = new HeldWal();
    partitions = new PartitionManager(metadata, config, wal, emptyHistory, NODE_ID, pino({ level: 'silent' }));
  });

  afterEach(async () => {
    await metadata.close();
  });

  it('an append waiting for its fsync when the lease is lost is never acknowledged', async () => {
    const entry = await partitions.createTopic('t', 1, {});
    const log = entry.logs[0]!;
    const before = await append(log, 'before');
    if (before.kind !== 'appended') throw new Error(before.kind);
    wal.completeAll();
    await before.durable;

    const inFlight = await append(log, 'in flight');
    if (inFlight.kind !== 'appended') throw new Error(inFlight.kind);
    const settled = inFlight.durable.then(() => 'acknowledged', (err: unknown) => err);
    partitions.holdAppends();
    wal.completeAll(); // the fsync completes after the lease was lost
    const outcome = await settled;
    expect(outcome).toBeInstanceOf(PartitionFencedError);
    // Durable all the same: readable, and uploaded (and so not lost) under the old epoch.
    expect(log.highWatermark).toBe(2);
    expect(log.uploadable(Infinity).length).toBe(2);

    const after = await append(log, 'after');
    expect(after).toMatchObject({ kind: 'error', error: 'NOT_LEADER_OR_FOLLOWER' });
  });

  it('object-storage WAL: an append waiting for its upload when the lease is lost is never acknowledged', async () => {
    const objectWal = { ackOnUpload: true, stalledNoSpace: false, lsnDurable: 0,
      submit: () => Promise.reject(new Error('no local WAL')) } satisfies WalPort;
    const config: BrokerConfig = { ...loadConfig([], {}), nodeId: NODE_ID };
    const objectMode = new PartitionManager(metadata, config, objectWal, emptyHistory, NODE_ID, pino({ level: 'silent' }));
    const log = (await objectMode.createTopic('object', 1, {})).logs[0]!;
    const before = await append(log, 'before');
    if (before.kind !== 'appended') throw new Error(before.kind);
    log.markUploaded(1);
    await before.durable;

    const inFlight = await append(log, 'in flight');
    if (inFlight.kind !== 'appended') throw new Error(inFlight.kind);
    const settled = inFlight.durable.then(() => 'acknowledged', (err: unknown) => err);
    objectMode.holdAppends();
    log.markUploaded(2); // its commit succeeds after the lease was lost
    expect(await settled).toBeInstanceOf(PartitionFencedError);
    expect(log.highWatermark).toBe(2); // stored all the same, and readable
  });

  it('a log opened while held is held; once released, logs opened later take appends', async () => {
    partitions.holdAppends();
    expect(partitions.holdingAppends).toBe(true);
    const held = (await partitions.createTopic('held', 1, {})).logs[0]!;
    expect(await append(held, 'x')).toMatchObject({ kind: 'error', error: 'NOT_LEADER_OR_FOLLOWER' });

    partitions.releaseAppends();
    // A held log never takes appends again: it is replaced when its new epoch is opened.
    expect(await append(held, 'y')).toMatchObject({ kind: 'error', error: 'NOT_LEADER_OR_FOLLOWER' });
    const state = (await metadata.leadership.states(held.topicId))[0]!;
    expect(await partitions.openPartition(held.topicId, { ...state, leaderEpoch: state.leaderEpoch + 1 }))
      .toBe(true);
    const reopened = partitions.partitionLog('held', 0)!;
    expect(reopened).not.toBe(held);
    expect(held.fenced).toBe(true);
    const outcome = await append(reopened, 'z');
    expect(outcome.kind).toBe('appended');
  });

  it('pins keep the lowest WAL position another broker still recovers from', () => {
    expect(partitions.walPinnedFrom()).toBe(Infinity);
    partitions.pinWal('a', 0, 40);
    partitions.pinWal('b', 3, 12);
    partitions.pinWal('c', 1, Infinity); // nothing left to recover: no pin
    expect(partitions.walPinnedFrom()).toBe(12);
    partitions.unpinWal('b', 3);
    expect(partitions.walPinnedFrom()).toBe(40);
    partitions.unpinWal('a', 0);
    expect(partitions.walPinnedFrom()).toBe(Infinity);
  });
});
