/**
 * The SQLite writer thread (src/metadata/sqlite/writer-thread.ts): a file database's writes run
 * beside the event loop, not on it. What only the thread can get wrong: the loop turning while a
 * write waits, order and atomicity of writes that share a transaction, read-your-writes on the
 * loop's connection, close after the last write, a bound on waiting writes, and a thread that
 * dies. The stores' contracts run against it in sqlite.test.ts ("SQLite file").
 *
 * Determinism: a test connection holds SQLite's write lock (BEGIN IMMEDIATE) while writes are
 * asked for, so they cannot finish until it lets go, however fast the machine. On the event loop
 * (as before the thread) such a write would block the loop in busy_timeout, then fail with
 * SQLITE_BUSY: the loop could not turn, and the test fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransactionConflictError } from '../../src/metadata/records.js';
import { SqliteMetadata, metadataFilePath } from '../../src/metadata/sqlite/metadata.js';
import { WorkerSqliteWriter } from '../../src/metadata/sqlite/writer-thread.js';
import { at, commitOf, offsetOf, rejectionOf, topicRecord } from './contract/fixtures.js';

const partitionCount = 2000; // a large commit: one entry per partition
const ticksWhileLocked = 20;

let dir: string;
let filePath: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-writer-'));
  filePath = metadataFilePath(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Holds the database's write lock from this thread until `release`. */
function holdWriteLock(): { release: () => void } {
  const raw = new Database(filePath);
  raw.pragma('busy_timeout = 10000'); // the writer thread may be opening (it migrates)
  raw.exec('BEGIN IMMEDIATE');
  return { release: () => {
    raw.exec('COMMIT');
    raw.close();
  } };
}

/** Turns the event loop `count` times (setImmediate runs once per turn). */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

function settledFlag(promise: Promise<unknown>): { settled: boolean } {
  const flag = { settled: false };
  promise.then(() => (flag.settled = true), () => (flag.settled = true));
  return flag;
}

describe('SQLite writer thread', () => {
  it('keeps the event loop turning while a large segment commit waits, then reads it', async () => {
    const metadata = new SqliteMetadata(filePath);
    const topic = topicRecord('wide', partitionCount);
    await metadata.topics.create(topic, 1);
    const entries = Array.from({ length: partitionCount }, (_, p) => at(topic.topicId, p, 0, 9));
    const lock = holdWriteLock();
    const commit = metadata.segments.commit(commitOf('o/wide', entries));
    const flag = settledFlag(commit);
    await turns(ticksWhileLocked);
    expect(flag.settled).toBe(false);
    expect(await metadata.segments.list(topic.topicId, 0, 0, 10)).toEqual([]);
    lock.release();
    await commit;
    // Read-your-writes on the loop's connection, as soon as the promise resolved.
    const states = await metadata.leadership.states(topic.topicId);
    expect(states.every((s) => s.indexedEndOffset === 10)).toBe(true);
    await metadata.close();
  });

  it('runs offset commits, producer ids and transaction writes off the loop too', async () => {
    const metadata = new SqliteMetadata(filePath);
    const lock = holdWriteLock();
    const writes = [
      metadata.offsets.commit('g', [offsetOf('t', 0, 5)]),
      metadata.producers.allocate(),
      metadata.transactions.put(transactionFields('tx'), 0),
    ];
    const flags = writes.map(settledFlag);
    await turns(ticksWhileLocked);
    expect(flags.map((f) => f.settled)).toEqual([false, false, false]);
    lock.release();
    await Promise.all(writes);
    expect((await metadata.offsets.fetch('g')).map((o) => o.offset)).toEqual([5]);
    expect((await metadata.transactions.get('tx'))?.version).toBe(1);
    await metadata.close();
  });

  it('applies queued writes in call order; one that throws undoes only itself', async () => {
    const metadata = new SqliteMetadata(filePath);
    const lock = holdWriteLock(); // everything below queues, so it shares transactions
    const first = metadata.offsets.commit('g', [offsetOf('t', 0, 1)]);
    const conflict = metadata.transactions.put(transactionFields('tx'), 3); // stored: none
    const second = metadata.offsets.commit('g', [offsetOf('t', 0, 2), offsetOf('t', 1, 7)]);
    const put = metadata.transactions.put(transactionFields('tx'), 0);
    lock.release();
    await first;
    const error = await rejectionOf(conflict);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect(error).toMatchObject({ transactionalId: 'tx', expectedVersion: 3, storedVersion: 0 });
    await second;
    expect((await put).version).toBe(1);
    expect((await metadata.offsets.fetch('g')).map((o) => [o.partition, o.offset]))
      .toEqual([[0, 2], [1, 7]]);
    await metadata.close();
  });

});

describe('SQLite writer thread: close, bounds, failures', () => {
  it('closes after the writes called before close, and refuses writes after it', async () => {
    const metadata = new SqliteMetadata(filePath);
    const commit = metadata.offsets.commit('g', [offsetOf('t', 0, 42)]);
    const closed = metadata.close();
    await expect(metadata.offsets.commit('g', [offsetOf('t', 0, 43)])).rejects.toThrow(/closed/);
    await commit;
    await closed;
    const reopened = new SqliteMetadata(filePath);
    expect((await reopened.offsets.fetch('g')).map((o) => o.offset)).toEqual([42]);
    await reopened.close();
  });

  it('refuses a write beyond writesWaitingMax at once', async () => {
    await new SqliteMetadata(filePath).close(); // creates the schema
    const writer = new WorkerSqliteWriter(filePath, Date.now, { writesWaitingMax: 2 });
    const lock = holdWriteLock();
    const waiting = [writer.run('producerIdAllocate'), writer.run('producerIdAllocate')];
    await expect(writer.run('producerIdAllocate')).rejects.toThrow(/at most 2/);
    lock.release();
    expect(await Promise.all(waiting)).toEqual([0, 1]);
    await writer.close();
  });

  it('fails every waiting and later write when the thread dies', async () => {
    await new SqliteMetadata(filePath).close();
    const dying = new URL('./helpers/writer-thread-exits.mjs', import.meta.url);
    const writer = new WorkerSqliteWriter(filePath, Date.now, { entry: dying });
    await expect(writer.run('producerIdAllocate')).rejects.toThrow(/exited \(code 7\)/);
    await expect(writer.run('producerIdAllocate')).rejects.toThrow(/exited \(code 7\)/);
  });

  it('fails its writes when the thread cannot open the database', async () => {
    const missing = path.join(dir, 'no-such-folder', 'metadata.db');
    const writer = new WorkerSqliteWriter(missing, Date.now);
    await expect(writer.run('producerIdAllocate')).rejects.toThrow(/writer thread failed/);
  });
});

function transactionFields(transactionalId: string) {
  return { transactionalId, producerId: 1, producerEpoch: 0, timeoutMs: 60_000,
    state: 'Empty' as const, partitions: [], pendingOffsets: [], txnStartMs: -1,
    updatedAtMs: 1 };
}
