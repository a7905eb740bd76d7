/**
 * Who runs the SQLite engine's writes (writes.ts). A strategy chosen when the database opens
 * (metadata.ts), so the stores have no branch:
 * - a file database: WorkerSqliteWriter (writer-thread.ts), a worker thread with its own
 *   connection, so a write transaction and its fsync never hold the event loop;
 * - `:memory:`: InlineSqliteWriter, on the caller's connection. A worker thread cannot reach the
 *   database (each connection to `:memory:` opens a database of its own), and only tests use one.
 *
 * Either way each call is one atomic change that the promise reports only once it is durable,
 * and calls take effect in the order they were made.
 */
import type { SqliteDatabase } from './database.js';
import { applyWrite, type WriteArgs, type WriteName, type WriteResult } from './writes.js';

export interface SqliteWriter {
  /** Runs the write as one atomic change; resolves once it is committed (and fsynced). */
  run<N extends WriteName>(name: N, ...args: WriteArgs<N>): Promise<WriteResult<N>>;
  /** Resolves once every write called before it has finished; later calls reject. */
  close(): Promise<void>;
}

export class InlineSqliteWriter implements SqliteWriter {
  constructor(private readonly d: SqliteDatabase) {}

  async run<N extends WriteName>(name: N, ...args: WriteArgs<N>): Promise<WriteResult<N>> {
    return this.d.transaction(() => applyWrite(this.d, name, args)) as WriteResult<N>;
  }

  async close(): Promise<void> {}
}
