/**
 * The metadata stores: the one durable home of everything a broker must not keep alone, as a few
 * narrow interfaces, one per domain, instead of one wide coordinator. A new domain (transactions,
 * ACLs, credentials, group state) is a new store here, with its own contract suite
 * (test/metadata/contract/) and one file per engine.
 *
 * Two engines implement every store: sqlite/ (SQLite in the data folder, the single-node
 * default) and etcd/ (cluster mode). The rules every engine must apply the same way (fencing,
 * object refcounts, leadership transitions, what a valid segment commit is) live in rules.ts;
 * the engines do I/O. Every method is a single atomic change; a method that touches several
 * domains (deleting a topic drops its partitions, index entries and offsets; a segment commit
 * moves partition states and producer states) is still one transaction of its engine.
 *
 * Offsets are `number`: JavaScript numbers are exact to 2^53, which at a million records a second
 * lasts 285 years; the wire codec's bigint values are converted at the edge with a range check.
 */
import type {
  CommittedOffset,
  NewPartitionLeaders,
  PartitionState,
  ProducerPartitionState,
  ScramCredential,
  ScramMechanism,
  SegmentCommit,
  SegmentEntry,
  TopicRecord,
  TransactionRecord,
} from './records.js';
import type { ClientQuotaRecord, QuotaEntity } from './client-quotas.js';
import type { AclBinding, AclBindingFilter } from '../security/acl.js';

/** Topics, their partition counts and config overrides. */
export interface TopicCatalog {
  /** Every topic, sorted by name. */
  list(): Promise<TopicRecord[]>;
  get(name: string): Promise<TopicRecord | null>;
  getById(topicId: string): Promise<TopicRecord | null>;
  /** The topic as the store holds it at this instant (get may answer from a cache that a
   *  watch keeps a few milliseconds behind other brokers' writes). */
  read(name: string): Promise<TopicRecord | null>;
  /** Creates the topic and its partition states atomically, led by `leaders` (one broker for
   *  all, or one per partition); throws TopicExistsError. */
  create(topic: TopicRecord, leaders: NewPartitionLeaders): Promise<void>;
  /** Deletes topic, partition states, segment entries, producer states and committed offsets of
   *  it. Returns the object keys that no longer hold any live data (for the caller to delete). */
  delete(name: string): Promise<string[]>;
  /** Raises the partition count; new partitions start empty, led by `leaders` (one broker for
   *  all, or one per new partition, in partition order). */
  createPartitions(name: string, partitionCount: number, leaders: NewPartitionLeaders):
    Promise<void>;
  /** Replaces the topic's config overrides. */
  setConfigs(name: string, configs: Record<string, string>): Promise<void>;
}

/** Who leads each partition, at which epoch, and whose WAL a new leader must replay first. The
 *  transitions are the table in rules.ts. */
export interface PartitionLeadership {
  /** Every partition of the topic, by partition; UnknownTopicError for an unknown id. */
  states(topicId: string): Promise<PartitionState[]>;
  /**
   * Sets leader and bumps the leader epoch; returns the new state. With `expectedEpoch`, it is a
   * compare-and-set: it fails with FencedError (heldEpoch = expectedEpoch) and changes nothing if
   * the current epoch differs, so two controllers electing at once cannot both win. This is the
   * move of a partition WITHOUT its leader's consent (the leader died): see rules.ts for what
   * happens to `recoverFrom`.
   */
  setLeader(topicId: string, partition: number, leaderId: number, expectedEpoch?: number):
    Promise<PartitionState>;
  /**
   * The leader at `epoch` has replayed the WAL of `recoverFrom` into object storage: sets
   * `recoverFrom` to -1 without bumping the epoch. FencedError (changing nothing) if the epoch
   * moved on: a leader that lost the partition mid-recovery must not clear its successor's duty.
   * Returns the state after (the same on a repeat).
   */
  completeRecovery(topicId: string, partition: number, epoch: number): Promise<PartitionState>;
  /**
   * A LIVE leader at `epoch` hands the partition to `toLeaderId` (-1: to nobody, for the
   * controller to place) after uploading and committing everything it acknowledged: bumps the
   * epoch, sets the leader, and leaves nothing to recover from the releasing broker. FencedError
   * (changing nothing) if the epoch moved on. A pending recovery of a third broker's WAL is kept.
   */
  release(topicId: string, partition: number, epoch: number, toLeaderId: number):
    Promise<PartitionState>;
}

/** Which object holds which offsets of each partition, and which objects hold live data. */
export interface SegmentIndex {
  /** One transaction: fence by the held epochs, index the entries, record the object, replace
   *  producer states. See rules.ts (planIndexing) for replays and dead-on-arrival entries. */
  commit(commit: SegmentCommit): Promise<void>;
  /** Entries whose lastOffset >= fromOffset, ascending, at most `limit`. */
  list(topicId: string, partition: number, fromOffset: number, limit: number):
    Promise<SegmentEntry[]>;
  /** First entry with maxTimestampMs >= timestampMs, or null. */
  findByTimestamp(topicId: string, partition: number, timestampMs: number):
    Promise<SegmentEntry | null>;
  /** Total bytes of the partition's entries, for retention by size. */
  partitionSizeBytes(topicId: string, partition: number): Promise<number>;
  /** Every object key the index references, for orphan collection. */
  referencedObjects(): Promise<Set<string>>;
  /** Advances the log start offset (never backwards) and drops entries wholly below it. Returns
   *  object keys that no longer hold any live data. */
  advanceLogStart(topicId: string, partition: number, offset: number): Promise<string[]>;
}

