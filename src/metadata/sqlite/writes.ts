/**
 * Every write the SQLite engine makes, by name: a synchronous function of the database that a
 * writer (writer.ts) runs as one atomic change. The stores call them only through their writer,
 * so for a file database every write happens on the writer thread (writer-thread.ts) and the
 * connection the event loop reads from never writes (metadata.ts makes it query_only).
 */
import assert from 'node:assert/strict';
import { aclWrites } from './acls.js';
import { quotaWrites } from './client-quotas.js';
import type { SqliteDatabase } from './database.js';
import { leadershipWrites } from './leadership.js';
import { offsetWrites } from './offsets.js';
import { producerWrites } from './producers.js';
import { scramWrites } from './scram-credentials.js';
import { segmentWrites } from './segments.js';
import { topicWrites } from './topics.js';
import { transactionWrites } from './transactions.js';

export const sqliteWrites = {
  ...topicWrites, ...leadershipWrites, ...segmentWrites, ...producerWrites, ...offsetWrites,
  ...quotaWrites, ...scramWrites, ...aclWrites, ...transactionWrites,
};

type Writes = typeof sqliteWrites;
export type WriteName = keyof Writes;
export type WriteArgs<N extends WriteName> =
  Writes[N] extends (d: SqliteDatabase, ...args: infer A) => unknown ? A : never;
export type WriteResult<N extends WriteName> = ReturnType<Writes[N]>;

/** Runs the write called `name` on `d`, inside the caller's transaction. */
export function applyWrite(d: SqliteDatabase, name: string, args: readonly unknown[]): unknown {
  assert.ok(Object.hasOwn(sqliteWrites, name), `no SQLite write is called ${name}`);
  const write = sqliteWrites[name as WriteName] as
    (d: SqliteDatabase, ...args: readonly unknown[]) => unknown;
  return write(d, ...args);
}
