/**
 * TransactionStates on etcd: `txns/<transactionalId>` keys, one JSON record each. The
 * compare-and-set reads the key, checks the record's version, and writes under a compare of the
 * key's mod revision (or its absence), so a write that raced another fails as a conflict.
 */
import assert from 'node:assert/strict';
import { deleteOp, doesNotExist, getOp, modEquals, putOp, rangePrefix, rangesOf, versionedOf,
  type Versioned } from '../../etcd/txn.js';
import type { TransactionRecord } from '../records.js';
import { assertTransactionRecord, checkTransactionVersion } from '../rules.js';
import type { TransactionStates } from '../stores.js';
import type { EtcdEngine } from './engine.js';

function decodeTransaction(value: Buffer): TransactionRecord {
  const record = JSON.parse(value.toString('utf8')) as TransactionRecord;
  assert.ok(typeof record.transactionalId === 'string' && Number.isSafeInteger(record.version)
    && record.version > 0, 'a transaction record');
  return record;
}

export class EtcdTransactionStates implements TransactionStates {
  constructor(private readonly e: EtcdEngine) {}

  async get(transactionalId: string): Promise<TransactionRecord | null> {
    return (await this.read(transactionalId)).value;
  }

  async put(record: Omit<TransactionRecord, 'version'>, expectedVersion: number):
    Promise<TransactionRecord> {
    assertTransactionRecord(record);
    const written: TransactionRecord = { ...record, version: expectedVersion + 1 };
    await this.compareAndSet(record.transactionalId, expectedVersion,
      putOp(this.e.keys.transaction(record.transactionalId), JSON.stringify(written)));
    return written;
  }

  async delete(transactionalId: string, expectedVersion: number): Promise<void> {
    await this.compareAndSet(transactionalId, expectedVersion,
      deleteOp(this.e.keys.transaction(transactionalId)));
  }

  async list(): Promise<TransactionRecord[]> {
    const kvs = await rangePrefix(this.e.client, this.e.keys.transactionsPrefix());
    return kvs.map((kv) => decodeTransaction(kv.value))
      .sort((a, b) => a.transactionalId < b.transactionalId ? -1
        : a.transactionalId > b.transactionalId ? 1 : 0);
  }

  private async read(transactionalId: string): Promise<Versioned<TransactionRecord>> {
    const response = await this.e.txn([], [getOp(this.e.keys.transaction(transactionalId))], []);
    return versionedOf(rangesOf(response)[0], decodeTransaction);
  }

  private async compareAndSet(transactionalId: string, expectedVersion: number,
    op: ReturnType<typeof putOp>): Promise<void> {
    const key = this.e.keys.transaction(transactionalId);
    const stored = await this.read(transactionalId);
    checkTransactionVersion(transactionalId, expectedVersion, stored.value?.version ?? 0);
    const compare = stored.value === null ? doesNotExist(key) : modEquals(key, stored.modRevision);
    const response = await this.e.txn([compare], [op], []);
    if (!response.succeeded) {
      const now = await this.read(transactionalId);
      checkTransactionVersion(transactionalId, expectedVersion, now.value?.version ?? 0);
      // Same version, another revision: a write raced this one and wrote the same version.
      checkTransactionVersion(transactionalId, expectedVersion, -1);
    }
  }
}
