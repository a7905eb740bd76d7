/**
 * The records the metadata stores (stores.ts) keep, and the errors they answer with: topics and
 * their configs, partition state (leader, epoch, log start), the segment index that says which
 * object holds which offsets, committed group offsets, and producer state.
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
  /**
   * Only on the partition's reserved entry (producerId -1, src/partition/txn-index.ts): the
   * transactions open as of the snapshot's end, the aborted ones read_committed must skip, and
   * the coordinator epoch of each producer's last marker (a marker resent is not written twice).
   */
  txnIndex?: { open: [producerId: number, firstOffset: number][];
    aborted: [producerId: number, firstOffset: number, lastOffset: number][];
    markers: [producerId: number, coordinatorEpoch: number][] };
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

/** The SCRAM mechanisms a credential may be for. */
export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** A user's SCRAM credential (RFC 5802): what proves a password without holding it. */
export interface ScramCredential {
  user: string;
  mechanism: ScramMechanism;
  salt: Buffer;
  iterations: number;
  /** H(HMAC(SaltedPassword, "Client Key")). */
  storedKey: Buffer;
  /** HMAC(SaltedPassword, "Server Key"). */
  serverKey: Buffer;
}

/** Where a transaction is in Kafka's coordinator state machine (TransactionState.scala). */
export type TransactionStateName =
  | 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort'
  | 'PrepareEpochFence';

/**
 * One transactional id's coordinator state. `version` is the store's compare-and-set counter:
 * every write must name the version it read, so a coordinator that lost the id to another
 * broker (membership moved it) cannot overwrite its successor's decisions.
 */
export interface TransactionRecord {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TransactionStateName;
  /** Partitions written in the current transaction, sorted by topic then partition. */
  partitions: { topic: string; partition: number }[];
  /** Offsets committed in the transaction (TxnOffsetCommit), stored on commit, dropped on abort. */
  pendingOffsets: { groupId: string; offsets: CommittedOffset[] }[];
  /** When the current transaction began (its first AddPartitions/AddOffsets), -1 when none. */
  txnStartMs: number;
  updatedAtMs: number;
  version: number;
}

/** A compare-and-set on a transaction record lost: someone else wrote it since it was read. */
export class TransactionConflictError extends Error {
  override readonly name = 'TransactionConflictError';
  constructor(readonly transactionalId: string, readonly expectedVersion: number,
    readonly storedVersion: number) {
    super(`transaction ${transactionalId}: expected version ${expectedVersion}, `
      + `stored ${storedVersion}`);
  }
}
