/**
 * The etcd engine's cache of topics and partition states (see metadata.ts for how it is kept
 * fresh), and the changes it reports to listeners.
 */
import assert from 'node:assert/strict';
import type { EtcdKeyValue as IKeyValue } from '../../etcd/client.js';
import type { EtcdKeys } from '../../etcd/keys.js';
import { keyOf, revisionOf, type Versioned } from '../../etcd/txn.js';
import type { PartitionState, TopicRecord } from '../records.js';
import { decodePartitionState, decodeTopic } from './codecs.js';

/** What onChange listeners hear: a topic or partition state appeared, changed, or went away. */
export type MetadataChange =
  | { kind: 'topic'; name: string; topic: TopicRecord | null }
  | { kind: 'partition'; topicId: string; partition: number; state: PartitionState | null };

/**
 * Topics and partition states as of the watch, plus this instance's own writes. Every change
 * carries the mod revision it happened at; a change not newer than what the key already holds is
 * dropped, so the watch and write-through can deliver in either order. Deleted keys stay as
 * tombstones (their revision) until the next reload for the same reason; a reload's snapshot
 * revision also rejects every older change still in flight.
 */
export class TopicCache {
  private readonly revisions = new Map<string, number>();
  private snapshotRevision = 0;
  private readonly topicsByName = new Map<string, TopicRecord>();
  private readonly topicNameById = new Map<string, string>();
  private readonly partitionsByTopicId = new Map<string, Map<number, Versioned<PartitionState>>>();

  constructor(private readonly keys: EtcdKeys) {}

  apply(key: string, modRevision: number, value: Buffer | null): MetadataChange | null {
    const kind = this.keys.classify(key);
    if (kind === null) return null;
    if (modRevision <= Math.max(this.revisions.get(key) ?? 0, this.snapshotRevision)) return null;
    this.revisions.set(key, modRevision);
    if (kind.kind === 'topic') {
      return this.applyTopic(kind.name, value === null ? null : decodeTopic(value));
    }
    const state = value === null ? null : decodePartitionState(value);
    return this.applyPartition(kind.topicId, kind.partition, state, modRevision);
  }

  /**
   * Replaces the cache with a snapshot read at `revision`, keeping changes newer than it (own
   * writes that beat the reload), and returns what changed.
   */
  replace(kvs: IKeyValue[], revision: number): MetadataChange[] {
    const changes: MetadataChange[] = [];
    const inSnapshot = new Set<string>();
    for (const kv of kvs) {
      const key = keyOf(kv);
      inSnapshot.add(key);
      const change = this.apply(key, revisionOf({ revision: kv.mod_revision }), kv.value);
      if (change !== null) changes.push(change);
    }
    for (const [key, modRevision] of [...this.revisions]) {
      if (inSnapshot.has(key) || modRevision > revision) continue;
      if (this.has(key)) {
        const change = this.apply(key, revision, null); // gone by `revision`
        if (change !== null) changes.push(change);
      }
      this.revisions.delete(key); // the snapshot revision now rejects anything older
    }
    this.snapshotRevision = Math.max(this.snapshotRevision, revision);
    return changes;
  }

  /** Cached keys in [start, end) that exist, for applying an own delete-range. */
  liveKeysIn(start: Buffer, end: Buffer): string[] {
    const keys: string[] = [];
    for (const key of this.revisions.keys()) {
      const bytes = Buffer.from(key);
      const inRange = Buffer.compare(bytes, start) >= 0 && Buffer.compare(bytes, end) < 0;
      if (inRange && this.has(key)) keys.push(key);
    }
    return keys;
  }

  /** Whether the key holds a value (rather than nothing or a tombstone). */
  private has(key: string): boolean {
    const kind = this.keys.classify(key);
    if (kind === null) return false;
    if (kind.kind === 'topic') return this.topicsByName.has(kind.name);
    return this.partition(kind.topicId, kind.partition) !== null;
  }

  topics(): TopicRecord[] {
    return [...this.topicsByName.values()];
  }

  topic(name: string): TopicRecord | null {
    return this.topicsByName.get(name) ?? null;
  }

  topicById(topicId: string): TopicRecord | null {
    const name = this.topicNameById.get(topicId);
    return name === undefined ? null : this.topic(name);
  }

  partitions(topicId: string): PartitionState[] {
    const states = [...(this.partitionsByTopicId.get(topicId)?.values() ?? [])];
    return states.map((s) => s.value!).sort((a, b) => a.partition - b.partition);
  }

  partition(topicId: string, partition: number): Versioned<PartitionState> | null {
    return this.partitionsByTopicId.get(topicId)?.get(partition) ?? null;
  }

  private applyTopic(name: string, topic: TopicRecord | null): MetadataChange {
    const previous = this.topicsByName.get(name);
    if (previous !== undefined) this.topicNameById.delete(previous.topicId);
    if (topic === null) {
      this.topicsByName.delete(name);
    } else {
      assert.equal(topic.name, name, 'a topic is stored under its name');
      this.topicsByName.set(name, topic);
      this.topicNameById.set(topic.topicId, name);
    }
    return { kind: 'topic', name, topic };
  }

  private applyPartition(topicId: string, partition: number, state: PartitionState | null,
    modRevision: number): MetadataChange {
    let states = this.partitionsByTopicId.get(topicId);
    if (state === null) {
      states?.delete(partition);
      if (states?.size === 0) this.partitionsByTopicId.delete(topicId);
    } else {
      assert.ok(state.topicId === topicId && state.partition === partition, 'keyed by itself');
      if (states === undefined) this.partitionsByTopicId.set(topicId, states = new Map());
      states.set(partition, { value: state, modRevision });
    }
    return { kind: 'partition', topicId, partition, state };
  }
}

export function copyTopic(topic: TopicRecord): TopicRecord {
  return { ...topic, configs: { ...topic.configs } };
}
