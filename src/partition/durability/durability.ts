/**
 * Where a batch becomes durable, chosen once at start-up (the layout guide's "strategies, not
 * flags"). A produce is acknowledged only once its batch is durable, so this is the one place the
 * WAL modes differ:
 *
 *   local WAL (local-wal.ts)        durable once fsynced in this broker's WAL (walMode local or
 *                                   shared); uploaded later, then trimmed from the WAL.
 *   object upload (object-upload.ts) no local log: durable once the uploader has put the batch in
 *                                   object storage and committed its index entry (walMode object).
 *
 * A partition log submits each batch it gives offsets to and is told, by callback, when it is
 * durable or that it never will be; the uploader asks which batches it may take and trims what
 * object storage holds. Positions are WAL sequence numbers (LSNs) in the local-WAL strategy and
 * 0 for every batch in the object-upload one.
 */

/** A batch just given offsets by a partition log (its bytes are patched, and final). */
export interface SubmittedBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
}

/**
 * How a submission ends: exactly one of the two runs, once. They run synchronously from the
 * event that decides (an fsync's completion, an upload's commit, a fence), so the log's state has
 * moved on before any promise continuation sees it.
 */
export interface DurabilityCallbacks {
  durable(position: number): void;
  /** It will never be durable here (disk full, or the log was fenced before its upload). */
  failed(err: Error): void;
}

export interface SubmitReceipt {
  /** The batch's position if it may be uploaded at once, else -1 (known once durable). */
  position: number;
  /** A lower bound of its position, known now: how far the WAL may be trimmed before `position`. */
  positionFloor: number;
}

/** The durability of one partition log (one per log: a log at a newer epoch gets its own). */
export interface PartitionDurability {
  /** True while new batches would be refused (the WAL's disk is full): refuse before offsets. */
  readonly stalledNoSpace: boolean;
  submit(batch: SubmittedBatch, callbacks: DurabilityCallbacks): SubmitReceipt;
  /** Object storage holds the partition below `endOffset` (its segment commit succeeded). */
  uploaded(endOffset: number): void;
  /** The log will upload nothing more (fenced): submissions waiting on an upload fail. */
  abandon(err: Error): void;
}

export interface Durability {
  forPartition(topicId: string, partition: number): PartitionDurability;
  /** The uploader's cut: batches at positions up to this one may be uploaded now. */
  readonly uploadablePositionMax: number;
  /** True while a produce waits for an upload to be acknowledged: the uploader starts at once. */
  readonly awaitingUpload: boolean;
  /**
   * Drops what every partition has in object storage: positions below `keepFrom` (Infinity when
   * nothing is pending, and never past what is durable).
   */
  trim(keepFrom: number): Promise<void>;
}
