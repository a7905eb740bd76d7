/** TransactionStates on SQLite: the `transactions` table, one JSON record per transactional id. */
import type { TransactionRecord } from '../records.js';
import { assertTransactionRecord, checkTransactionVersion } from '../rules.js';
import type { TransactionStates } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteWriter } from './writer.js';

export const transactionWrites = {
  transactionPut(d: SqliteDatabase, record: Omit<TransactionRecord, 'version'>,
    expectedVersion: number): TransactionRecord {
    const stored = d.s.selectTransaction.get(record.transactionalId)?.version ?? 0;
    checkTransactionVersion(record.transactionalId, expectedVersion, stored);
    const written: TransactionRecord = { ...record, version: expectedVersion + 1 };
    d.s.upsertTransaction.run(record.transactionalId, written.version, JSON.stringify(written));
    return written;
  },

  transactionDelete(d: SqliteDatabase, transactionalId: string, expectedVersion: number): void {
    const stored = d.s.selectTransaction.get(transactionalId)?.version ?? 0;
    checkTransactionVersion(transactionalId, expectedVersion, stored);
    d.s.deleteTransaction.run(transactionalId);
  },
};

export class SqliteTransactionStates implements TransactionStates {
  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {}

  async get(transactionalId: string): Promise<TransactionRecord | null> {
    const row = this.d.s.selectTransaction.get(transactionalId);
    return row === undefined ? null : JSON.parse(row.recordJson) as TransactionRecord;
  }

  async put(record: Omit<TransactionRecord, 'version'>, expectedVersion: number):
    Promise<TransactionRecord> {
    assertTransactionRecord(record);
    return this.writer.run('transactionPut', record, expectedVersion);
  }

  async delete(transactionalId: string, expectedVersion: number): Promise<void> {
    await this.writer.run('transactionDelete', transactionalId, expectedVersion);
  }

  async list(): Promise<TransactionRecord[]> {
    return this.d.s.selectTransactions.all().map((json) => JSON.parse(json) as TransactionRecord);
  }
}
