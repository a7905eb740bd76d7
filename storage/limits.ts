/**
 * Every storage limit in one place (TigerBeetle style), with the relations between them asserted
 * once at load time. Code that needs a limit takes it from here, or from an options object whose
 * defaults come from here and which is checked by the same assertions. The broker's own limits,
 * and its settings' defaults, are in src/limits.ts, which re-exports these (storage cannot import
 * from src/); protocol/ keeps only format facts (header sizes, codec bounds).
 *
 * Names carry their unit before the qualifier: `segmentBytesMax`, `flushIntervalMs`.
 */
import assert from 'node:assert/strict';

/** Byte units for every limits module (src/limits.ts re-exports them to the rest of src). */
export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Limits shared by every object store engine; each one is asserted where it is enforced. */
export const objectStoreLimits = Object.freeze({
  /** S3's own key limit; the local folder keeps the same so a key valid in one is valid in all. */
  keyBytesMax: 1024,
  /** Linux NAME_MAX: one key segment becomes one file or directory name in the local folder. */
  keySegmentBytesMax: 255,
  /** Whole objects are held in memory; segments are far smaller than this. */
  objectBytesMax: 256 * MiB,
  /** ListObjectsV2 returns at most 1000 keys a page. */
  listPageSizeMax: 1000,
  /** DeleteObjects accepts at most 1000 keys a request. */
  deleteBatchKeysMax: 1000,
  /** Bounds one deleteMany call so a caller bug cannot queue an unbounded amount of work. */
  deleteManyKeysMax: 100_000,
});

export const localFolderLimits = Object.freeze({
  /** A concurrent delete may prune the directory a put just made; the put then makes it again. */
  putAttemptsMax: 3,
  /** Buffers per writev call when a body is a list: Linux's IOV_MAX, the most it accepts. */
  writevBuffersMax: 1024,
});

/** What an S3 store uses when its config leaves a field out (the broker's settings default to these). */
export const s3StoreDefaults = Object.freeze({
  region: 'us-east-1',
  forcePathStyle: true,
  keyPrefix: '',
  /** One request, headers to last body byte; a 32 MiB PUT fits it down to ~1.1 MB/s. */
  requestTimeoutMs: 30_000,
  /** The SDK's attempts per request (5xx, throttling, timeouts), with its backoff. */
  maxAttempts: 5,
});

export const s3StoreLimits = Object.freeze({
  requestTimeoutMsMin: 50,
  requestTimeoutMsMax: 10 * 60_000,
  maxAttemptsMax: 10,
  /** Re-sends of a GET whose body broke mid-stream (the SDK retries only up to the headers). */
  bodyReadAttemptsMax: 3,
  /** Attempts of putIfAbsent when S3 answers 409 ConditionalRequestConflict. */
  conditionalAttemptsMax: 5,
  conditionalBackoffMsMax: 200,
  httpSocketsMax: 64,
});

/** Read-ahead bounds of the read cache (storage/cache/read-cache.ts), for the whole broker. */
export const readCacheLimits = Object.freeze({
  /**
   * Read-ahead GETs in flight per broker; more are dropped. The raw GET baseline (bench) gets
   * MinIO's best throughput with 16 GETs in flight, and a 16-partition catch-up needs one each.
   */
  prefetchesInFlightMax: 16,
  /**
   * Read-ahead bytes in flight per broker. Fetched ranges land in the cache (bounded by its
   * cacheBytesMax), but bytes still arriving are not counted there: this bounds them.
   */
  prefetchBytesInFlightMax: 64 * MiB,
  /**
   * Read-ahead ranges of one object this far apart or closer share one GET (the gap is read and
   * dropped). Partitions' pieces of one object are adjacent; a gap is another topic's piece.
   */
  prefetchGapBytesMax: 64 * 1024,
  /**
   * Largest GET coalesced from read-ahead ranges: a 16-partition catch-up reads ~1 MiB pieces of
   * objects of up to uploadObjectBytesMax, so about one GET per object, with several in flight.
   */
  prefetchGetBytesMax: 16 * MiB,
});

/** Limits of the segment object format (storage/segment/format.ts asserts its own relations). */
export const segmentLimits = Object.freeze({
  /** Kafka topic ids are 22 base64url characters; room for other id schemes, bounded. */
  topicIdBytesMax: 64,
  /** Partitions in one object; an uploader packing more should cut a second object. */
  rangesPerObjectMax: 32_768,
  /** Bounds the second GET of a footer read and the allocation behind it. */
  footerBytesMax: 4 * MiB,
  /**
   * First GET of a footer read: the object's tail. 64 KiB holds the trailer plus the index of
   * ~870 partitions with 22-character topic ids, so most reads need one GET, not two.
   */
  footerTailReadBytes: 64 * KiB,
});

