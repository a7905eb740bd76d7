/**
 * The SQLite engine's shared part: one connection to the database in the broker's data folder,
 * its prepared statements, and the reads and writes several stores need inside their own
 * transactions (a topic's deletion releases index entries as retention does).
 *
 * Each store method that writes is one atomic change (writes.ts), so "one atomic change" comes
 * from the database, not from care in the stores: a write that throws (FencedError, an assertion)
 * rolls back everything it wrote. better-sqlite3 is synchronous: a call blocks its thread for one
 * transaction (one fsync for a write), so for a file database the writes run on a writer thread
 * with a connection of its own (writer-thread.ts) and this class serves two connections: the
 * event loop's, which only reads, and the writer thread's. Store methods are `async` so errors
 * arrive as rejections, exactly as from the etcd engine.
 *
 * Invariants every transaction keeps (test/metadata/sqlite.test.ts checks them through a raw
 * connection):
 * - `objects.live_entries` equals the number of `segments` rows naming the object, and is > 0: an
 *   object whose count reaches 0 is deleted in the same transaction and its key returned to the
 *   caller, who deletes the object from the store. `objects` is therefore the referenced set.
 * - Per partition, entries are disjoint and contiguous and the last one ends at
 *   `indexed_end_offset - 1`: entries are only appended at the end (SegmentIndex.commit checks
 *   contiguity) and only removed from the start (advanceLogStart).
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import {
  UnknownTopicError,
  type NewPartitionLeaders,
  type PartitionState,
  type TopicRecord,
} from '../records.js';
import { newPartitionLeaders, releaseEntries } from '../rules.js';
import { configureConnection, ensureClusterId, migrate } from './schema.js';
import { prepareStatements, topicFromRow, type Statements } from './statements.js';

export class SqliteDatabase {
  readonly db: Database.Database;
  readonly s: Statements;
  readonly clusterId: string;

  /** Opens (creating and migrating if needed) the database at `filePath`; `:memory:` for tests. */
  constructor(readonly filePath: string, readonly nowMs: () => number) {
    this.db = new Database(filePath);
    try {
      configureConnection(this.db);
      // IMMEDIATE takes the write lock first, so two processes opening a fresh file cannot both
      // migrate it or both generate a cluster id.
      this.clusterId = this.db.transaction(() => {
        migrate(this.db);
        return ensureClusterId(this.db, this.nowMs());
      }).immediate();
      this.s = prepareStatements(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  /** Runs `work` as one transaction: all of it is written, or (it threw) none of it. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // Helpers; each runs inside its caller's transaction.

  requireTopicByName(name: string): TopicRecord {
    const row = this.s.selectTopicByName.get(name);
    if (row === undefined) throw new UnknownTopicError(`unknown topic ${name}`);
    return topicFromRow(row);
  }

  requireTopicById(topicId: string): TopicRecord {
    const row = this.s.selectTopicById.get(topicId);
    if (row === undefined) throw new UnknownTopicError(`unknown topic id ${topicId}`);
    return topicFromRow(row);
  }

  partition(topicId: string, partition: number): PartitionState | null {
    return this.s.selectPartition.get(topicId, partition) ?? null;
  }

  insertPartitions(topicId: string, fromPartition: number, toPartition: number,
    leaders: NewPartitionLeaders): void {
    assert.ok(fromPartition < toPartition, 'at least one partition is created');
    const leaderIds = newPartitionLeaders(leaders, toPartition - fromPartition);
    for (let partition = fromPartition; partition < toPartition; partition++) {
      this.s.insertPartition.run(topicId, partition, leaderIds[partition - fromPartition]!);
    }
  }

  /**
   * Takes the object keys of deleted index entries (one per entry), lowers each object's live
   * count (rules.ts), deletes the objects that reach zero and returns their keys, sorted.
   */
  releaseObjects(objectKeysOfDeletedEntries: string[]): string[] {
    const release = releaseEntries(objectKeysOfDeletedEntries, (objectKey) => {
      const liveEntries = this.s.selectObjectLiveEntries.get(objectKey);
      assert.ok(liveEntries !== undefined, `object ${objectKey} is recorded`);
      return liveEntries;
    });
    for (const [objectKey, liveEntries] of release.liveCounts) {
      this.s.updateObjectLiveEntries.run(liveEntries, objectKey);
    }
    for (const objectKey of release.deadObjectKeys) this.s.deleteObject.run(objectKey);
    return release.deadObjectKeys;
  }
}
