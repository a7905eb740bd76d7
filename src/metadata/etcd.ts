/**
 * The cluster-mode metadata coordinator: etcd v3, shared by every broker of the cluster. Key
 * layout and value codecs are in etcd-keys.ts.
 *
 * Writes: every method that changes more than one key is ONE etcd transaction guarded by what it
 * read (optimistic concurrency, `writeLoop`): it compares the mod_revision of each key it read
 * (or, for keys it creates, that they do not exist yet), and a failed compare means someone else
 * moved one of them. The transaction's failure branch reads those same keys again, so the retry
 * plans from fresh values without another round trip. Retries are bounded (txnAttemptsMax); a
 * domain error — FencedError, IndexContinuityError, UnknownTopicError, TopicExistsError — is
 * only ever thrown from values read from etcd, never from the cache, and is never retried.
 *
 * commitSegments is one transaction. Held leader epochs are fenced through the partition keys:
 * the compare on each partition key's mod_revision also pins its leader epoch, so a former
 * leader's commit fails, writes nothing, and becomes a FencedError once the re-read shows the new
 * epoch. Ops per commit, with E entries inserted over P partitions (etcd counts each branch on
 * its own against --max-txn-ops, default 128):
 *   compares: P (partition keys) + 1 (object key)
 *   success:  E (entry keys) + P (partition states) + P (producer lists, when given) + 1 (object)
 *   failure:  P + 1 (the re-reads)
 * so an object with one entry per partition costs 2P + 1 writes (3P + 1 with producer states).
 * `commitSegmentsTxnOpsMax` computes the bound; the uploader caps partitions per object to keep
 * it within `txnOpsMax`, which must not exceed the server's --max-txn-ops. Too large a commit is
 * refused before it is sent (EtcdTxnTooLargeError).
 *
 * Reads: topics and partition states are served from memory, a cache loaded by a range read at
 * revision R and kept fresh by watches from R + 1 on `topics/` and `partitions/` (two watches:
 * one on the whole prefix would stream every segment entry written to every broker). A watch that
 * errors (e.g. its revision was compacted) or ends unasked triggers a reload, which diffs the new
 * snapshot against the cache and reports the differences to onChange listeners. This instance's
 * own writes are applied to the cache when their transaction returns (read-your-writes); each
 * cached key remembers the revision it was last changed at, so a late watch event never undoes a
 * newer change. Another broker's change shows up after the watch delivers it (milliseconds).
 * Segment lookups, producer states, offsets and objects are read from etcd directly, with limits.
 *
 * Producer ids: allocated in blocks of `producerIdsPerBlock` by a compare-and-set on one counter
 * key, then handed out from memory. Ids are unique forever and increase per coordinator instance,
 * but are NOT ordered across brokers (broker A may hand out 5 after broker B handed out 100).
 * Kafka needs uniqueness only; a block not used up before a restart is skipped, not reused.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IRangeResponse,
  type IRequestOp,
  type IResponseHeader,
  type ITxnResponse,
  type Watcher,
} from 'etcd3';
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
  assertCommitShape, assertOffset, assertTopicRecord, newKafkaUuid, newPartitionLeaders, parsePartitionKey,
  partitionKey, planIndexing, sortedEntries, unknownPartition,
} from './commit-rules.js';
import {
  EtcdKeys,
  decodeCounter,
  decodeObject,
  decodeOffset,
  decodePartitionState,
  decodeProducerStates,
  decodeSegment,
  decodeTopic,
  encodeCounter,
  encodeObject,
  encodeOffset,
  encodePartitionState,
  encodeProducerStates,
  encodeSegment,
  encodeTopic,
  keyPrefixDefault,
  prefixEnd,
  type ObjectRecord,
} from './etcd-keys.js';
import { etcdCoordinatorLimits } from '../limits.js';

export interface EtcdCoordinatorOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`. */
  hosts: string | string[];
  /** Every key lives under it; `/…/`. Default `/ledgerstream/`. */
  keyPrefix?: string;
  /** Ops one transaction branch may carry; must not exceed the server's --max-txn-ops. */
  txnOpsMax?: number;
  producerIdsPerBlock?: number;
  callTimeoutMs?: number;
  nowMs?: () => number;
  /** Where listener and watch failures are reported; without it, process warnings. */
  log?: (message: string, error: unknown) => void;
}

/** What onChange listeners hear: a topic or partition state appeared, changed, or went away. */
export type CoordinatorChange =
  | { kind: 'topic'; name: string; topic: TopicRecord | null }
  | { kind: 'partition'; topicId: string; partition: number; state: PartitionState | null };

export class EtcdConflictError extends Error {
  override readonly name = 'EtcdConflictError';
  constructor(readonly operation: string, readonly attempts: number) {
    super(`${operation}: gave up after ${attempts} attempts; the keys it read kept changing`);
  }
}

export class EtcdTxnTooLargeError extends RangeError {
  override readonly name = 'EtcdTxnTooLargeError';
}

/**
 * The most ops any branch of commitSegments's transaction needs for `commit` (see the file
 * comment): what the uploader checks against `txnOpsMax` when it packs partitions into an object.
 */
export function commitSegmentsTxnOpsMax(commit: SegmentCommit): number {
  const partitions = commit.leaderEpochs.size;
  return Math.max(commit.entries.length + 2 * partitions + 1, partitions + 1);
}

// etcd request helpers ---------------------------------------------------------------------------

interface Versioned<T> {
  value: T | null;
  /** 0 when the key does not exist: what etcd compares a missing key's mod_revision as. */
  modRevision: number;
}

const absent: Versioned<never> = { value: null, modRevision: 0 };

function revisionOf(header: IResponseHeader | { revision: string }): number {
  const revision = Number(header.revision);
  assert.ok(Number.isSafeInteger(revision) && revision > 0, `etcd revision ${header.revision}`);
  return revision;
}

function getOp(key: string): IRequestOp {
  return { request_range: { key: Buffer.from(key) } };
}

function putOp(key: string, value: string): IRequestOp {
  return { request_put: { key: Buffer.from(key), value: Buffer.from(value) } };
}

function deleteOp(key: string): IRequestOp {
  return { request_delete_range: { key: Buffer.from(key) } };
}

function deletePrefixOp(prefix: string): IRequestOp {
  return { request_delete_range: { key: Buffer.from(prefix), range_end: prefixEnd(prefix) } };
}

function modEquals(key: string, modRevision: number): ICompare {
  return { key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: modRevision };
}

function doesNotExist(key: string): ICompare {
  return { key: Buffer.from(key), target: 'Version', result: 'Equal', version: 0 };
}