export const limits = Object.freeze({
  /** A WAL segment rolls before it would exceed this; bounds one file and one recovery scan. */
  walSegmentBytesMax: 64 * MiB,
  /**
   * One encoded WAL entry (frame + header + payload). A Kafka batch is one entry, so this is the
   * largest batch a broker can accept; Kafka's default message.max.bytes is ~1 MiB.
   */
  walEntryBytesMax: 8 * MiB,
  /** The caller-defined typed header inside an entry (length is a u16 on disk). */
  walHeaderBytesMax: 1 * KiB,
  /** Bytes admitted but not yet fsynced; appends beyond this wait (backpressure). */
  walPendingBytesMax: 32 * MiB,
  /** Entries written by one writev + fdatasync; bounds iovec count and the cost of one group. */
  walGroupEntriesMax: 4096,
  /**
   * Bytes written by one writev + fdatasync (a larger head entry still goes alone). Measured on
   * bench/micro/wal.ts: 16 MiB groups of 64 KiB entries gave ~350 MB/s, ~1 MiB groups ~580 MB/s,
   * because each group's write is not overlapped with anything and big fsyncs stall.
   */
  walGroupBytesMax: 1 * MiB,
  /** Read buffer for recovery and replay scans; grows to one entry if an entry is larger. */
  walReadChunkBytes: 1 * MiB,
  /**
   * After a write found the WAL's disk full, appends are refused for this long (unless a segment
   * is deleted sooner), then tried again: space freed outside the broker is noticed within it.
   */
  walNoSpaceRetryMs: 1000,
  /**
   * At most one upload-checkpoint write (wal/checkpoint.ts) per this many ms. It runs after
   * uploads, off the produce path; a replay reads at most this much more than needed, plus the
   * upload interval the checkpoint lags by.
   */
  walCheckpointIntervalMs: 100,
  /** WAL end positions remembered until their LSN is uploaded (one per trim, 40 bytes each). */
  walCheckpointMarksMax: 64,
  /**
   * Bytes the compressed batches of one Produce request may inflate to, together, while the
   * broker walks their records (src/broker/produce/append-partition.ts). The walk runs on the
   * event loop, so this bounds both the one decompressed copy alive at a time and the stall one
   * request can cause (~0.1-0.2 s for gzip at this size; see bench/micro/produce-decode.ts).
   * Real producers stay far below it: Kafka's batch.size counts compressed bytes (16 KiB by
   * default), and a 1 MiB request of text rarely inflates past 10-20 MiB. A zip bomb fails here.
   */
  produceUncompressedBytesMax: 64 * MiB,
  /**
   * Batch bytes in one segment object the uploader (or a takeover's recovery) builds; a backlog
   * larger than this goes up as several objects, oldest first. It bounds the one copy an upload
   * makes in memory and the size of one PUT: at 32 MiB a PUT fits the default s3RequestTimeoutMs
   * (30 s) down to ~1.1 MB/s. A single batch larger than this still goes alone in one object
   * (it is at most walEntryBytesMax, which fits).
   */
  uploadObjectBytesMax: 32 * MiB,
  /**
   * Default for the uploadBacklogBytesMax setting: bytes appended but not yet in object storage
   * past which Produce is refused with a retriable error. Those batches are held in memory and in
   * the WAL until uploaded, so this is what an object-store outage may cost in RAM and WAL disk.
   */
  uploadBacklogBytesMax: 512 * MiB,
});

/** The limits' shape, any numbers (tests check the relations on altered copies). */
export type Limits = { readonly [K in keyof typeof limits]: number };

/** The subset of limits one WAL instance runs with; tests shrink these to exercise edges. */
export interface WalLimits {
  segmentBytesMax: number;
  entryBytesMax: number;
  headerBytesMax: number;
  pendingBytesMax: number;
  groupEntriesMax: number;
  groupBytesMax: number;
  readChunkBytes: number;
}

export function walLimitsDefault(): WalLimits {
  return {
    segmentBytesMax: limits.walSegmentBytesMax,
    entryBytesMax: limits.walEntryBytesMax,
    headerBytesMax: limits.walHeaderBytesMax,
    pendingBytesMax: limits.walPendingBytesMax,
    groupEntriesMax: limits.walGroupEntriesMax,
    groupBytesMax: limits.walGroupBytesMax,
    readChunkBytes: limits.walReadChunkBytes,
  };
}

