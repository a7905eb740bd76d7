/**
 * The metadata coordinator: the one durable home of everything a broker must not keep alone —
 * topics and their configs, partition state (leader, epoch, log start), the segment index that
 * says which object holds which offsets, committed group offsets, and producer state.
 *
 * Two implementations satisfy it: `embedded.ts` (SQLite in the data folder, the single-node
 * default) and `etcd.ts` (cluster mode). Every method is a single atomic change; methods that
 * touch several partitions (`commitSegments`) are one transaction, so one upload costs one commit.
 *
 * Offsets are `number`: JavaScript numbers are exact to 2^53, which at a million records a second
 * lasts 285 years; the wire codec's bigint values are converted at the edge with a range check.
 */

export interface TopicRecord {
  name: string;
  /** base64url UUID, as Kafka's Uuid.toString() prints it */
  topicId: string;
  partitionCount: number;
  /** Topic-level config overrides only (defaults are applied by the broker). */
  configs: Record<string, string>;
  createdAtMs: number;
}

export interface PartitionState {
  topicId: string;
  partition: number;
  /** Broker id of the leader, -1 if none. */
  leaderId: number;
  /** Bumped on every leadership change; fences writes of former leaders. */
  leaderEpoch: number;
  /** Offsets below this are deleted (retention, DeleteRecords). */
  logStartOffset: number;
  /** One past the last offset recorded in the segment index (0 for an empty partition). */
  indexedEndOffset: number;
  /**
   * The broker whose WAL may still hold entries of this partition beyond the index, which the
   * leader must replay into object storage before it serves; -1 when there is nothing to recover.
   * Set when leadership moves away from a broker without its consent (it died), kept across
   * further moves until a leader calls completeRecovery: if the broker that took over dies
   * mid-replay, the next one must still replay the ORIGINAL broker's WAL.
   */
  recoverFrom: number;
}

/** Where one partition's contiguous range of batches sits inside one object. */
export interface SegmentEntry {
  topicId: string;
  partition: number;
  /** First offset of the first batch in the range. */
  baseOffset: number;
  /** Last offset of the last batch in the range (inclusive). */
  lastOffset: number;
  objectKey: string;
  /** Byte position of the range inside the object. */
  position: number;
  sizeBytes: number;
  /** Largest record timestamp in the range (for retention and ListOffsets by time). */
  maxTimestampMs: number;
  /** Leader epoch that wrote the range (for OffsetForLeaderEpoch). */
  leaderEpoch: number;
}

/** Idempotent-producer state of one producer on one partition. */
export interface ProducerPartitionState {
  producerId: number;
  producerEpoch: number;
  /** Sequence numbers and offsets of the last few batches, oldest first (Kafka keeps 5). */
  recentBatches: { firstSequence: number; lastSequence: number; baseOffset: number;
    lastOffset: number }[];
  lastTimestampMs: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
}

/** A commit of one uploaded object: index entries for many partitions, in one transaction. */
export interface SegmentCommit {
  objectKey: string;
  objectSizeBytes: number;
  entries: SegmentEntry[];
  /** Producer state as of the end of each partition's range, keyed `${topicId}:${partition}`. */
  producerStates: Map<string, ProducerPartitionState[]>;
  /**
   * The leader epoch the committing broker holds per partition, keyed `${topicId}:${partition}`.
   * The commit fails with FencedError if any partition's epoch has moved on.
   */
  leaderEpochs: Map<string, number>;
}

export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(readonly topicId: string, readonly partition: number, readonly heldEpoch: number,
    readonly currentEpoch: number) {
    super(`partition ${topicId}:${partition} epoch ${heldEpoch} fenced by ${currentEpoch}`);
  }
}

export class TopicExistsError extends Error {
  override readonly name = 'TopicExistsError';
}

export class UnknownTopicError extends Error {
  override readonly name = 'UnknownTopicError';
}

/** Who leads new partitions: one broker for all of them, or one per partition, in order. */
export type NewPartitionLeaders = number | readonly number[];

export interface MetadataCoordinator {
  clusterId(): string;

  // Topics
  listTopics(): Promise<TopicRecord[]>;
  getTopic(name: string): Promise<TopicRecord | null>;
  getTopicById(topicId: string): Promise<TopicRecord | null>;
  /** The topic as the store holds it at this instant (getTopic may answer from a cache that a
   *  watch keeps a few milliseconds behind other brokers' writes). */
  readTopic(name: string): Promise<TopicRecord | null>;
  /** Creates the topic and its partition states atomically, led by `leaders` (one broker for
   *  all, or one per partition); throws TopicExistsError. */
  createTopic(topic: TopicRecord, leaders: NewPartitionLeaders): Promise<void>;
  /** Deletes topic, partition states, segment entries, committed offsets of it. Returns the
   *  object keys that no longer hold any live data (for the caller to delete). */
  deleteTopic(name: string): Promise<string[]>;
  /** Raises the partition count; new partitions start empty, led by `leaders` (one broker for
   *  all, or one per new partition, in partition order). */
  createPartitions(name: string, partitionCount: number, leaders: NewPartitionLeaders):
    Promise<void>;
  /** Replaces the topic's config overrides. */
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<void>;