/** No key under `prefix` changed after `revision` (keys deleted since are not seen: callers
 *  guard those through another key). */
function unchangedSince(prefix: string, revision: number): ICompare {
  return { key: Buffer.from(prefix), range_end: prefixEnd(prefix), target: 'Mod', result: 'Less',
    mod_revision: revision + 1 };
}

function rangesOf(response: ITxnResponse): IRangeResponse[] {
  return response.responses.map((op) => {
    assert.ok(op.response_range !== undefined && op.response_range !== null, 'a read op');
    return op.response_range;
  });
}

function versionedOf<T>(range: IRangeResponse | undefined, decode: (value: Buffer) => T):
  Versioned<T> {
  assert.ok(range !== undefined, 'one range response per read');
  const [kv] = range.kvs;
  if (kv === undefined) return absent;
  return { value: decode(kv.value), modRevision: revisionOf({ revision: kv.mod_revision }) };
}

function keyOf(kv: IKeyValue): string {
  return kv.key.toString('utf8');
}

/** Live-count changes of objects losing `entries`: the records to write and the dead keys. */
function releaseEntries(entries: SegmentEntry[], objects: Map<string, Versioned<ObjectRecord>>,
  objectKeyOf: (objectKey: string) => string): { ops: IRequestOp[]; deadObjectKeys: string[] } {
  const released = new Map<string, number>();
  for (const entry of entries) {
    released.set(entry.objectKey, (released.get(entry.objectKey) ?? 0) + 1);
  }
  const ops: IRequestOp[] = [];
  const deadObjectKeys: string[] = [];
  for (const [objectKey, count] of released) {
    const record = objects.get(objectKey)?.value;
    assert.ok(record !== null && record !== undefined && record.liveEntries >= count,
      `object ${objectKey} counts every entry naming it`);
    const liveEntries = record.liveEntries - count;
    if (liveEntries > 0) {
      ops.push(putOp(objectKeyOf(objectKey), encodeObject({ ...record, liveEntries })));
    } else {
      ops.push(deleteOp(objectKeyOf(objectKey)));
      deadObjectKeys.push(objectKey);
    }
  }
  return { ops, deadObjectKeys };
}

// The topic/partition cache ----------------------------------------------------------------------

/**
 * Topics and partition states as of the watch, plus this instance's own writes. Every change
 * carries the mod revision it happened at; a change not newer than what the key already holds is
 * dropped, so the watch and write-through can deliver in either order. Deleted keys stay as
 * tombstones (their revision) until the next reload for the same reason; a reload's snapshot
 * revision also rejects every older change still in flight.
 */
class TopicCache {
  private readonly revisions = new Map<string, number>();
  private snapshotRevision = 0;
  private readonly topicsByName = new Map<string, TopicRecord>();
  private readonly topicNameById = new Map<string, string>();
  private readonly partitionsByTopicId = new Map<string, Map<number, Versioned<PartitionState>>>();

  constructor(private readonly keys: EtcdKeys) {}