/**
 * Entry frame bytes that precede the caller's header: length u32, crc32c u32, version u8, lsn u64,
 * headerBytes u16. Lives here (not in wal/entry.ts) so the relations below can use it.
 */
export const walEntryFrameBytes = 4 + 4 + 1 + 8 + 2;

export function assertWalLimits(l: WalLimits): void {
  for (const [name, value] of Object.entries(l)) {
    assert.ok(Number.isSafeInteger(value) && value > 0, `wal limit ${name} must be a positive int`);
  }
  // An entry must fit in an empty segment, or rolling could never make room for it.
  assert.ok(l.entryBytesMax < l.segmentBytesMax, 'entryBytesMax < segmentBytesMax');
  // One entry must always be admissible when nothing is pending, or append could wait forever.
  assert.ok(l.entryBytesMax <= l.pendingBytesMax, 'entryBytesMax <= pendingBytesMax');
  // The header must leave room for a frame and at least an empty payload.
  assert.ok(walEntryFrameBytes + l.headerBytesMax <= l.entryBytesMax, 'header fits in an entry');
  assert.ok(l.headerBytesMax <= 0xffff, 'headerBytes is a u16 on disk');
  // The length field is a u32; file positions must stay exact in a double.
  assert.ok(l.entryBytesMax <= 0xffff_ffff, 'entry length is a u32 on disk');
  assert.ok(l.segmentBytesMax <= Number.MAX_SAFE_INTEGER, 'segment positions are exact');
  assert.ok(l.readChunkBytes >= walEntryFrameBytes, 'a read chunk holds at least one frame');
}

/**
 * The largest Kafka batch a broker stores: a batch is one WAL entry, less the entry's frame and
 * largest header. It caps max.message.bytes in every WAL mode, so a topic behaves the same in
 * each (object-WAL mode has no entry, but its batches must fit the others' WALs on a move).
 */
export const batchBytesMax = limits.walEntryBytesMax - walEntryFrameBytes - limits.walHeaderBytesMax;

export function assertLimits(l: Limits): void {
  // A compressed batch may always inflate to at least the largest batch accepted uncompressed.
  assert.ok(l.walEntryBytesMax <= l.produceUncompressedBytesMax, 'entry fits uncompressed');
  // Any batch the WAL accepts fits in one object with its footer, so an upload always progresses.
  assert.ok(l.walEntryBytesMax <= l.uploadObjectBytesMax, 'a WAL entry fits in an upload object');
  assert.ok(l.uploadObjectBytesMax + segmentLimits.footerBytesMax <= objectStoreLimits.objectBytesMax,
    'an upload object and its largest footer fit in objectBytesMax');
  // By default a backlog at the limit spans many objects (sixteen), never less than one.
  assert.ok(l.uploadObjectBytesMax <= l.uploadBacklogBytesMax, 'one object fits in the backlog');
  // The S3 defaults lie within the bounds s3.ts enforces on any config.
  assert.ok(s3StoreDefaults.requestTimeoutMs >= s3StoreLimits.requestTimeoutMsMin &&
    s3StoreDefaults.requestTimeoutMs <= s3StoreLimits.requestTimeoutMsMax, 's3 default timeout in range');
  assert.ok(s3StoreDefaults.maxAttempts <= s3StoreLimits.maxAttemptsMax, 's3 default attempts in range');
  // Every read-ahead GET can have a socket of its own, with room left for demand GETs and PUTs.
  assert.ok(readCacheLimits.prefetchesInFlightMax < s3StoreLimits.httpSocketsMax,
    'read-ahead fits the sockets');
  // Whole entries are prefetched: the largest one (an upload object's worth) must be admissible.
  assert.ok(l.uploadObjectBytesMax <= readCacheLimits.prefetchBytesInFlightMax,
    'an entry can be read ahead');
  assertWalLimits({
    segmentBytesMax: l.walSegmentBytesMax,
    entryBytesMax: l.walEntryBytesMax,
    headerBytesMax: l.walHeaderBytesMax,
    pendingBytesMax: l.walPendingBytesMax,
    groupEntriesMax: l.walGroupEntriesMax,
    groupBytesMax: l.walGroupBytesMax,
    readChunkBytes: l.walReadChunkBytes,
  });
}

assertLimits(limits);
assert.ok(batchBytesMax > 0 && batchBytesMax + walEntryFrameBytes + limits.walHeaderBytesMax <= limits.walEntryBytesMax,
  'the largest batch fits one WAL entry');
