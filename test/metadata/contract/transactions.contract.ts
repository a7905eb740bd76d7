/**
 * The TransactionStates contract: one record per transactional id, every write a compare-and-set
 * on the version read, durable across a reopen.
 */
import { expect, it } from 'vitest';
import { TransactionConflictError, type TransactionRecord } from '../../../src/metadata/records.js';
import { offsetOf, type Current, type Reopen } from './fixtures.js';

function txn(id: string, over: Partial<TransactionRecord> = {}): Omit<TransactionRecord,
  'version'> {
  return { transactionalId: id, producerId: 7, producerEpoch: 0, timeoutMs: 60_000, state: 'Empty',
    partitions: [], pendingOffsets: [], txnStartMs: -1, updatedAtMs: 1_700_000_000_000, ...over };
}

export function transactionStatesContract(current: Current, reopen: Reopen): void {
  it('creates a record at version 1 and moves it on by compare-and-set', async () => {
    const { c } = current();
    expect(await c.transactions.get('t1')).toBeNull();
    const created = await c.transactions.put(txn('t1'), 0);
    expect(created.version).toBe(1);
    const ongoing = txn('t1', { state: 'Ongoing', partitions: [{ topic: 'a', partition: 2 }],
      pendingOffsets: [{ groupId: 'g', offsets: [offsetOf('a', 0, 5)] }], txnStartMs: 5 });
    expect(await c.transactions.put(ongoing, 1)).toEqual({ ...ongoing, version: 2 });
    expect(await c.transactions.get('t1')).toEqual({ ...ongoing, version: 2 });
  });

  it('refuses a write naming a version other than the stored one, changing nothing', async () => {
    const { c } = current();
    await c.transactions.put(txn('t1'), 0);
    await expect(c.transactions.put(txn('t1', { producerEpoch: 5 }), 0))
      .rejects.toBeInstanceOf(TransactionConflictError);
    await expect(c.transactions.put(txn('t1', { producerEpoch: 5 }), 2))
      .rejects.toBeInstanceOf(TransactionConflictError);
    await expect(c.transactions.put(txn('t2'), 1)).rejects.toBeInstanceOf(TransactionConflictError);
    await expect(c.transactions.delete('t1', 3)).rejects.toBeInstanceOf(TransactionConflictError);
    expect(await c.transactions.get('t1')).toEqual({ ...txn('t1'), version: 1 });
    expect(await c.transactions.get('t2')).toBeNull();
  });

  it('lets exactly one of two racing writers of the same version win', async () => {
    const { c } = current();
    await c.transactions.put(txn('race'), 0);
    const outcomes = await Promise.allSettled([
      c.transactions.put(txn('race', { producerEpoch: 1 }), 1),
      c.transactions.put(txn('race', { producerEpoch: 2 }), 1),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const stored = await c.transactions.get('race');
    expect(stored?.version).toBe(2);
    const winner = outcomes.findIndex((o) => o.status === 'fulfilled');
    expect(stored?.producerEpoch).toBe(winner + 1);
  });

  it('lists records sorted by id, odd ids included, and deletes by version', async () => {
    const { c } = current();
    for (const id of ['b/x', 'a b', 'c%', 'a']) await c.transactions.put(txn(id), 0);
    expect((await c.transactions.list()).map((r) => r.transactionalId)).toEqual(['a', 'a b', 'b/x',
      'c%']);
    await c.transactions.delete('a b', 1);
    expect(await c.transactions.get('a b')).toBeNull();
    expect((await c.transactions.list()).map((r) => r.transactionalId)).toEqual(['a', 'b/x', 'c%']);
  });

  it('keeps records across a reopen', async (ctx) => {
    const { c } = current();
    await c.transactions.put(txn('durable', { state: 'PrepareCommit', partitions: [{ topic: 't',
      partition: 0 }] }), 0);
    const reopened = await reopen(ctx);
    expect(await reopened.transactions.get('durable')).toEqual(
      { ...txn('durable', { state: 'PrepareCommit', partitions: [{ topic: 't', partition: 0 }] }),
        version: 1 });
  });
}