  // Partition state
  getPartitionStates(topicId: string): Promise<PartitionState[]>;
  /**
   * Sets leader and bumps the leader epoch; returns the new state. With `expectedEpoch`, it is a
   * compare-and-set: it fails with FencedError (heldEpoch = expectedEpoch) and changes nothing if
   * the current epoch differs, so two controllers electing at once cannot both win.
   *
   * This is the move of a partition WITHOUT its leader's consent (the leader died): when the
   * leader changes, `recoverFrom` becomes the old leader, or stays what it was if a recovery was
   * already pending (`old.recoverFrom !== -1 ? old.recoverFrom : old.leaderId`; -1 if there was
   * no leader). An unchanged leader only bumps the epoch and keeps `recoverFrom`.
   */
  setPartitionLeader(topicId: string, partition: number, leaderId: number,
    expectedEpoch?: number): Promise<PartitionState>;
  /**
   * The leader at `epoch` has replayed the WAL of `recoverFrom` into object storage: sets
   * `recoverFrom` to -1 without bumping the epoch. FencedError (changing nothing) if the epoch
   * moved on: a leader that lost the partition mid-recovery must not clear its successor's duty.
   */
  completeRecovery(topicId: string, partition: number, epoch: number): Promise<void>;
  /**
   * A LIVE leader at `epoch` hands the partition to `toLeaderId` (-1: to nobody, for the
   * controller to place) after uploading and committing everything it acknowledged, e.g. on a
   * graceful shutdown or a rebalancing handoff: bumps the epoch, sets the leader, and leaves
   * nothing to recover from the releasing broker. FencedError (changing nothing) if the epoch
   * moved on. A pending recovery of a third broker's WAL (a release before completeRecovery) is
   * kept: the releasing leader flushed its own WAL, not that one.
   */
  releasePartition(topicId: string, partition: number, epoch: number, toLeaderId: number):
    Promise<PartitionState>;
  /** Advances the log start offset (never backwards) and drops entries wholly below it. Returns
   *  object keys that no longer hold any live data. */
  advanceLogStartOffset(topicId: string, partition: number, offset: number): Promise<string[]>;

  // Segment index
  commitSegments(commit: SegmentCommit): Promise<void>;
  /** Entries whose lastOffset >= fromOffset, ascending, at most `limit`. */
  listSegments(topicId: string, partition: number, fromOffset: number, limit: number):
    Promise<SegmentEntry[]>;
  /** First entry with maxTimestampMs >= timestampMs, or null. */
  findSegmentByTimestamp(topicId: string, partition: number, timestampMs: number):
    Promise<SegmentEntry | null>;
  /** Total bytes and oldest entries, for retention by size and time. */
  partitionSizeBytes(topicId: string, partition: number): Promise<number>;
  /** Every object key the index references, for orphan collection. */
  listReferencedObjects(): Promise<Set<string>>;

  // Producers
  /** Allocates a new producer id, unique forever in this cluster. */
  allocateProducerId(): Promise<number>;
  loadProducerStates(topicId: string, partition: number): Promise<ProducerPartitionState[]>;

  // Consumer group offsets
  commitOffsets(groupId: string, offsets: CommittedOffset[]): Promise<void>;
  fetchOffsets(groupId: string): Promise<CommittedOffset[]>;
  deleteOffsets(groupId: string, partitions: { topic: string; partition: number }[]): Promise<void>;
  /** Deletes all committed offsets of the group. */
  deleteGroupOffsets(groupId: string): Promise<void>;
  /** Groups that have committed offsets (ListGroups shows them even when empty). */
  listOffsetGroups(): Promise<string[]>;

  close(): Promise<void>;
}

// Leadership transitions: the one rule every engine applies, so they cannot drift apart.
//
//   call                          leaderId      leaderEpoch  recoverFrom
//   setPartitionLeader, same id   unchanged     +1           unchanged
//   setPartitionLeader, new id    new           +1           old.recoverFrom if != -1,
//                                                            else old.leaderId (-1 if none)
//   releasePartition              toLeaderId    +1           old.recoverFrom (normally -1)
//   completeRecovery              unchanged     unchanged    -1

/** The state after setPartitionLeader (see the table above). */
export function afterLeaderSet(current: PartitionState, leaderId: number): PartitionState {
  if (leaderId === current.leaderId) {
    return { ...current, leaderEpoch: current.leaderEpoch + 1 };
  }
  const recoverFrom = current.recoverFrom !== -1 ? current.recoverFrom : current.leaderId;
  return { ...current, leaderId, leaderEpoch: current.leaderEpoch + 1, recoverFrom };
}

/** The state after releasePartition (see the table above). */
export function afterRelease(current: PartitionState, toLeaderId: number): PartitionState {
  return { ...current, leaderId: toLeaderId, leaderEpoch: current.leaderEpoch + 1 };
}
