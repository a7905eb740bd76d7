/**
 * Partition states written before `recoverFrom` existed read as -1, nothing to recover, in both
 * engines: SQLite through a schema migration (a version-1 database gains the column), etcd through
 * the value decoder (a JSON value without the field). The version-1 database also passes through
 * version 3 (the client_quotas table).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  SqliteMetadata,
  metadataFilePath,
  schemaVersionLatest,
} from '../../src/metadata/sqlite/metadata.js';
import { decodePartitionState } from '../../src/metadata/etcd/codecs.js';
import { topicRecord } from './contract/fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-migration-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Turns a fresh database back into what schema version 1 wrote. */
function downgradeToVersion1(filePath: string): void {
  const raw = new Database(filePath);
  // Versions 6, 5, 4 and 3: transactions, ACLs, SCRAM credentials, client quotas.
  raw.exec('DROP TABLE transactions; DROP TABLE acls; DROP TABLE scram_credentials;'
    + ' DROP TABLE client_quotas');
  raw.exec('ALTER TABLE partitions DROP COLUMN recover_from');
  raw.prepare('UPDATE schema_version SET version = 1').run();
  raw.close();
}

it('adds recover_from = -1 to the partitions of a version-1 database', async () => {
  expect(schemaVersionLatest).toBe(6); // 2: recover_from; 3: quotas; 4: scram; 5: acls; 6: txns
  const filePath = metadataFilePath(dir);
  const before = new SqliteMetadata(filePath);
  const topic = topicRecord('old', 2);
  await before.topics.create(topic, 3);
  await before.leadership.setLeader(topic.topicId, 1, 3); // same leader: epoch 1
  await before.close();
  downgradeToVersion1(filePath);

  const after = new SqliteMetadata(filePath);
  expect(after.storageSettings().schemaVersion).toBe(schemaVersionLatest);
  // Versions 3 (client quotas) and 4 (SCRAM credentials) are applied on the way: empty tables
  // that take writes.
  expect(await after.quotas.list()).toEqual([]);
  await after.quotas.alter({ user: 'u' }, { producer_byte_rate: 1 }, []);
  expect(await after.scramCredentials.list(null)).toEqual([]);
  expect(after.acls.bindings()).toEqual([]); // and it gained the ACL table (version 5)
  expect(await after.transactions.list()).toEqual([]); // and on to version 6
  expect((await after.leadership.states(topic.topicId)).map((s) =>
    [s.leaderId, s.leaderEpoch, s.recoverFrom])).toEqual([[3, 0, -1], [3, 1, -1]]);
  expect((await after.leadership.setLeader(topic.topicId, 0, 4, 0)).recoverFrom).toBe(3);
  await after.close();
});

it('reads an etcd partition state without recoverFrom as nothing to recover', () => {
  const old = { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partition: 0, leaderId: 3, leaderEpoch: 2,
    logStartOffset: 0, indexedEndOffset: 10 };
  expect(decodePartitionState(Buffer.from(JSON.stringify(old)))).toEqual(
    { ...old, recoverFrom: -1 });
});
