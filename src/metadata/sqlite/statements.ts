/**
 * The SQLite engine's prepared statements, one group per store, prepared once after migration.
 */
import type Database from 'better-sqlite3';
import type {
  CommittedOffset,
  PartitionState,
  ScramMechanism,
  SegmentEntry,
  TopicRecord,
} from '../records.js';

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

interface QuotaRow { entity_key: string; values_json: string }

/** A `scram_credentials` row as stored. */
export interface ScramRow {
  user_name: string; mechanism: ScramMechanism; salt: Buffer; iterations: number;
  stored_key: Buffer; server_key: Buffer;
}

export function prepareStatements(db: Database.Database) {
  return {
    selectSchemaVersion: db.prepare<[], number>('SELECT version FROM schema_version').pluck(),
    ...prepareTopicStatements(db),
    ...preparePartitionStatements(db),
    ...prepareSegmentStatements(db),
    ...prepareProducerStatements(db),
    ...prepareOffsetStatements(db),
    ...prepareTransactionStatements(db),
    ...prepareAclStatements(db),
    ...prepareQuotaStatements(db),
    ...prepareScramStatements(db),
  };
}

function prepareQuotaStatements(db: Database.Database) {
  return {
    selectQuotas: db.prepare<[], QuotaRow>(
      'SELECT entity_key, values_json FROM client_quotas ORDER BY entity_key'),
    selectQuota: db.prepare<[string], string>(
      'SELECT values_json FROM client_quotas WHERE entity_key = ?').pluck(),
    upsertQuota: db.prepare<[string, string]>(`INSERT INTO client_quotas (entity_key,
      values_json) VALUES (?, ?) ON CONFLICT (entity_key) DO UPDATE SET
      values_json = excluded.values_json`),
    deleteQuota: db.prepare<[string]>('DELETE FROM client_quotas WHERE entity_key = ?'),
  };
}

function prepareScramStatements(db: Database.Database) {
  return {
    selectScram: db.prepare<[string, string], ScramRow>(
      'SELECT * FROM scram_credentials WHERE user_name = ? AND mechanism = ?'),
    selectScramOfUser: db.prepare<[string], ScramRow>(
      'SELECT * FROM scram_credentials WHERE user_name = ? ORDER BY mechanism'),
    selectScramAll: db.prepare<[], ScramRow>(
      'SELECT * FROM scram_credentials ORDER BY user_name, mechanism'),
    upsertScram: db.prepare<[string, string, Buffer, number, Buffer, Buffer]>(`INSERT INTO
      scram_credentials (user_name, mechanism, salt, iterations, stored_key, server_key)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_name, mechanism) DO UPDATE SET
      salt = excluded.salt, iterations = excluded.iterations, stored_key = excluded.stored_key,
      server_key = excluded.server_key`),
    deleteScram: db.prepare<[string, string]>(
      'DELETE FROM scram_credentials WHERE user_name = ? AND mechanism = ?'),
  };
}

/** A binding as its row: `identity` is aclIdentity (src/security/acl.ts), the primary key. */
function prepareAclStatements(db: Database.Database) {
  return {
    selectAclIdentities: db.prepare<[], string>('SELECT identity FROM acls ORDER BY identity')
      .pluck(),
    insertAcl: db.prepare<[string]>(
      'INSERT INTO acls (identity) VALUES (?) ON CONFLICT DO NOTHING'),
    deleteAcl: db.prepare<[string]>('DELETE FROM acls WHERE identity = ?'),
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
    selectObjectLiveEntries: db.prepare<[string], number>(
      'SELECT live_entries FROM objects WHERE object_key = ?').pluck(),
    updateObjectLiveEntries: db.prepare<[number, string]>(
      'UPDATE objects SET live_entries = ? WHERE object_key = ?'),
    deleteObject: db.prepare<[string]>('DELETE FROM objects WHERE object_key = ?'),
    selectObjectKeys: db.prepare<[], string>('SELECT object_key FROM objects').pluck(),
  };
}

function prepareProducerStatements(db: Database.Database) {
  return {
    // RETURNING sees the updated row, so subtract one to hand out the value before the bump.
    nextProducerId: db.prepare<[], number>(`UPDATE producer_ids
      SET next_producer_id = next_producer_id + 1 RETURNING next_producer_id - 1`).pluck(),
    upsertProducerState: db.prepare<[string, number, number, string]>(`INSERT INTO
      producer_states (topic_id, partition, producer_id, state_json) VALUES (?, ?, ?, ?)
      ON CONFLICT (topic_id, partition, producer_id)
      DO UPDATE SET state_json = excluded.state_json`),
    selectProducerStates: db.prepare<TopicPartitionParams,
      { producer_id: number; state_json: string }>(`SELECT producer_id, state_json
      FROM producer_states WHERE topic_id = ? AND partition = ? ORDER BY producer_id`),
    deleteProducerState: db.prepare<[string, number, number]>(
      'DELETE FROM producer_states WHERE topic_id = ? AND partition = ? AND producer_id = ?'),
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

function prepareTransactionStatements(db: Database.Database) {
  return {
    selectTransaction: db.prepare<[string], { version: number; recordJson: string }>(
      `SELECT version, record_json AS recordJson FROM transactions WHERE transactional_id = ?`),
    selectTransactions: db.prepare<[], string>(
      'SELECT record_json FROM transactions ORDER BY transactional_id').pluck(),
    upsertTransaction: db.prepare<[string, number, string]>(`INSERT INTO transactions
      (transactional_id, version, record_json) VALUES (?, ?, ?) ON CONFLICT (transactional_id)
      DO UPDATE SET version = excluded.version, record_json = excluded.record_json`),
    deleteTransaction: db.prepare<[string]>('DELETE FROM transactions WHERE transactional_id = ?'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

export function topicFromRow(row: TopicRow): TopicRecord {
  const configs = JSON.parse(row.configsJson) as Record<string, string>;
  return { name: row.name, topicId: row.topicId, partitionCount: row.partitionCount, configs,
    createdAtMs: row.createdAtMs };
}