/** Producer ids, and each partition's idempotent-producer state (written by SegmentIndex.commit
 *  with the range it is the state as of). */
export interface ProducerIds {
  /** A new producer id, unique forever in this cluster. */
  allocate(): Promise<number>;
  loadStates(topicId: string, partition: number): Promise<ProducerPartitionState[]>;
}

/** Committed consumer group offsets, keyed by group, topic name and partition. */
export interface GroupOffsets {
  commit(groupId: string, offsets: CommittedOffset[]): Promise<void>;
  /** The group's offsets, sorted by topic and partition. */
  fetch(groupId: string): Promise<CommittedOffset[]>;
  delete(groupId: string, partitions: { topic: string; partition: number }[]): Promise<void>;
  /** Deletes all committed offsets of the group. */
  deleteGroup(groupId: string): Promise<void>;
  /** Groups that have committed offsets (ListGroups shows them even when empty), sorted. */
  listGroups(): Promise<string[]>;
}

/** Client quotas (Kafka's producer_byte_rate, consumer_byte_rate, request_percentage, …) per
 *  quota entity. Rarely written, read whole: each broker keeps the table in memory through
 *  `watch`. The rules on entities and keys are in client-quotas.ts. */
export interface ClientQuotaStore {
  /** Every entity that has at least one value, sorted by entity key. */
  list(): Promise<ClientQuotaRecord[]>;
  /** Sets and removes values of one entity in one atomic change; an entity left without values
   *  is deleted. A key may not be both set and removed; set values are finite and > 0. */
  alter(entity: QuotaEntity, set: Readonly<Record<string, number>>, remove: readonly string[]):
    Promise<void>;
  /** Hands `listener` the whole table now, then after every change (own and, in a cluster,
   *  other brokers'). Resolves once the first table was handed over; the returned function
   *  stops the deliveries. */
  watch(listener: (records: ClientQuotaRecord[]) => void): Promise<() => Promise<void>>;
}

/** Users' SCRAM credentials (AlterUserScramCredentials writes them; SCRAM and PLAIN logins read
 *  them). Every broker of a cluster reads the same ones, straight from the store. */
export interface ScramCredentials {
  get(user: string, mechanism: ScramMechanism): Promise<ScramCredential | null>;
  /** The credentials of these users (every user when null), sorted by user, then mechanism. */
  list(users: readonly string[] | null): Promise<ScramCredential[]>;
  /** Upserts and deletes (deleting a missing credential is no error). */
  alter(upserts: readonly ScramCredential[],
    deletions: readonly { user: string; mechanism: ScramMechanism }[]): Promise<void>;
}

/**
 * ACL bindings (src/security/acl.ts). The authorizer asks on every request, so reads are from
 * memory: the SQLite engine holds what it wrote; the etcd engine keeps a copy a watch refreshes,
 * so another broker's change shows up within the watch's delay. A binding is stored once however
 * often it is created.
 */
export interface AclStore {
  /** Every binding, as this broker knows them now. */
  bindings(): readonly AclBinding[];
  /** Stores the bindings (each must pass invalidAclReason); one atomic change. */
  create(bindings: AclBinding[]): Promise<void>;
  /** Removes what each filter matches; returns, per filter, the bindings it removed (a binding
   *  two filters match is reported under both). Decided on the store's values, not the copy. */
  delete(filters: AclBindingFilter[]): Promise<AclBinding[][]>;
  /** Calls `listener` after every change of bindings() (own and, in a cluster, others'). */
  onChange(listener: () => void): () => void;
}

/**
 * The transaction coordinator's state, one record per transactional id. Every write is a
 * compare-and-set on the record's version (TransactionConflictError, changing nothing, when the
 * stored version differs; expectedVersion 0: the id must not exist yet).
 */
export interface TransactionStates {
  get(transactionalId: string): Promise<TransactionRecord | null>;
  /** Stores `record` as version expectedVersion + 1 and returns what was stored. */
  put(record: Omit<TransactionRecord, 'version'>,
    expectedVersion: number): Promise<TransactionRecord>;
  delete(transactionalId: string, expectedVersion: number): Promise<void>;
  /** Every record, sorted by transactional id. */
  list(): Promise<TransactionRecord[]>;
}

/** Every store of one engine, opened together over one database or etcd prefix. */
export interface Metadata {
  clusterId(): string;
  readonly topics: TopicCatalog;
  readonly leadership: PartitionLeadership;
  readonly segments: SegmentIndex;
  readonly producers: ProducerIds;
  readonly offsets: GroupOffsets;
  readonly quotas: ClientQuotaStore;
  readonly scramCredentials: ScramCredentials;
  readonly acls: AclStore;
  readonly transactions: TransactionStates;
  close(): Promise<void>;
}