  apply(key: string, modRevision: number, value: Buffer | null): CoordinatorChange | null {
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
  replace(kvs: IKeyValue[], revision: number): CoordinatorChange[] {
    const changes: CoordinatorChange[] = [];
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

  private applyTopic(name: string, topic: TopicRecord | null): CoordinatorChange {
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
    modRevision: number): CoordinatorChange {
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

function copyTopic(topic: TopicRecord): TopicRecord {
  return { ...topic, configs: { ...topic.configs } };
}

// The coordinator --------------------------------------------------------------------------------

/** What a write reads before planning: a fresh read, and optionally the same reads as ops for a
 *  transaction's failure branch so that a conflict returns fresh values at no extra cost. */
interface ViewSource<V> {
  read(): Promise<V>;
  failureReads?: { ops: IRequestOp[]; decode(ranges: IRangeResponse[]): V };
}

interface TxnPlan<R> {
  compare: ICompare[];
  success: IRequestOp[];
  result: R;
}

interface CommitView {
  partitions: Map<string, Versioned<PartitionState>>;
  object: Versioned<ObjectRecord>;
}

interface RetentionView {
  partition: Versioned<PartitionState>;
  /** Entries wholly below the target offset, oldest first, at most one chunk. */
  entries: SegmentEntry[];
  /** More entries below the target than one chunk. */
  more: boolean;
  objects: Map<string, Versioned<ObjectRecord>>;
}

interface TopicDeletionView {
  topic: TopicRecord;
  topicModRevision: number;
  revision: number;
  partitions: PartitionState[];
  entryCount: number;
  /** Empty when entryCount is above deleteTopicEntriesReadMax: the topic is trimmed first. */
  entries: SegmentEntry[];
  objects: Map<string, Versioned<ObjectRecord>>;
  offsetKeys: string[];
}

export class EtcdCoordinator implements MetadataCoordinator {
  private readonly keys: EtcdKeys;
  private readonly cache: TopicCache;
  private readonly txnOpsMax: number;
  private readonly producerIdsPerBlock: number;
  private readonly nowMs: () => number;
  private readonly log: (message: string, error: unknown) => void;
  private readonly listeners = new Set<(change: CoordinatorChange) => void>();
  private clusterIdValue = '';
  private closed = false;
  /** Bumped whenever the watchers are replaced: events of older watchers are ignored. */
  private watchGeneration = 0;
  private watchers: Watcher[] = [];
  /** The newest revision the watch (or a reload) has shown us. */
  private watchedRevision = 0;
  private reloads = 0;
  private conflicts = 0;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;
  private producerIds = { next: 0, end: 0 };
  private producerIdRefill: Promise<void> | null = null;

  private constructor(private readonly client: Etcd3, options: EtcdCoordinatorOptions) {
    this.keys = new EtcdKeys(options.keyPrefix ?? keyPrefixDefault);
    this.cache = new TopicCache(this.keys);
    this.txnOpsMax = options.txnOpsMax ?? etcdCoordinatorLimits.txnOpsMaxDefault;
    this.producerIdsPerBlock = options.producerIdsPerBlock ??
      etcdCoordinatorLimits.producerIdsPerBlockDefault;
    this.nowMs = options.nowMs ?? Date.now;
    this.log = options.log ?? ((message, error) => process.emitWarning(`${message}: ${error}`));
    assert.ok(Number.isSafeInteger(this.txnOpsMax) && this.txnOpsMax >= 8, 'txnOpsMax >= 8');
    assert.ok(Number.isSafeInteger(this.producerIdsPerBlock) && this.producerIdsPerBlock > 0);
  }

  /** Connects, creates the cluster id on first use, loads the cache and starts the watches. */
  static async open(options: EtcdCoordinatorOptions): Promise<EtcdCoordinator> {
    const callTimeoutMs = options.callTimeoutMs ?? etcdCoordinatorLimits.callTimeoutMsDefault;
    const client = new Etcd3({
      hosts: options.hosts,
      // Unary calls get a deadline so a lost etcd fails a call instead of hanging it; the watch
      // stream must not have one.
      defaultCallOptions: (context) => context.isStream ? {} :
        { deadline: Date.now() + callTimeoutMs },
    });
    const coordinator = new EtcdCoordinator(client, options);
    try {
      coordinator.clusterIdValue = await coordinator.ensureClusterId();
      await coordinator.load();
    } catch (error) {
      await coordinator.close();
      throw error;
    }
    return coordinator;
  }

  clusterId(): string {
    assert.ok(this.clusterIdValue.length === 22, 'open() loaded the cluster id');
    return this.clusterIdValue;
  }

  /** Calls `listener` for every topic or partition change, own and other brokers'. Returns the
   *  unsubscribe function. Listeners run synchronously inside the cache update: keep them short. */
  onChange(listener: (change: CoordinatorChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watchGeneration++;
    await this.cancelWatchers();
    this.client.close();
  }

  // Topics

  async listTopics(): Promise<TopicRecord[]> {
    return this.cache.topics().map(copyTopic).sort((a, b) => a.name < b.name ? -1 : 1);
  }

  async getTopic(name: string): Promise<TopicRecord | null> {
    const topic = this.cache.topic(name);
    return topic === null ? null : copyTopic(topic);
  }

  async getTopicById(topicId: string): Promise<TopicRecord | null> {
    const topic = this.cache.topicById(topicId);
    return topic === null ? null : copyTopic(topic);
  }

  /** A linearizable read of the topic key: after another broker's createTopic returned, this
   *  sees it even before the watch has delivered it. */
  async readTopic(name: string): Promise<TopicRecord | null> {
    const range = await this.client.kv.range({ key: Buffer.from(this.keys.topic(name)) });
    return versionedOf(range, decodeTopic).value;
  }

  /** One txn: topic, id reservation and every partition state (2 + partitionCount ops). */
  async createTopic(topic: TopicRecord, leaders: NewPartitionLeaders): Promise<void> {
    assertTopicRecord(topic);
    const topicKey = this.keys.topic(topic.name);
    const success = [putOp(topicKey, encodeTopic(topic)),
      putOp(this.keys.topicId(topic.topicId), topic.name),
      ...this.newPartitionOps(topic.topicId, 0, topic.partitionCount, leaders)];
    const response = await this.txn(
      [doesNotExist(topicKey), doesNotExist(this.keys.topicId(topic.topicId))], success,
      [getOp(topicKey)]);
    if (response.succeeded) {
      this.applyOwnWrites(success, revisionOf(response.header));
      return;
    }
    // The client retries a call whose answer was lost; if the first attempt had applied, the
    // retry finds our own record (topic ids are random, so nobody else wrote this one).
    const existing = versionedOf(rangesOf(response)[0], decodeTopic).value;
    if (existing?.topicId !== topic.topicId || existing.createdAtMs !== topic.createdAtMs) {
      throw new TopicExistsError(`topic ${topic.name} or topic id ${topic.topicId} exists`);
    }
  }

  async deleteTopic(name: string): Promise<string[]> {
    const deadObjectKeys: string[] = [];
    for (let round = 1; ; round++) {
      const view = await this.readTopicDeletionView(name);
      const opsNeeded = etcdCoordinatorLimits.deleteTopicOpsFixed + view.objects.size + view.offsetKeys.length;
      const tooLarge = view.entryCount > etcdCoordinatorLimits.deleteTopicEntriesReadMax;
      if (tooLarge || opsNeeded > this.txnOpsMax) { // the success branch is the largest
        // Too large for one txn: empty the partitions through retention first (each step is its
        // own txn and leaves a valid state), then delete what is left in one txn.
        if (round >= etcdCoordinatorLimits.deleteTopicRoundsMax) {
          throw new EtcdConflictError(`deleteTopic ${name} (trimming; writers keep adding)`,
            round);
        }
        deadObjectKeys.push(...await this.trimTopicForDeletion(view));
        continue;
      }
      const plan = this.planTopicDeletion(view);
      const response = await this.txn(plan.compare, plan.success, []);
      if (response.succeeded) {
        this.applyOwnWrites(plan.success, revisionOf(response.header));
        return [...deadObjectKeys, ...plan.result].sort();
      }
      if (round >= etcdCoordinatorLimits.txnAttemptsMax) {
        throw new EtcdConflictError('deleteTopic', round);
      }
      await this.backoffAfterConflict(round);
    }
  }

  async createPartitions(name: string, partitionCount: number, leaders: NewPartitionLeaders):
    Promise<void> {
    const topicKey = this.keys.topic(name);
    await this.writeLoop('createPartitions', this.keyReads([getOp(topicKey)],
      ([range]) => versionedOf(range, decodeTopic)), (view) => {
      const topic = view.value;
      if (topic === null) throw new UnknownTopicError(`unknown topic ${name}`);
      if (!(Number.isSafeInteger(partitionCount) && partitionCount > topic.partitionCount)) {
        throw new RangeError(`topic ${name} has ${topic.partitionCount} partitions; ` +
          `${partitionCount} does not raise that`);
      }
      return { compare: [modEquals(topicKey, view.modRevision)], result: undefined, success: [
        putOp(topicKey, encodeTopic({ ...topic, partitionCount })),
        ...this.newPartitionOps(topic.topicId, topic.partitionCount, partitionCount, leaders)] };
    });
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const topicKey = this.keys.topic(name);
    await this.writeLoop('setTopicConfigs', this.keyReads([getOp(topicKey)],
      ([range]) => versionedOf(range, decodeTopic)), (view) => {
      if (view.value === null) throw new UnknownTopicError(`unknown topic ${name}`);
      const topic = { ...view.value, configs: { ...configs } };
      return { compare: [modEquals(topicKey, view.modRevision)],
        success: [putOp(topicKey, encodeTopic(topic))], result: undefined };
    });
  }

  // Partition state

  async getPartitionStates(topicId: string): Promise<PartitionState[]> {
    const topic = this.cache.topicById(topicId);
    const states = this.cache.partitions(topicId);
    if (topic !== null && states.length === topic.partitionCount) {
      return states.map((s) => ({ ...s }));
    }
    // Not (fully) in the cache: created by another broker a moment ago, or the watch has
    // delivered the topic but not yet its partitions. etcd answers.
    return this.readPartitionStates(topicId);
  }

  async setPartitionLeader(topicId: string, partition: number, leaderId: number,
    expectedEpoch?: number): Promise<PartitionState> {
    assert.ok(Number.isSafeInteger(leaderId) && leaderId >= -1, `leaderId ${leaderId}`);
    const key = this.keys.partition(topicId, partition);
    const source = this.keyReads([getOp(key)],
      ([range]) => versionedOf(range, decodePartitionState));
    return this.writeLoop('setPartitionLeader', source, (view) => {
      const current = view.value;
      if (current === null) throw unknownPartition(topicId, partition);
      if (expectedEpoch !== undefined && current.leaderEpoch !== expectedEpoch) {
        throw new FencedError(topicId, partition, expectedEpoch, current.leaderEpoch);
      }
      const next = afterLeaderSet(current, leaderId);
      return { compare: [modEquals(key, view.modRevision)],
        success: [putOp(key, encodePartitionState(next))], result: next };
    }, this.cache.partition(topicId, partition));
  }

  async completeRecovery(topicId: string, partition: number, epoch: number): Promise<void> {
    await this.writeLeadership('completeRecovery', topicId, partition, epoch,
      (current) => current.recoverFrom === -1 ? null : { ...current, recoverFrom: -1 });
  }

  async releasePartition(topicId: string, partition: number, epoch: number,
    toLeaderId: number): Promise<PartitionState> {
    assert.ok(Number.isSafeInteger(toLeaderId) && toLeaderId >= -1, `toLeaderId ${toLeaderId}`);
    return this.writeLeadership('releasePartition', topicId, partition, epoch,
      (current) => afterRelease(current, toLeaderId));
  }

  /**
   * Moves the log start and deletes the entries wholly below it. A move over more entries than
   * one txn can release is done in steps, each its own txn moving the log start part of the way
   * (every intermediate state is one retention could have produced).
   */
  async advanceLogStartOffset(topicId: string, partition: number, offset: number):
    Promise<string[]> {
    assertOffset(offset, 'log start offset');
    const deadObjectKeys: string[] = [];
    for (;;) {
      const step = await this.writeLoop('advanceLogStartOffset', {
        read: () => this.readRetentionView(topicId, partition, offset),
      }, (view) => this.planRetentionStep(topicId, partition, offset, view));
      deadObjectKeys.push(...step.deadObjectKeys);
      if (step.done) return deadObjectKeys.sort();
    }
  }

  // Segment index

  /** One txn; see the file comment for its compares and ops. */
  async commitSegments(commit: SegmentCommit): Promise<void> {
    assertCommitShape(commit);
    const entries = sortedEntries(commit.entries);
    const partitions = [...commit.leaderEpochs.keys()].map(parsePartitionKey);
    const reads = [...partitions.map((p) => getOp(this.keys.partition(p.topicId, p.partition))),
      getOp(this.keys.object(commit.objectKey))];
    const decode = (ranges: IRangeResponse[]): CommitView => ({
      partitions: new Map(partitions.map((p, i) => [partitionKey(p.topicId, p.partition),
        versionedOf(ranges[i], decodePartitionState)])),
      object: versionedOf(ranges[partitions.length], decodeObject),
    });
    const guess: CommitView = { object: absent, partitions: new Map(partitions.map((p) =>
      [partitionKey(p.topicId, p.partition), this.cache.partition(p.topicId, p.partition) ??
        absent])) };
    await this.writeLoop('commitSegments', this.keyReads(reads, decode),
      (view) => this.planCommit(commit, entries, view), guess);
  }

  /** Entries whose lastOffset >= fromOffset: one ascending range from key(fromOffset). */
  async listSegments(topicId: string, partition: number, fromOffset: number, limit: number):
    Promise<SegmentEntry[]> {
    assertOffset(fromOffset, 'fromOffset');
    assert.ok(Number.isSafeInteger(limit) && limit > 0, `limit ${limit}`);
    const start = this.keys.segment(topicId, partition, fromOffset);
    const end = prefixEnd(this.keys.segmentsOfPartition(topicId, partition));
    const entries: SegmentEntry[] = [];
    for await (const page of this.rangePages(Buffer.from(start), end, { limit })) {
      for (const kv of page) entries.push(decodeSegment(keyOf(kv), kv.value));
    }
    return entries;
  }

  /** Walks the partition in offset order to the first match: timestamps are not monotonic. */
  async findSegmentByTimestamp(topicId: string, partition: number, timestampMs: number):
    Promise<SegmentEntry | null> {
    for await (const page of this.segmentPages(topicId, partition)) {
      for (const kv of page) {
        const entry = decodeSegment(keyOf(kv), kv.value);
        if (entry.maxTimestampMs >= timestampMs) return entry;
      }
    }
    return null;
  }

  async partitionSizeBytes(topicId: string, partition: number): Promise<number> {
    let sizeBytes = 0;
    for await (const page of this.segmentPages(topicId, partition)) {
      for (const kv of page) sizeBytes += decodeSegment(keyOf(kv), kv.value).sizeBytes;
    }
    assert.ok(Number.isSafeInteger(sizeBytes));
    return sizeBytes;
  }

  async listReferencedObjects(): Promise<Set<string>> {
    const prefix = this.keys.objectsPrefix();
    const objectKeys = new Set<string>();
    for await (const page of this.rangePages(Buffer.from(prefix), prefixEnd(prefix),
      { keysOnly: true })) {
      for (const kv of page) objectKeys.add(this.keys.objectKeyOf(keyOf(kv)));
    }
    return objectKeys;
  }

  // Producers

  async allocateProducerId(): Promise<number> {
    while (this.producerIds.next >= this.producerIds.end) {
      this.producerIdRefill ??= this.refillProducerIds().finally(() => {
        this.producerIdRefill = null;
      });
      await this.producerIdRefill;
    }
    const producerId = this.producerIds.next++;
    assert.ok(Number.isSafeInteger(producerId) && producerId >= 0);
    return producerId;
  }

  async loadProducerStates(topicId: string, partition: number):
    Promise<ProducerPartitionState[]> {
    const response = await this.client.kv.range(
      { key: Buffer.from(this.keys.producers(topicId, partition)) });
    const [kv] = response.kvs;
    return kv === undefined ? [] : decodeProducerStates(kv.value);
  }

  // Consumer group offsets. A request larger than one txn is split into several: Kafka does not
  // promise that an OffsetCommit of many partitions is all-or-nothing either.

  async commitOffsets(groupId: string, offsets: CommittedOffset[]): Promise<void> {
    for (const o of offsets) assert.ok(Number.isSafeInteger(o.offset), `offset ${o.offset}`);
    await this.writeChunked(offsets.map((o) =>
      putOp(this.keys.offset(groupId, o.topic, o.partition), encodeOffset(o))));
  }

  async fetchOffsets(groupId: string): Promise<CommittedOffset[]> {
    const prefix = this.keys.offsetsOfGroup(groupId);
    const offsets: CommittedOffset[] = [];
    for await (const page of this.rangePages(Buffer.from(prefix), prefixEnd(prefix), {})) {
      for (const kv of page) {
        const { topic, partition } = this.keys.topicPartitionOfOffsetKey(keyOf(kv), groupId);
        offsets.push(decodeOffset(topic, partition, kv.value));
      }
    }
    // Percent-encoding changes byte order, so sort as the embedded engine's ORDER BY does.
    return offsets.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1
      : a.partition - b.partition);
  }

  async deleteOffsets(groupId: string, partitions: { topic: string; partition: number }[]):
    Promise<void> {
    await this.writeChunked(partitions.map((p) =>
      deleteOp(this.keys.offset(groupId, p.topic, p.partition))));
  }

  async deleteGroupOffsets(groupId: string): Promise<void> {
    await this.txn([], [deletePrefixOp(this.keys.offsetsOfGroup(groupId))], []);
  }

  /** Skip-scans `offsets/`: one page per up to rangePageKeysMax keys, jumping past each group
   *  found, so a group with many offsets costs one key read, not all of them. */
  async listOffsetGroups(): Promise<string[]> {
    const prefix = this.keys.offsetsPrefix();
    const end = prefixEnd(prefix);
    const groups = new Set<string>();
    let from: Buffer = Buffer.from(prefix);
    for (;;) {
      const response = await this.client.kv.range({ key: from, range_end: end, keys_only: true,
        limit: etcdCoordinatorLimits.rangePageKeysMax });
      for (const kv of response.kvs) groups.add(this.keys.groupOfOffsetKey(keyOf(kv)));
      const last = response.kvs.at(-1);
      if (!response.more || last === undefined) break;
      from = prefixEnd(this.keys.offsetsOfGroup(this.keys.groupOfOffsetKey(keyOf(last))));
    }
    return [...groups].sort();
  }

  // Test hooks: the watch's failure paths are hard to provoke from outside.

  /**
   * Cache reloads after a watch failure, the newest revision the cache has seen, whether the
   * watch is up, and transactions that lost a compare (each retried): for metrics and tests.
   */
  watchStatus(): { reloads: number; revision: number; watching: boolean; conflicts: number } {
    return { reloads: this.reloads, revision: this.watchedRevision,
      watching: this.watchers.length > 0 && this.reloading === null, conflicts: this.conflicts };
  }

  /** Cancels the live watches as etcd would: they end unasked, which must trigger a reload. */
  async cancelWatchForTesting(): Promise<void> {
    await Promise.all(this.watchers.map((watcher) => watcher.cancel()));
  }

  /** Stops watching without reloading; resumeWatchForTesting restarts from where it stopped. */
  async pauseWatchForTesting(): Promise<void> {
    this.watchGeneration++;
    await this.cancelWatchers();
  }

  /** Resumes the watch from the revision after the last one seen, as a reconnect does; if etcd
   *  compacted that revision meanwhile, the watch is refused and the cache reloads. */
  async resumeWatchForTesting(): Promise<void> {
    const generation = ++this.watchGeneration;
    try {
      await this.startWatchers(this.watchedRevision + 1, generation);
    } catch (error) {
      this.scheduleReload(error);
    }
  }

  // Writes: the optimistic loop and its plans

  /**
   * Runs `plan` on a view of what it needs until its transaction commits. A first view may be a
   * guess (from the cache): a plan that throws on a guess is re-planned on a fresh read, so
   * domain errors only come from etcd's values. A failed compare refreshes the view and retries.
   */
  private async writeLoop<V, R>(operation: string, source: ViewSource<V>,
    plan: (view: V) => TxnPlan<R>, guess: V | null = null): Promise<R> {
    let fresh = guess === null;
    let view: V = guess ?? await source.read();
    for (let attempt = 1; attempt <= etcdCoordinatorLimits.txnAttemptsMax; attempt++) {
      let txnPlan: TxnPlan<R>;
      try {
        txnPlan = plan(view);
      } catch (error) {
        if (fresh) throw error;
        [view, fresh] = [await source.read(), true];
        continue;
      }
      // Nothing to write: a fresh read is as good as a compare. A guess still needs the txn,
      // so that e.g. a replay by a fenced leader fails as a fenced commit would.
      if (txnPlan.success.length === 0 && fresh) return txnPlan.result;
      const response = await this.txn(txnPlan.compare, txnPlan.success,
        source.failureReads?.ops ?? []);
      if (response.succeeded) {
        this.applyOwnWrites(txnPlan.success, revisionOf(response.header));
        return txnPlan.result;
      }
      this.conflicts++;
      view = source.failureReads === undefined ? await source.read()
        : source.failureReads.decode(rangesOf(response));
      fresh = true;
      if (attempt > 1) await this.backoffAfterConflict(attempt);
    }
    throw new EtcdConflictError(operation, etcdCoordinatorLimits.txnAttemptsMax);
  }

  /** A view made of single-key reads, read in one round trip and re-read by a failed txn. */
  private keyReads<V>(ops: IRequestOp[], decode: (ranges: IRangeResponse[]) => V):
    ViewSource<V> {
    return {
      read: async () => decode(rangesOf(await this.txn([], ops, []))),
      failureReads: { ops, decode },
    };
  }

  private planCommit(commit: SegmentCommit, entries: SegmentEntry[], view: CommitView):
    TxnPlan<void> {
    const states = new Map<string, PartitionState>();
    const compare: ICompare[] = [];
    for (const [key, heldEpoch] of commit.leaderEpochs) {
      const { topicId, partition } = parsePartitionKey(key);
      const { value: state, modRevision } = view.partitions.get(key) ?? absent;
      if (state === null) throw unknownPartition(topicId, partition);
      if (state.leaderEpoch !== heldEpoch) {
        throw new FencedError(topicId, partition, heldEpoch, state.leaderEpoch);
      }
      states.set(key, state);
      compare.push(modEquals(this.keys.partition(topicId, partition), modRevision));
    }
    const plan = planIndexing(entries, states);
    const success: IRequestOp[] = [];
    if (plan.inserts.length > 0) {
      const objectKey = this.keys.object(commit.objectKey);
      const existing = view.object.value;
      compare.push(modEquals(objectKey, view.object.modRevision));
      success.push(putOp(objectKey, encodeObject({
        sizeBytes: existing?.sizeBytes ?? commit.objectSizeBytes,
        liveEntries: (existing?.liveEntries ?? 0) + plan.inserts.length,
        createdAtMs: existing?.createdAtMs ?? this.nowMs() })));
    }
    for (const entry of plan.inserts) {
      success.push(putOp(this.keys.segment(entry.topicId, entry.partition, entry.lastOffset),
        encodeSegment(entry)));
    }
    for (const [key, indexedEndOffset] of plan.endOffsets) {
      const state = states.get(key)!;
      success.push(putOp(this.keys.partition(state.topicId, state.partition),
        encodePartitionState({ ...state, indexedEndOffset })));
    }
    success.push(...this.producerStateOps(commit.producerStates, plan.replayedPartitions));
    return { compare, success, result: undefined };
  }

  /** Replaces each partition's producer list, except after a pure replay: its states are as of
   *  a range already indexed and would move the state backwards. */
  private producerStateOps(producerStates: Map<string, ProducerPartitionState[]>,
    replayedPartitions: Set<string>): IRequestOp[] {
    const ops: IRequestOp[] = [];
    for (const [key, states] of producerStates) {
      if (replayedPartitions.has(key)) continue;
      const { topicId, partition } = parsePartitionKey(key);
      const producersKey = this.keys.producers(topicId, partition);
      if (states.length === 0) {
        ops.push(deleteOp(producersKey));
        continue;
      }
      const value = encodeProducerStates(states);
      if (Buffer.byteLength(value) > etcdCoordinatorLimits.producerStatesBytesMax) {
        throw new RangeError(`producer states of ${key} take ${Buffer.byteLength(value)} bytes; ` +
          `the limit is ${etcdCoordinatorLimits.producerStatesBytesMax} (expire producers)`);
      }
      ops.push(putOp(producersKey, value));
    }
    return ops;
  }

  /** The partition, and at most one txn's worth of entries wholly below `offset` with their
   *  objects. Entries are keyed by last offset, so they are the range [partition, key(offset)). */
  private async readRetentionView(topicId: string, partition: number, offset: number):
    Promise<RetentionView> {
    const entriesMax = Math.min(this.txnOpsMax - 2, etcdCoordinatorLimits.rangePageKeysMax);
    const segmentsPrefix = this.keys.segmentsOfPartition(topicId, partition);
    const response = await this.txn([], [getOp(this.keys.partition(topicId, partition)),
      { request_range: { key: Buffer.from(segmentsPrefix), limit: entriesMax,
        range_end: Buffer.from(this.keys.segment(topicId, partition, offset)) } }], []);
    const [partitionRange, segmentRange] = rangesOf(response);
    assert.ok(segmentRange !== undefined);
    const entries = segmentRange.kvs.map((kv) => decodeSegment(keyOf(kv), kv.value));
    const objects = await this.readObjects(new Set(entries.map((e) => e.objectKey)));
    return { partition: versionedOf(partitionRange, decodePartitionState), entries,
      more: segmentRange.more, objects };
  }

  private planRetentionStep(topicId: string, partition: number, offset: number,
    view: RetentionView): TxnPlan<{ done: boolean; deadObjectKeys: string[] }> {
    const state = view.partition.value;
    if (state === null) throw unknownPartition(topicId, partition);
    if (offset <= state.logStartOffset) {
      return { compare: [], success: [], result: { done: true, deadObjectKeys: [] } };
    }
    const last = view.entries.at(-1);
    const target = view.more && last !== undefined ? last.lastOffset + 1 : offset;
    assert.ok(target > state.logStartOffset && target <= offset, 'retention moves forward');
    const partitionStateKey = this.keys.partition(topicId, partition);
    const compare = [modEquals(partitionStateKey, view.partition.modRevision)];
    for (const [objectKey, record] of view.objects) {
      compare.push(modEquals(this.keys.object(objectKey), record.modRevision));
    }
    const released = releaseEntries(view.entries, view.objects, (k) => this.keys.object(k));
    const success = [putOp(partitionStateKey,
      encodePartitionState({ ...state, logStartOffset: target })), ...released.ops];
    if (view.entries.length > 0) {
      success.push({ request_delete_range: {
        key: Buffer.from(this.keys.segmentsOfPartition(topicId, partition)),
        range_end: Buffer.from(this.keys.segment(topicId, partition, target)) } });
    }
    return { compare, success,
      result: { done: target === offset, deadObjectKeys: released.deadObjectKeys } };
  }

  /** Everything deleteTopic touches, read at one revision where it pages. */
  private async readTopicDeletionView(name: string): Promise<TopicDeletionView> {
    const response = await this.txn([], [getOp(this.keys.topic(name))], []);
    const { value: topic, modRevision: topicModRevision } =
      versionedOf(rangesOf(response)[0], decodeTopic);
    if (topic === null) throw new UnknownTopicError(`unknown topic ${name}`);
    const revision = revisionOf(response.header);
    const at = { revision };
    const partitions = (await this.rangeAll(this.keys.partitionsOfTopic(topic.topicId), at))
      .map((kv) => decodePartitionState(kv.value));
    const segmentsPrefix = this.keys.segmentsOfTopic(topic.topicId);
    const entryCount = Number((await this.client.kv.range({ key: Buffer.from(segmentsPrefix),
      range_end: prefixEnd(segmentsPrefix), count_only: true, revision })).count);
    const entries = entryCount > etcdCoordinatorLimits.deleteTopicEntriesReadMax ? []
      : (await this.rangeAll(segmentsPrefix, at)).map((kv) => decodeSegment(keyOf(kv), kv.value));
    const objects = await this.readObjects(new Set(entries.map((e) => e.objectKey)));
    // Offsets are keyed by group first, so the topic's are found by scanning every group's.
    const topicSegment = `/${encodeURIComponent(name)}/`;
    const offsetKeys = (await this.rangeAll(this.keys.offsetsPrefix(), { ...at, keysOnly: true }))
      .map(keyOf).filter((key) => key.slice(this.keys.offsetsPrefix().length).replace(/^[^/]*/,
        '').startsWith(topicSegment));
    return { topic, topicModRevision, revision, partitions, entryCount, entries, objects,
      offsetKeys };
  }

  /**
   * Compares: the topic key (createPartitions, configs, a delete and re-create all move it), no
   * partition state changed since the read (commits and retention move them, and with them the
   * entries), and every object whose count drops. Offset keys of the topic committed after the
   * read are not guarded: such a commit for a topic being deleted survives it, as an offset commit
   * racing a topic deletion can in Kafka.
   */
  private planTopicDeletion(view: TopicDeletionView): TxnPlan<string[]> {
    const { topic } = view;
    const compare = [modEquals(this.keys.topic(topic.name), view.topicModRevision),
      unchangedSince(this.keys.partitionsOfTopic(topic.topicId), view.revision)];
    for (const [objectKey, record] of view.objects) {
      compare.push(modEquals(this.keys.object(objectKey), record.modRevision));
    }
    const released = releaseEntries(view.entries, view.objects, (k) => this.keys.object(k));
    const success = [deleteOp(this.keys.topic(topic.name)),
      deleteOp(this.keys.topicId(topic.topicId)),
      deletePrefixOp(this.keys.partitionsOfTopic(topic.topicId)),
      deletePrefixOp(this.keys.segmentsOfTopic(topic.topicId)),
      deletePrefixOp(this.keys.producersOfTopic(topic.topicId)),
      ...released.ops, ...view.offsetKeys.map(deleteOp)];
    return { compare, success, result: released.deadObjectKeys };
  }

  /** Empties every partition through retention and drops the topic's offsets in chunks. */
  private async trimTopicForDeletion(view: TopicDeletionView): Promise<string[]> {
    const deadObjectKeys: string[] = [];
    for (const state of view.partitions) {
      const offset = Math.max(state.indexedEndOffset, state.logStartOffset);
      deadObjectKeys.push(...await this.advanceLogStartOffset(state.topicId, state.partition,
        offset));
    }
    await this.writeChunked(view.offsetKeys.map(deleteOp));
    return deadObjectKeys;
  }

  private async refillProducerIds(): Promise<void> {
    const key = this.keys.producerIdNext();
    const block = await this.writeLoop('allocateProducerId', this.keyReads([getOp(key)],
      ([range]) => versionedOf(range, decodeCounter)), (view) => {
      const next = view.value ?? 0;
      return { compare: [modEquals(key, view.modRevision)],
        success: [putOp(key, encodeCounter(next + this.producerIdsPerBlock))],
        result: { next, end: next + this.producerIdsPerBlock } };
    });
    assert.ok(block.next >= this.producerIds.end, 'blocks only move up');
    this.producerIds = block;
  }

  private newPartitionOps(topicId: string, fromPartition: number, toPartition: number,
    leaders: NewPartitionLeaders): IRequestOp[] {
    assert.ok(fromPartition < toPartition, 'at least one partition is created');
    const leaderIds = newPartitionLeaders(leaders, toPartition - fromPartition);
    const ops: IRequestOp[] = [];
    for (let partition = fromPartition; partition < toPartition; partition++) {
      ops.push(putOp(this.keys.partition(topicId, partition), encodePartitionState({ topicId,
        partition, leaderId: leaderIds[partition - fromPartition]!, leaderEpoch: 0, logStartOffset: 0, indexedEndOffset: 0,
        recoverFrom: -1 })));
    }
    return ops;
  }

  /**
   * A leadership change fenced by `epoch`, as one compare-and-set of the partition key. `change`
   * returns the next state, or null when there is nothing to write (a repeat).
   */
  private async writeLeadership(operation: string, topicId: string, partition: number,
    epoch: number, change: (current: PartitionState) => PartitionState | null):
    Promise<PartitionState> {
    const key = this.keys.partition(topicId, partition);
    const source = this.keyReads([getOp(key)],
      ([range]) => versionedOf(range, decodePartitionState));
    return this.writeLoop(operation, source, (view) => {
      const current = view.value;
      if (current === null) throw unknownPartition(topicId, partition);
      if (current.leaderEpoch !== epoch) {
        throw new FencedError(topicId, partition, epoch, current.leaderEpoch);
      }
      const next = change(current);
      // A repeat still compares: on a cached guess, the txn proves the epoch has not moved.
      const compare = [modEquals(key, view.modRevision)];
      if (next === null) return { compare, success: [], result: current };
      return { compare, success: [putOp(key, encodePartitionState(next))], result: next };
    }, this.cache.partition(topicId, partition));
  }

  /** Unguarded single-key writes (offsets) in as few txns as txnOpsMax allows. */
  private async writeChunked(ops: IRequestOp[]): Promise<void> {
    for (let i = 0; i < ops.length; i += this.txnOpsMax) {
      await this.txn([], ops.slice(i, i + this.txnOpsMax), []);
    }
  }

  private async txn(compare: ICompare[], success: IRequestOp[], failure: IRequestOp[]):
    Promise<ITxnResponse> {
    const largest = Math.max(compare.length, success.length, failure.length);
    if (largest > this.txnOpsMax) {
      throw new EtcdTxnTooLargeError(`a transaction needs ${largest} ops in one branch; ` +
        `txnOpsMax is ${this.txnOpsMax} (raise it with etcd's --max-txn-ops, or commit fewer ` +
        'partitions per object)');
    }
    return this.client.kv.txn({ compare, success, failure });
  }

  private async backoffAfterConflict(attempt: number): Promise<void> {
    const ceilingMs = Math.min(etcdCoordinatorLimits.conflictBackoffMsMax, 2 ** attempt);
    await sleep(Math.random() * ceilingMs);
  }

  // Reads

  private async readPartitionStates(topicId: string): Promise<PartitionState[]> {
    const prefix = this.keys.partitionsOfTopic(topicId);
    const response = await this.txn([], [getOp(this.keys.topicId(topicId)),
      { request_range: { key: Buffer.from(prefix), range_end: prefixEnd(prefix) } }], []);
    const [idRange, partitionRange] = rangesOf(response);
    if (idRange?.kvs.length !== 1) throw new UnknownTopicError(`unknown topic id ${topicId}`);
    const states = (partitionRange?.kvs ?? []).map((kv) => decodePartitionState(kv.value));
    assert.ok(states.length > 0, 'a topic has partitions');
    return states;
  }

  private async readObjects(objectKeys: Set<string>):
    Promise<Map<string, Versioned<ObjectRecord>>> {
    const keys = [...objectKeys];
    const objects = new Map<string, Versioned<ObjectRecord>>();
    for (let i = 0; i < keys.length; i += this.txnOpsMax) {
      const chunk = keys.slice(i, i + this.txnOpsMax);
      const response = await this.txn([], chunk.map((k) => getOp(this.keys.object(k))), []);
      rangesOf(response).forEach((range, j) =>
        objects.set(chunk[j]!, versionedOf(range, decodeObject)));
    }
    return objects;
  }

  private segmentPages(topicId: string, partition: number): AsyncGenerator<IKeyValue[]> {
    const prefix = this.keys.segmentsOfPartition(topicId, partition);
    return this.rangePages(Buffer.from(prefix), prefixEnd(prefix), {});
  }

  private async rangeAll(prefix: string, options: { revision?: number; keysOnly?: boolean }):
    Promise<IKeyValue[]> {
    const kvs: IKeyValue[] = [];
    for await (const page of this.rangePages(Buffer.from(prefix), prefixEnd(prefix), options)) {
      kvs.push(...page);
    }
    return kvs;
  }

  /**
   * Keys in [start, end) in pages of rangePageKeysMax, at most `limit` in all. Every page after
   * the first reads at the first page's revision, so the pages form one snapshot.
   */
  private async *rangePages(start: Buffer, end: Buffer,
    options: { revision?: number; keysOnly?: boolean; limit?: number }):
    AsyncGenerator<IKeyValue[]> {
    let remaining = options.limit ?? Number.MAX_SAFE_INTEGER;
    let revision = options.revision ?? 0;
    let from: Buffer = start;
    while (remaining > 0) {
      const limit = Math.min(remaining, etcdCoordinatorLimits.rangePageKeysMax);
      const response = await this.client.kv.range({ key: from, range_end: end, limit,
        keys_only: options.keysOnly ?? false, ...(revision > 0 ? { revision } : {}) });
      if (revision === 0) revision = revisionOf(response.header);
      remaining -= response.kvs.length;
      yield response.kvs;
      const last = response.kvs.at(-1);
      if (!response.more || last === undefined) return;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  // The cache: cluster id, load, watch, reload

  private async ensureClusterId(): Promise<string> {
    const key = this.keys.clusterId();
    const candidate = newKafkaUuid();
    const response = await this.txn([doesNotExist(key)], [putOp(key, candidate)], [getOp(key)]);
    const clusterId = response.succeeded ? candidate
      : rangesOf(response)[0]?.kvs[0]?.value.toString('utf8');
    assert.ok(clusterId !== undefined && clusterId.length === 22, 'cluster id is a Kafka Uuid');
    return clusterId;
  }

  /** Range-reads topics and partitions at one revision, then watches both from the next one. */
  private async load(): Promise<void> {
    const generation = ++this.watchGeneration;
    await this.cancelWatchers();
    const topicsPrefix = this.keys.topicsPrefix();
    const first = await this.client.kv.range({ key: Buffer.from(topicsPrefix), count_only: true,
      range_end: prefixEnd(topicsPrefix) });
    const revision = revisionOf(first.header);
    const kvs = [...await this.rangeAll(topicsPrefix, { revision }),
      ...await this.rangeAll(this.keys.partitionsPrefix(), { revision })];
    if (generation !== this.watchGeneration || this.closed) return;
    this.emit(this.cache.replace(kvs, revision));
    this.watchedRevision = Math.max(this.watchedRevision, revision);
    await this.startWatchers(revision + 1, generation);
  }

  private async startWatchers(fromRevision: number, generation: number): Promise<void> {
    const watchers: Watcher[] = [];
    try {
      for (const prefix of [this.keys.topicsPrefix(), this.keys.partitionsPrefix()]) {
        const watcher = await this.client.watch().prefix(prefix)
          .startRevision(String(fromRevision)).create();
        watchers.push(watcher);
        this.watchers.push(watcher);
        this.handleWatcher(watcher, generation);
      }
    } catch (error) {
      await this.cancelWatchers();
      throw error;
    }
    if (generation !== this.watchGeneration || this.closed) await this.cancelWatchers();
  }

  private handleWatcher(watcher: Watcher, generation: number): void {
    const live = (): boolean => generation === this.watchGeneration && !this.closed;
    watcher.on('data', (response) => {
      if (!live()) return;
      try {
        for (const event of response.events) {
          const modRevision = revisionOf({ revision: event.kv.mod_revision });
          this.applyChange(keyOf(event.kv), modRevision,
            event.type === 'Delete' ? null : event.kv.value);
        }
        this.watchedRevision = Math.max(this.watchedRevision, revisionOf(response.header));
      } catch (error) {
        this.scheduleReload(error);
      }
    });
    // An ended watcher must leave `watchers`: cancelling it again would wait for an answer etcd
    // never sends (it no longer knows the watch id).
    const forget = (): void => {
      this.watchers = this.watchers.filter((w) => w !== watcher);
    };
    watcher.on('error', (error) => {
      forget();
      if (live()) this.scheduleReload(error);
    });
    watcher.on('end', () => {
      forget();
      if (live()) this.scheduleReload(new Error('watch ended unasked'));
    });
  }

  private scheduleReload(reason: unknown): void {
    if (this.closed) return;
    this.log('metadata watch failed; reloading the topic cache', reason);
    if (this.reloading !== null) {
      this.reloadAgain = true;
      return;
    }
    this.watchGeneration++; // from now on, the failed watchers' events are ignored
    this.reloads++;
    this.reloading = this.reloadUntilDone().finally(() => {
      this.reloading = null;
    });
  }

  private async reloadUntilDone(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.reloadAgain = false;
        await this.load();
        if (!this.reloadAgain) return;
      } catch (error) {
        if (this.closed) return;
        this.log('metadata cache reload failed; retrying', error);
        await sleep(Math.min(etcdCoordinatorLimits.reloadBackoffMsMax, 100 * 2 ** attempt));
      }
    }
  }

  /** Cancels the watchers, waiting for etcd's confirmation at most watchCancelMsMax: a watch
   *  stream that is down cannot confirm, and its watchers are dropped with it anyway. */
  private async cancelWatchers(): Promise<void> {
    const watchers = this.watchers;
    this.watchers = [];
    await Promise.allSettled(watchers.map((watcher) => Promise.race([watcher.cancel(),
      sleep(etcdCoordinatorLimits.watchCancelMsMax)])));
  }

  /** Applies this instance's committed ops to the cache at the txn's revision. */
  private applyOwnWrites(ops: IRequestOp[], revision: number): void {
    for (const op of ops) {
      if (op.request_put?.key !== undefined) {
        this.applyChange(op.request_put.key.toString('utf8'), revision,
          op.request_put.value ?? Buffer.alloc(0));
      }
      const deletion = op.request_delete_range;
      if (deletion?.key === undefined) continue;
      const keys = deletion.range_end === undefined ? [deletion.key.toString('utf8')]
        : this.cache.liveKeysIn(deletion.key, deletion.range_end);
      for (const key of keys) this.applyChange(key, revision, null);
    }
  }

  private applyChange(key: string, modRevision: number, value: Buffer | null): void {
    const change = this.cache.apply(key, modRevision, value);
    if (change !== null) this.emit([change]);
  }

  private emit(changes: CoordinatorChange[]): void {
    for (const change of changes) {
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (error) {
          this.log('metadata change listener threw', error);
        }
      }
    }
  }
}
