/**
 * The SQLite engine's database: file, connection settings, schema and its migrations.
 *
 * Durability: WAL journal with `synchronous = FULL`. In WAL mode FULL fsyncs the WAL file at every
 * commit, so once a method's promise resolves its change is on disk and survives a process crash
 * *and* a power loss. (NORMAL would fsync only at checkpoints: still safe against a process crash,
 * but a power loss could roll back commits whose promises had resolved — and the broker may have
 * trimmed its WAL or acknowledged producers on the strength of them.)
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { newKafkaUuid } from '../rules.js';
import { adminLimits } from '../../limits.js';

/** The coordinator's file name inside the broker's data folder. */
export const metadataFileName = 'metadata.db';

export function metadataFilePath(dataDir: string): string {
  return path.join(dataDir, metadataFileName);
}


/**
 * Schema migrations, in order: entry i takes the schema from version i to i + 1. Released entries
 * are never edited, only appended to, so every database converges on the same schema.
 *
 * WITHOUT ROWID: every table is looked up by its primary key, so the key *is* the row's storage.
 * Foreign keys are declared without cascades: deletes are explicit (object counts must be kept),
 * and the constraint turns a forgotten delete into an error instead of an orphan row.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE cluster (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    cluster_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  );
  CREATE TABLE topics (
    topic_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    partition_count INTEGER NOT NULL CHECK (partition_count > 0),
    configs_json TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE partitions (
    topic_id TEXT NOT NULL REFERENCES topics (topic_id),
    partition INTEGER NOT NULL CHECK (partition >= 0),
    leader_id INTEGER NOT NULL,
    leader_epoch INTEGER NOT NULL CHECK (leader_epoch >= 0),
    log_start_offset INTEGER NOT NULL CHECK (log_start_offset >= 0),
    indexed_end_offset INTEGER NOT NULL CHECK (indexed_end_offset >= 0),
    PRIMARY KEY (topic_id, partition)
  ) WITHOUT ROWID;
  CREATE TABLE objects (
    object_key TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
    live_entries INTEGER NOT NULL CHECK (live_entries >= 0),
    created_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE segments (
    topic_id TEXT NOT NULL,
    partition INTEGER NOT NULL,
    base_offset INTEGER NOT NULL CHECK (base_offset >= 0),
    last_offset INTEGER NOT NULL CHECK (last_offset >= base_offset),
    object_key TEXT NOT NULL REFERENCES objects (object_key),
    position INTEGER NOT NULL CHECK (position >= 0),
    size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
    max_timestamp_ms INTEGER NOT NULL,
    leader_epoch INTEGER NOT NULL,
    PRIMARY KEY (topic_id, partition, base_offset),
    FOREIGN KEY (topic_id, partition) REFERENCES partitions (topic_id, partition)
  ) WITHOUT ROWID;
  -- listSegments: range on last_offset, in order, stopping at LIMIT.
  CREATE INDEX segments_by_last_offset ON segments (topic_id, partition, last_offset);
  -- Deleting an objects row makes SQLite look for referencing segments; without this it scans.
  CREATE INDEX segments_by_object ON segments (object_key);
  CREATE TABLE producer_ids (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    next_producer_id INTEGER NOT NULL CHECK (next_producer_id >= 0)
  );
  INSERT INTO producer_ids (singleton, next_producer_id) VALUES (1, 0);
  CREATE TABLE producer_states (
    topic_id TEXT NOT NULL,
    partition INTEGER NOT NULL,
    producer_id INTEGER NOT NULL,
    state_json TEXT NOT NULL,
    PRIMARY KEY (topic_id, partition, producer_id),
    FOREIGN KEY (topic_id, partition) REFERENCES partitions (topic_id, partition)
  ) WITHOUT ROWID;
  -- Keyed by topic *name*, as Kafka's OffsetCommit is; deleteTopic removes them by name.
  CREATE TABLE group_offsets (
    group_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    committed_offset INTEGER NOT NULL,
    leader_epoch INTEGER NOT NULL,
    metadata TEXT,
    commit_timestamp_ms INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
  ) WITHOUT ROWID;
  CREATE INDEX group_offsets_by_topic ON group_offsets (topic);
  `,
  // Cluster mode: whose WAL a new leader must replay first (records.ts, PartitionState).
  // Existing partitions had no unconsented leader change to recover from, hence the -1.
  `
  ALTER TABLE partitions ADD COLUMN recover_from INTEGER NOT NULL DEFAULT -1
    CHECK (recover_from >= -1);
  `,
  // Client quotas (client-quotas.ts): one row per quota entity, keyed by its canonical key.
  `
  CREATE TABLE client_quotas (
    entity_key TEXT PRIMARY KEY,
    values_json TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // SCRAM credentials (AlterUserScramCredentials): salted and hashed, never the password.
  `
  CREATE TABLE scram_credentials (
    user_name TEXT NOT NULL,
    mechanism TEXT NOT NULL CHECK (mechanism IN ('SCRAM-SHA-256', 'SCRAM-SHA-512')),
    salt BLOB NOT NULL,
    iterations INTEGER NOT NULL CHECK (iterations > 0),
    stored_key BLOB NOT NULL,
    server_key BLOB NOT NULL,
    PRIMARY KEY (user_name, mechanism)
  ) WITHOUT ROWID;
  `,
  // ACL bindings (issue 10), each kept once under its identity: a JSON array of its seven fields
  // (src/security/acl.ts, aclIdentity). Read whole at open; the authorizer decides from memory.
  `
  CREATE TABLE acls (identity TEXT PRIMARY KEY) WITHOUT ROWID;
  `,
  // Transactions: the coordinator's record per transactional id (records.ts, TransactionRecord),
  // with the compare-and-set version beside it.
  `
  CREATE TABLE transactions (
    transactional_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL CHECK (version > 0),
    record_json TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
];

export const schemaVersionLatest = migrations.length;

export function configureConnection(db: Database.Database): void {
  // journal_mode persists in the file; an in-memory database cannot use WAL and reports 'memory'.
  const journalMode = db.pragma('journal_mode = WAL', { simple: true });
  assert.equal(journalMode, db.memory ? 'memory' : 'wal', `journal_mode is ${String(journalMode)}`);
  db.pragma('synchronous = FULL'); // see the file comment: a resolved commit is on disk
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${adminLimits.sqliteBusyTimeoutMs}`);
  assert.equal(db.pragma('synchronous', { simple: true }), 2, 'synchronous must be FULL');
}


/** Brings the schema to the latest version; a no-op when it is already there. */
export function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1), version INTEGER NOT NULL)`);
  const versionStored =
    db.prepare<[], number>('SELECT version FROM schema_version').pluck().get() ?? 0;
  if (versionStored > schemaVersionLatest) {
    throw new Error(`metadata schema version ${versionStored} is newer than this broker ` +
      `supports (${schemaVersionLatest}); refusing to open it`);
  }
  for (let version = versionStored; version < schemaVersionLatest; version++) {
    const migration = migrations[version];
    assert.ok(migration !== undefined);
    db.exec(migration);
  }
  db.prepare(`INSERT INTO schema_version (singleton, version) VALUES (1, ?)
    ON CONFLICT (singleton) DO UPDATE SET version = excluded.version`).run(schemaVersionLatest);
}

export function ensureClusterId(db: Database.Database, nowMs: number): string {
  db.prepare(`INSERT INTO cluster (singleton, cluster_id, created_at_ms) VALUES (1, ?, ?)
    ON CONFLICT (singleton) DO NOTHING`).run(newKafkaUuid(), nowMs);
  const clusterId = db.prepare<[], string>('SELECT cluster_id FROM cluster').pluck().get();
  assert.ok(clusterId !== undefined && clusterId.length === 22, 'cluster id is a Kafka Uuid');
  return clusterId;
}
