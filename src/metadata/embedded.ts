/**
 * The embedded metadata coordinator: SQLite in the broker's data folder, the single-node default.
 *
 * Each MetadataCoordinator method is one SQLite transaction, so "one atomic change" comes from the
 * database, not from care in this file: a method that throws (FencedError, an assertion) rolls
 * back everything it wrote.
 *
 * Durability: WAL journal with `synchronous = FULL`. In WAL mode FULL fsyncs the WAL file at every
 * commit, so once a method's promise resolves its change is on disk and survives a process crash
 * *and* a power loss. (NORMAL would fsync only at checkpoints: still safe against a process crash,
 * but a power loss could roll back commits whose promises had resolved — and the broker may have
 * trimmed its WAL or acknowledged producers on the strength of them.)
 *
 * better-sqlite3 is synchronous: a call blocks the event loop for one transaction (one fsync for a
 * write). Methods are `async` anyway so errors arrive as rejections, exactly as from the etcd
 * engine. Statements are prepared once, after migration, in `prepareStatements`.
 *
 * Invariants every transaction keeps (embedded.test.ts checks them through a raw connection):
 * - `objects.live_entries` equals the number of `segments` rows naming the object, and is > 0: an
 *   object whose count reaches 0 is deleted in the same transaction and its key returned to the
 *   caller, who deletes the object from the store. `objects` is therefore the referenced set.
 * - Per partition, entries are disjoint and contiguous and the last one ends at
 *   `indexed_end_offset - 1`: entries are only appended at the end (commitSegments checks
 *   contiguity) and only removed from the start (advanceLogStartOffset).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  FencedError,
  TopicExistsError,
  UnknownTopicError,
  afterLeaderSet,
  afterRelease,
  type CommittedOffset,
  type MetadataCoordinator,
  type NewPartitionLeaders,
  type PartitionState,
  type ProducerPartitionState,
  type SegmentCommit,
  type SegmentEntry,
  type TopicRecord,
} from './coordinator.js';
import {
  type IndexPlan, assertCommitShape, assertOffset, assertTopicRecord, newKafkaUuid, newPartitionLeaders, parsePartitionKey,
  planIndexing, sortedEntries, unknownPartition,
} from './commit-rules.js';
import { adminLimits } from '../limits.js';

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
  // Cluster mode: whose WAL a new leader must replay first (coordinator.ts, PartitionState).
  // Existing partitions had no unconsented leader change to recover from, hence the -1.
  `
  ALTER TABLE partitions ADD COLUMN recover_from INTEGER NOT NULL DEFAULT -1
    CHECK (recover_from >= -1);
  `,
];

export const schemaVersionLatest = migrations.length;

function configureConnection(db: Database.Database): void {
  // journal_mode persists in the file; an in-memory database cannot use WAL and reports 'memory'.
  const journalMode = db.pragma('journal_mode = WAL', { simple: true });
  assert.equal(journalMode, db.memory ? 'memory' : 'wal', `journal_mode is ${String(journalMode)}`);
  db.pragma('synchronous = FULL'); // see the file comment: a resolved commit is on disk
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${adminLimits.sqliteBusyTimeoutMs}`);
  assert.equal(db.pragma('synchronous', { simple: true }), 2, 'synchronous must be FULL');
}

/** Brings the schema to the latest version; a no-op when it is already there. */
function migrate(db: Database.Database): void {
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

function ensureClusterId(db: Database.Database, nowMs: number): string {
  db.prepare(`INSERT INTO cluster (singleton, cluster_id, created_at_ms) VALUES (1, ?, ?)
    ON CONFLICT (singleton) DO NOTHING`).run(newKafkaUuid(), nowMs);
  const clusterId = db.prepare<[], string>('SELECT cluster_id FROM cluster').pluck().get();
  assert.ok(clusterId !== undefined && clusterId.length === 22, 'cluster id is a Kafka Uuid');
  return clusterId;
}

interface TopicRow {
  name: string;
  topicId: string;
  partitionCount: number;
  configsJson: string;
  createdAtMs: number;
}

const topicColumns = `name, topic_id AS topicId, partition_count AS partitionCount,
  configs_json AS configsJson, created_at_ms AS createdAtMs`;
const partitionColumns = `topic_id AS topicId, partition, leader_id AS leaderId,
  leader_epoch AS leaderEpoch, log_start_offset AS logStartOffset,
  indexed_end_offset AS indexedEndOffset, recover_from AS recoverFrom`;
const segmentColumns = `topic_id AS topicId, partition, base_offset AS baseOffset,
  last_offset AS lastOffset, object_key AS objectKey, position, size_bytes AS sizeBytes,
  max_timestamp_ms AS maxTimestampMs, leader_epoch AS leaderEpoch`;
const offsetColumns = `topic, partition, committed_offset AS offset, leader_epoch AS leaderEpoch,
  metadata, commit_timestamp_ms AS commitTimestampMs`;

type TopicPartitionParams = [topicId: string, partition: number];

function prepareStatements(db: Database.Database) {
  return {
    selectSchemaVersion: db.prepare<[], number>('SELECT version FROM schema_version').pluck(),
    ...prepareTopicStatements(db),
    ...preparePartitionStatements(db),
    ...prepareSegmentStatements(db),
    ...prepareProducerStatements(db),
    ...prepareOffsetStatements(db),
  };
}

function prepareTopicStatements(db: Database.Database) {
  return {
    selectTopics: db.prepare<[], TopicRow>(`SELECT ${topicColumns} FROM topics ORDER BY name`),
    selectTopicByName: db.prepare<[string], TopicRow>(
      `SELECT ${topicColumns} FROM topics WHERE name = ?`),
    selectTopicById: db.prepare<[string], TopicRow>(
      `SELECT ${topicColumns} FROM topics WHERE topic_id = ?`),
    insertTopic: db.prepare<[string, string, number, string, number]>(`INSERT INTO topics
      (topic_id, name, partition_count, configs_json, created_at_ms) VALUES (?, ?, ?, ?, ?)`),
    updatePartitionCount: db.prepare<[number, string]>(
      'UPDATE topics SET partition_count = ? WHERE topic_id = ?'),
    updateConfigs: db.prepare<[string, string]>(
      'UPDATE topics SET configs_json = ? WHERE topic_id = ?'),
    deleteTopic: db.prepare<[string]>('DELETE FROM topics WHERE topic_id = ?'),
  };
}

function preparePartitionStatements(db: Database.Database) {
  return {
    insertPartition: db.prepare<[string, number, number]>(`INSERT INTO partitions (topic_id,
      partition, leader_id, leader_epoch, log_start_offset, indexed_end_offset, recover_from)
      VALUES (?, ?, ?, 0, 0, 0, -1)`),
    selectPartitions: db.prepare<[string], PartitionState>(
      `SELECT ${partitionColumns} FROM partitions WHERE topic_id = ? ORDER BY partition`),
    selectPartition: db.prepare<TopicPartitionParams, PartitionState>(
      `SELECT ${partitionColumns} FROM partitions WHERE topic_id = ? AND partition = ?`),
    // Sets the leadership columns computed by afterLeaderSet / afterRelease; the epoch in the
    // WHERE clause makes it a compare-and-set even if a caller forgot to check first.
    updateLeadership: db.prepare<[number, number, number, string, number, number],
      PartitionState>(`UPDATE partitions SET leader_id = ?, leader_epoch = ?, recover_from = ?
      WHERE topic_id = ? AND partition = ? AND leader_epoch = ? RETURNING ${partitionColumns}`),
    updateLogStart: db.prepare<[number, string, number]>(
      'UPDATE partitions SET log_start_offset = ? WHERE topic_id = ? AND partition = ?'),
    updateIndexedEnd: db.prepare<[number, string, number]>(
      'UPDATE partitions SET indexed_end_offset = ? WHERE topic_id = ? AND partition = ?'),
    deletePartitions: db.prepare<[string]>('DELETE FROM partitions WHERE topic_id = ?'),
  };
}

function prepareSegmentStatements(db: Database.Database) {
  return {
    insertSegment: db.prepare<SegmentEntry>(`INSERT INTO segments (topic_id, partition,
      base_offset, last_offset, object_key, position, size_bytes, max_timestamp_ms, leader_epoch)
      VALUES (@topicId, @partition, @baseOffset, @lastOffset, @objectKey, @position, @sizeBytes,
      @maxTimestampMs, @leaderEpoch)`),
    deleteSegmentsBelow: db.prepare<[string, number, number], string>(`DELETE FROM segments
      WHERE topic_id = ? AND partition = ? AND last_offset < ? RETURNING object_key`).pluck(),
    deleteSegmentsOfTopic: db.prepare<[string], string>(
      'DELETE FROM segments WHERE topic_id = ? RETURNING object_key').pluck(),
    // Entries of a partition are disjoint, so last_offset order is base_offset order, and the
    // last_offset index serves both the range and the order without a sort.
    selectSegmentsFrom: db.prepare<[string, number, number, number], SegmentEntry>(
      `SELECT ${segmentColumns} FROM segments WHERE topic_id = ? AND partition = ?
      AND last_offset >= ? ORDER BY last_offset LIMIT ?`),
    // Timestamps are not monotonic in offset, so this walks the partition in offset order until
    // the first match: linear in the worst case, which retention keeps short.
    selectSegmentByTimestamp: db.prepare<[string, number, number], SegmentEntry>(
      `SELECT ${segmentColumns} FROM segments WHERE topic_id = ? AND partition = ?
      AND max_timestamp_ms >= ? ORDER BY base_offset LIMIT 1`),
    selectPartitionBytes: db.prepare<TopicPartitionParams, number>(`SELECT
      COALESCE(SUM(size_bytes), 0) FROM segments WHERE topic_id = ? AND partition = ?`).pluck(),
    upsertObject: db.prepare<[string, number, number, number]>(`INSERT INTO objects
      (object_key, size_bytes, live_entries, created_at_ms) VALUES (?, ?, ?, ?)
      ON CONFLICT (object_key) DO UPDATE SET live_entries = live_entries + excluded.live_entries`),
    decrementObject: db.prepare<[number, string], number>(`UPDATE objects
      SET live_entries = live_entries - ? WHERE object_key = ? RETURNING live_entries`).pluck(),
    deleteObject: db.prepare<[string]>('DELETE FROM objects WHERE object_key = ?'),
    selectObjectKeys: db.prepare<[], string>('SELECT object_key FROM objects').pluck(),
  };
}

function prepareProducerStatements(db: Database.Database) {
  return {
    // RETURNING sees the updated row, so subtract one to hand out the value before the bump.
    nextProducerId: db.prepare<[], number>(`UPDATE producer_ids
      SET next_producer_id = next_producer_id + 1 RETURNING next_producer_id - 1`).pluck(),
    insertProducerState: db.prepare<[string, number, number, string]>(`INSERT INTO
      producer_states (topic_id, partition, producer_id, state_json) VALUES (?, ?, ?, ?)`),
    selectProducerStates: db.prepare<TopicPartitionParams, string>(`SELECT state_json
      FROM producer_states WHERE topic_id = ? AND partition = ? ORDER BY producer_id`).pluck(),
    deleteProducerStates: db.prepare<TopicPartitionParams>(
      'DELETE FROM producer_states WHERE topic_id = ? AND partition = ?'),
    deleteProducerStatesOfTopic: db.prepare<[string]>(
      'DELETE FROM producer_states WHERE topic_id = ?'),
  };
}

function prepareOffsetStatements(db: Database.Database) {
  return {
    upsertOffset: db.prepare<[string, string, number, number, number, string | null, number]>(
      `INSERT INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch,
      metadata, commit_timestamp_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (group_id, topic, partition) DO UPDATE SET
      committed_offset = excluded.committed_offset, leader_epoch = excluded.leader_epoch,
      metadata = excluded.metadata, commit_timestamp_ms = excluded.commit_timestamp_ms`),
    selectOffsets: db.prepare<[string], CommittedOffset>(`SELECT ${offsetColumns}
      FROM group_offsets WHERE group_id = ? ORDER BY topic, partition`),
    deleteOffset: db.prepare<[string, string, number]>(
      'DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?'),
    deleteOffsetsOfGroup: db.prepare<[string]>('DELETE FROM group_offsets WHERE group_id = ?'),
    deleteOffsetsOfTopic: db.prepare<[string]>('DELETE FROM group_offsets WHERE topic = ?'),
    selectOffsetGroups: db.prepare<[], string>(
      'SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id').pluck(),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

function topicFromRow(row: TopicRow): TopicRecord {
  const configs = JSON.parse(row.configsJson) as Record<string, string>;
  return { name: row.name, topicId: row.topicId, partitionCount: row.partitionCount, configs,
    createdAtMs: row.createdAtMs };
}

export class EmbeddedCoordinator implements MetadataCoordinator {
  private readonly db: Database.Database;
  private readonly s: Statements;
  private readonly clusterIdValue: string;
  private readonly nowMs: () => number;

  /** Opens (creating and migrating if needed) the database at `filePath`; `:memory:` for tests. */
  constructor(readonly filePath: string, options: { nowMs?: () => number } = {}) {
    this.nowMs = options.nowMs ?? Date.now;
    this.db = new Database(filePath);
    try {
      configureConnection(this.db);
      // IMMEDIATE takes the write lock first, so two processes opening a fresh file cannot both
      // migrate it or both generate a cluster id.
      this.clusterIdValue = this.db.transaction(() => {
        migrate(this.db);
        return ensureClusterId(this.db, this.nowMs());
      }).immediate();
      this.s = prepareStatements(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  clusterId(): string {
    return this.clusterIdValue;
  }

  /** The durability settings in force on this connection, for the startup log and tests. */
  storageSettings(): { journalMode: string; synchronous: number; schemaVersion: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      schemaVersion: this.s.selectSchemaVersion.get() ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // Topics

  async listTopics(): Promise<TopicRecord[]> {
    return this.s.selectTopics.all().map(topicFromRow);
  }

  async getTopic(name: string): Promise<TopicRecord | null> {
    const row = this.s.selectTopicByName.get(name);
    return row === undefined ? null : topicFromRow(row);
  }

  async getTopicById(topicId: string): Promise<TopicRecord | null> {
    const row = this.s.selectTopicById.get(topicId);
    return row === undefined ? null : topicFromRow(row);
  }

  /** The database is the only copy: getTopic is already current. */
  async readTopic(name: string): Promise<TopicRecord | null> {
    return this.getTopic(name);
  }

  async createTopic(topic: TopicRecord, leaders: NewPartitionLeaders): Promise<void> {
    assertTopicRecord(topic);
    this.db.transaction(() => {
      if (this.s.selectTopicByName.get(topic.name) !== undefined) {
        throw new TopicExistsError(`topic ${topic.name} exists`);
      }
      if (this.s.selectTopicById.get(topic.topicId) !== undefined) {
        throw new TopicExistsError(`topic id ${topic.topicId} is taken`);
      }
      this.s.insertTopic.run(topic.topicId, topic.name, topic.partitionCount,
        JSON.stringify(topic.configs), topic.createdAtMs);
      this.insertPartitions(topic.topicId, 0, topic.partitionCount, leaders);
    })();
  }

  async deleteTopic(name: string): Promise<string[]> {
    return this.db.transaction(() => {
      const topic = this.requireTopicByName(name);
      const deadObjectKeys = this.releaseEntries(this.s.deleteSegmentsOfTopic.all(topic.topicId));
      this.s.deleteProducerStatesOfTopic.run(topic.topicId);
      this.s.deletePartitions.run(topic.topicId);
      this.s.deleteOffsetsOfTopic.run(name);
      this.s.deleteTopic.run(topic.topicId);
      return deadObjectKeys;
    })();
  }

  async createPartitions(name: string, partitionCount: number, leaders: NewPartitionLeaders):
    Promise<void> {
    this.db.transaction(() => {
      const topic = this.requireTopicByName(name);
      if (!(Number.isSafeInteger(partitionCount) && partitionCount > topic.partitionCount)) {
        throw new RangeError(`topic ${name} has ${topic.partitionCount} partitions; ` +
          `${partitionCount} does not raise that`);
      }
      this.insertPartitions(topic.topicId, topic.partitionCount, partitionCount, leaders);
      this.s.updatePartitionCount.run(partitionCount, topic.topicId);
    })();
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    this.db.transaction(() => {
      const topic = this.requireTopicByName(name);
      this.s.updateConfigs.run(JSON.stringify(configs), topic.topicId);
    })();
  }

  // Partition state

  async getPartitionStates(topicId: string): Promise<PartitionState[]> {
    return this.db.transaction(() => {
      this.requireTopicById(topicId);
      const states = this.s.selectPartitions.all(topicId);
      assert.ok(states.length > 0, 'a topic has partitions');
      return states;
    })();
  }

  async setPartitionLeader(topicId: string, partition: number, leaderId: number,
    expectedEpoch?: number): Promise<PartitionState> {
    assert.ok(Number.isSafeInteger(leaderId) && leaderId >= -1, `leaderId ${leaderId}`);
    return this.db.transaction(() => {
      const current = this.requirePartition(topicId, partition);
      if (expectedEpoch !== undefined && current.leaderEpoch !== expectedEpoch) {
        throw new FencedError(topicId, partition, expectedEpoch, current.leaderEpoch);
      }
      return this.writeLeadership(current, afterLeaderSet(current, leaderId));
    })();
  }

  async completeRecovery(topicId: string, partition: number, epoch: number): Promise<void> {
    this.db.transaction(() => {
      const current = this.requirePartitionAtEpoch(topicId, partition, epoch);
      if (current.recoverFrom === -1) return; // a repeat is a no-op
      this.writeLeadership(current, { ...current, recoverFrom: -1 });
    })();
  }

  async releasePartition(topicId: string, partition: number, epoch: number,
    toLeaderId: number): Promise<PartitionState> {
    assert.ok(Number.isSafeInteger(toLeaderId) && toLeaderId >= -1, `toLeaderId ${toLeaderId}`);
    return this.db.transaction(() => {
      const current = this.requirePartitionAtEpoch(topicId, partition, epoch);
      return this.writeLeadership(current, afterRelease(current, toLeaderId));
    })();
  }

  async advanceLogStartOffset(topicId: string, partition: number, offset: number):
    Promise<string[]> {
    assertOffset(offset, 'log start offset');
    return this.db.transaction(() => {
      const state = this.requirePartition(topicId, partition);
      if (offset <= state.logStartOffset) return []; // never backwards; a repeat is a no-op
      this.s.updateLogStart.run(offset, topicId, partition);
      return this.releaseEntries(this.s.deleteSegmentsBelow.all(topicId, partition, offset));
    })();
  }

  // Segment index

  /**
   * One transaction: fence, index, record the object, replace producer states. Entries wholly
   * below the partition's index end are a replay (e.g. a crash between the commit and the WAL
   * trim) and are skipped; entries wholly below the log start are dead on arrival and advance the
   * index end without being stored. An object left with no live entry is not recorded: it is an
   * orphan for the orphan sweep, since this method has no way to return its key.
   */
  async commitSegments(commit: SegmentCommit): Promise<void> {
    assertCommitShape(commit);
    this.db.transaction(() => {
      const states = this.checkFencing(commit.leaderEpochs);
      const plan = planIndexing(sortedEntries(commit.entries), states);
      this.applyIndexPlan(plan, commit);
      this.replaceProducerStates(commit.producerStates, plan.replayedPartitions);
    })();
  }

  async listSegments(topicId: string, partition: number, fromOffset: number, limit: number):
    Promise<SegmentEntry[]> {
    assertOffset(fromOffset, 'fromOffset');
    assert.ok(Number.isSafeInteger(limit) && limit > 0, `limit ${limit}`);
    return this.s.selectSegmentsFrom.all(topicId, partition, fromOffset, limit);
  }

  async findSegmentByTimestamp(topicId: string, partition: number, timestampMs: number):
    Promise<SegmentEntry | null> {
    return this.s.selectSegmentByTimestamp.get(topicId, partition, timestampMs) ?? null;
  }

  async partitionSizeBytes(topicId: string, partition: number): Promise<number> {
    const sizeBytes = this.s.selectPartitionBytes.get(topicId, partition);
    assert.ok(sizeBytes !== undefined && Number.isSafeInteger(sizeBytes));
    return sizeBytes;
  }

  async listReferencedObjects(): Promise<Set<string>> {
    return new Set(this.s.selectObjectKeys.all());
  }

  // Producers

  async allocateProducerId(): Promise<number> {
    const producerId = this.s.nextProducerId.get();
    assert.ok(producerId !== undefined && Number.isSafeInteger(producerId) && producerId >= 0);
    return producerId;
  }

  async loadProducerStates(topicId: string, partition: number):
    Promise<ProducerPartitionState[]> {
    return this.s.selectProducerStates.all(topicId, partition)
      .map((json) => JSON.parse(json) as ProducerPartitionState);
  }

  // Consumer group offsets

  async commitOffsets(groupId: string, offsets: CommittedOffset[]): Promise<void> {
    this.db.transaction(() => {
      for (const o of offsets) {
        assert.ok(Number.isSafeInteger(o.offset), `offset ${o.offset}`);
        this.s.upsertOffset.run(groupId, o.topic, o.partition, o.offset, o.leaderEpoch,
          o.metadata, o.commitTimestampMs);
      }
    })();
  }

  async fetchOffsets(groupId: string): Promise<CommittedOffset[]> {
    return this.s.selectOffsets.all(groupId);
  }

  async deleteOffsets(groupId: string, partitions: { topic: string; partition: number }[]):
    Promise<void> {
    this.db.transaction(() => {
      for (const p of partitions) this.s.deleteOffset.run(groupId, p.topic, p.partition);
    })();
  }

  async deleteGroupOffsets(groupId: string): Promise<void> {
    this.s.deleteOffsetsOfGroup.run(groupId);
  }

  async listOffsetGroups(): Promise<string[]> {
    return this.s.selectOffsetGroups.all();
  }

  // Helpers; each runs inside its caller's transaction.

  private insertPartitions(topicId: string, fromPartition: number, toPartition: number,
    leaders: NewPartitionLeaders): void {
    assert.ok(fromPartition < toPartition, 'at least one partition is created');
    const leaderIds = newPartitionLeaders(leaders, toPartition - fromPartition);
    for (let partition = fromPartition; partition < toPartition; partition++) {
      this.s.insertPartition.run(topicId, partition, leaderIds[partition - fromPartition]!);
    }
  }

  private requireTopicByName(name: string): TopicRecord {
    const row = this.s.selectTopicByName.get(name);
    if (row === undefined) throw new UnknownTopicError(`unknown topic ${name}`);
    return topicFromRow(row);
  }

  private requireTopicById(topicId: string): TopicRecord {
    const row = this.s.selectTopicById.get(topicId);
    if (row === undefined) throw new UnknownTopicError(`unknown topic id ${topicId}`);
    return topicFromRow(row);
  }

  private requirePartition(topicId: string, partition: number): PartitionState {
    const state = this.s.selectPartition.get(topicId, partition);
    if (state === undefined) throw unknownPartition(topicId, partition);
    return state;
  }

  private requirePartitionAtEpoch(topicId: string, partition: number, epoch: number):
    PartitionState {
    const current = this.requirePartition(topicId, partition);
    if (current.leaderEpoch !== epoch) {
      throw new FencedError(topicId, partition, epoch, current.leaderEpoch);
    }
    return current;
  }

  /** Writes the leadership columns of `next` over `current` (read in the same transaction). */
  private writeLeadership(current: PartitionState, next: PartitionState): PartitionState {
    assert.ok(next.leaderEpoch >= current.leaderEpoch && next.recoverFrom >= -1);
    const state = this.s.updateLeadership.get(next.leaderId, next.leaderEpoch, next.recoverFrom,
      current.topicId, current.partition, current.leaderEpoch);
    assert.ok(state !== undefined, 'the row read in this transaction is still there');
    assert.deepEqual(state, next, 'the row is what the transition computed');
    return state;
  }

  /**
   * Takes the object keys of deleted index entries (one per entry), lowers each object's live
   * count, deletes the objects that reach zero and returns their keys, sorted.
   */
  private releaseEntries(objectKeysOfDeletedEntries: string[]): string[] {
    const deletedCounts = new Map<string, number>();
    for (const key of objectKeysOfDeletedEntries) {
      deletedCounts.set(key, (deletedCounts.get(key) ?? 0) + 1);
    }
    const deadObjectKeys: string[] = [];
    for (const [objectKey, count] of deletedCounts) {
      const liveEntries = this.s.decrementObject.get(count, objectKey);
      assert.ok(liveEntries !== undefined && liveEntries >= 0, `live count of ${objectKey}`);
      if (liveEntries > 0) continue;
      this.s.deleteObject.run(objectKey);
      deadObjectKeys.push(objectKey);
    }
    return deadObjectKeys.sort();
  }

  /** Throws FencedError before anything is written if any held epoch is not the current one. */
  private checkFencing(leaderEpochs: Map<string, number>): Map<string, PartitionState> {
    const states = new Map<string, PartitionState>();
    for (const [key, heldEpoch] of leaderEpochs) {
      const { topicId, partition } = parsePartitionKey(key);
      const state = this.requirePartition(topicId, partition);
      if (state.leaderEpoch !== heldEpoch) {
        throw new FencedError(topicId, partition, heldEpoch, state.leaderEpoch);
      }
      states.set(key, state);
    }
    return states;
  }

  private applyIndexPlan(plan: IndexPlan, commit: SegmentCommit): void {
    // The object row goes first: segments reference it (a foreign key checked per statement).
    if (plan.inserts.length > 0) {
      this.s.upsertObject.run(commit.objectKey, commit.objectSizeBytes, plan.inserts.length,
        this.nowMs());
    }
    for (const entry of plan.inserts) this.s.insertSegment.run(entry);
    for (const [key, endOffset] of plan.endOffsets) {
      const { topicId, partition } = parsePartitionKey(key);
      this.s.updateIndexedEnd.run(endOffset, topicId, partition);
    }
  }

  /**
   * Replaces the producer states of each partition given, except where the commit was a pure
   * replay: its states are as of a range already indexed, so they would move state backwards.
   */
  private replaceProducerStates(producerStates: Map<string, ProducerPartitionState[]>,
    replayedPartitions: Set<string>): void {
    for (const [key, states] of producerStates) {
      if (replayedPartitions.has(key)) continue;
      const { topicId, partition } = parsePartitionKey(key);
      this.s.deleteProducerStates.run(topicId, partition);
      for (const state of states) {
        this.s.insertProducerState.run(topicId, partition, state.producerId,
          JSON.stringify(state));
      }
    }
  }
}
