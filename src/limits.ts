/**
 * Every limit and default of the broker in one place (TigerBeetle's constants.zig), each with the
 * reason for its value. How they relate (derived values, the assertions run at load time, the
 * relations between settings) is in src/limit-relations.ts.
 *
 * Layers: storage's limits live in storage/limits.ts (storage cannot import from src/) and are
 * re-exported here, so this file is where to look; protocol/ keeps only format facts (header
 * sizes, codec bounds), which follow from Kafka's formats rather than from a choice of ours. The
 * CLI (src/cli) is a client and keeps its own few. Config (src/config/config.ts) reads the
 * defaults of its settings from `settingDefaults`, the bounds that follow from another limit from
 * `settingBounds`, and checks the relations between settings with `settingRelationError`
 * (limit-relations.ts).
 *
 * Names carry their unit before the qualifier: `requestBytesMax`, `fetchWaitMsMax`.
 */
import {
  batchBytesMax, KiB, limits as storageLimits, MiB, s3StoreDefaults,
} from '../storage/limits.js';

export { batchBytesMax, KiB, MiB, storageLimits };

/** Numbers of Kafka and etcd that ours must agree with. */
export const externalLimits = Object.freeze({
  /** Kafka's default max.message.bytes (1 MiB of records plus the 12-byte log overhead). */
  kafkaMessageBytesDefault: 1_048_588,
  /** request.timeout.ms of the Java client, librdkafka (socket) and kafkajs: 30 s. */
  kafkaClientRequestTimeoutMs: 30_000,
  /** Kafka's topic name length limit (a partition folder name must fit 255 bytes). */
  kafkaTopicNameLengthMax: 249,
  /** etcd's --max-txn-ops default: ops in one branch of a transaction. */
  etcdTxnOpsMaxDefault: 128,
  /** etcd's --max-request-bytes default (1.5 MiB): one request, a whole transaction included. */
  etcdRequestBytesMax: 1.5 * MiB,
});

/** Defaults of the broker's size and time settings; see config.ts for what each one does. */
export const settingDefaults = Object.freeze({
  /** Kafka's socket.request.max.bytes: a request at most this large is read at all. */
  requestBytesMax: 100 * MiB,
  /** Clients keep up to 5 in flight (max.in.flight.requests.per.connection); ample headroom. */
  inFlightRequestsMax: 128,
  /** A connection that does not read its answers stops being read past this. */
  unsentBytesMax: 64 * MiB,
  /** Both client pools (requests; fetched data and answers) are this size: 1 GiB at most in all. */
  clientMemoryBytesMax: 512 * MiB,
  /** Kafka's fetch.max.bytes. */
  fetchMaxBytes: 55 * MiB,
  /** Kafka's max.incremental.fetch.session.cache.slots: fetch sessions kept (0: none). */
  fetchSessionCacheSlots: 1000,
  /** Kafka's connections.max.idle.ms. */
  connectionsMaxIdleMs: 600_000,
  /** One WAL file; bounds one recovery scan (storage/limits.ts). */
  walSegmentBytesMax: storageLimits.walSegmentBytesMax,
  /** Batches wait at most about this for an upload: in object-WAL mode, produce latency. */
  uploadIntervalMs: 250,
  /** An upload starts as soon as this much waits, so one object is a few MiB at load. */
  uploadBytesMax: 8 * MiB,
  /**
   * PUTs a second per broker with a local or shared WAL (issue 13: at most 4 at any load): one
   * every uploadIntervalMs, however fast bytes arrive; a faster load makes larger objects.
   */
  uploadPutsPerSecondMax: 4,
  /**
   * PUTs a second per broker in object-WAL mode (issue 13: at most 10). Under steady load a
   * produce waits up to 1000/this ms for the next PUT, then the PUT and commit: p99 is about
   * 100 ms + one PUT + one commit, which is why the 10 a second and 100 ms p99 targets cannot
   * both hold on any store whose PUT takes time (see the README's WAL modes).
   */
  objectWalPutsPerSecondMax: 10,
  uploadObjectBytesMax: storageLimits.uploadObjectBytesMax,
  uploadBacklogBytesMax: storageLimits.uploadBacklogBytesMax,
  /** Uploaded batches kept in memory for consumers that keep up. */
  tailBytesMax: 256 * MiB,
  /**
   * And at most this many of them. A batch's bytes live outside the JavaScript heap, but each
   * batch held is four heap objects (its Buffer, ArrayBuffer, tail entry and a timestamp, about
   * 300 bytes) that every full garbage collection traces. Agents send batches of one small record:
   * an agent fleet's 30 s (1,000 producers × 10 records/s) left 350,000 batches of about 230
   * bytes in the tail, within tailBytesMax, and the broker's old generation at 130 MB; the next
   * one-partition produce run spent 311 ms of its main thread in garbage collection instead of 72
   * and used 27% more CPU. 65,536 batches is 6.5 s of that fleet; batches of 16 KiB reach
   * tailBytesMax first.
   */
  tailBatchesMax: 65_536,
  /** Blocks of objects read back, for consumers that fell behind the tail. */
  readCacheBytesMax: 256 * MiB,
  /** Kafka's max.message.bytes default; topics may set more, up to batchBytesMax. */
  messageBytesMax: externalLimits.kafkaMessageBytesDefault,
  /** Kafka's num.partitions. */
  defaultPartitions: 1,
  /** Kafka's retention.ms: 7 days. */
  retentionMs: 7 * 24 * 3600 * 1000,
  /** Kafka's retention.bytes: no size limit. */
  retentionBytes: -1,
  /** Objects no index entry names are deleted only past this age (see orphanAgeMsFloor below). */
  orphanAgeMsMin: 600_000,
  orphanCheckIntervalMs: 300_000,
  retentionCheckIntervalMs: 60_000,
  /** Kafka's group.initial.rebalance.delay.ms. */
  groupInitialRebalanceDelayMs: 3000,
  /** Kafka's transactional.id.expiration.ms: an idle transactional id is forgotten (7 days). */
  transactionalIdExpirationMs: 7 * 24 * 3600 * 1000,
  /** Kafka's producer.id.expiration.ms (KIP-854): idle idempotent producers are forgotten. */
  producerIdExpirationMs: 24 * 3600 * 1000,
  /** Kafka's group.min.session.timeout.ms and group.max.session.timeout.ms. */
  groupSessionTimeoutMsMin: 6000,
  groupSessionTimeoutMsMax: 1_800_000,
  /** One S3 request (storage/limits.ts s3StoreDefaults). */
  s3RequestTimeoutMs: s3StoreDefaults.requestTimeoutMs,
  /** Must equal the etcd server's --max-txn-ops; etcd's own default. */
  etcdTxnOpsMax: externalLimits.etcdTxnOpsMaxDefault,
  /** A dead broker's lease expires after this (a refused port replaces it sooner: ackWindowMs). */
  leaseTtlMs: 6000,
  /** A broker acknowledges only this long after etcd confirmed its lease. */
  ackWindowMs: 1500,
  /** A graceful stop drains, uploads and answers within this. */
  shutdownTimeoutMs: 30_000,
  /** Kafka's connection.failed.authentication.delay.ms: a password guess costs this much. */
  failedAuthenticationDelayMs: 100,
  /** Certificates renewed on disk are served within this (no restart). */
  sslFilesCheckIntervalMs: 30_000,
});

/**
 * Authentication. Before a connection has authenticated it may make the broker hold very little:
 * one request at a time, none larger than Kafka's own bound (CVE-2022-34917 was an unchecked
 * size prefix), and every SASL field bounded before it is parsed.
 */
export const securityLimits = Object.freeze({
  /** Kafka's SaslServerAuthenticator.MAX_RECEIVE_SIZE: larger frames before authentication close.
   * */
  unauthenticatedFrameBytesMax: 512 * 1024,
  /** Longest SASL user name, password, nonce or token field accepted. */
  saslFieldBytesMax: 4096,
  /** OAUTHBEARER tokens (a JWT with its claims) up to this. */
  oauthTokenBytesMax: 64 * 1024,
  /** RFC 7677 asks at least 4096 iterations; Kafka refuses fewer and more than 16384. */
  scramIterationsMin: 4096,
  scramIterationsMax: 16384,
  /** Salt generated for bootstrap users and for unknown users' decoy challenges. */
  scramSaltBytes: 32,
  /** Users one Describe/AlterUserScramCredentials call may name. */
  scramUsersPerRequestMax: 10_000,
  /** A JWKS fetched from a URL is refreshed at most this often. */
  jwksCooldownMs: 30_000,
  jwksFetchTimeoutMs: 5_000,
});

/** Bounds of settings that follow from another limit (config.ts uses them as min or max). */
export const settingBounds = Object.freeze({
  /** A WAL segment holds the largest entry with room to spare, or rolling never makes room. */
  walSegmentBytesMin: storageLimits.walEntryBytesMax + 1 * MiB,
  /** A topic's default max.message.bytes: no batch larger than a WAL entry is ever stored. */
  messageBytesMaxMax: batchBytesMax,
  /** An object at most as large as the storage layer builds (storage/limits.ts). */
  uploadObjectBytesMaxMax: storageLimits.uploadObjectBytesMax,
  /** Every fixed-size transaction the broker writes fits (a controller handoff's 64 ops). */
  etcdTxnOpsMin: 64,
  /** etcd leases are granted in whole seconds, at least one. */
  leaseTtlMsMin: 1_000,
  /** Keep-alives go out every window/3; below ~100 ms they would crowd etcd. */
  ackWindowMsMin: 300,
});

/** Produce. */
export const produceLimits = Object.freeze({
  /**
   * How long a produce refused because its partition is being handed over waits for the handoff
   * (usually tens of ms) before it is answered, so the client's retry finds the new leader
   * (src/broker/produce/append-partition.ts).
   */
  handoffAnswerWaitMsMax: 2_000,
  /**
   * How long a produce (or a fetch, within its max wait) for a partition this broker was just
   * named leader of waits for it to open (the old leader's acknowledgement window, then its WAL
   * replay: ackWindowMs and a little more with the defaults) rather than being refused at once
   * (src/broker/await-opening.ts).
   */
  leaderOpenWaitMsMax: 5_000,
});

/** Fetch. */
export const fetchLimits = Object.freeze({
  /** Longest long poll honoured, whatever the client asks (Kafka clients default to 500 ms). */
  fetchWaitMsMax: 30_000,
  /** A fetch session unused this long may be evicted by any new one (Kafka's
   *  min.incremental.fetch.session.eviction.ms default). */
  fetchSessionEvictionMs: 120_000,
  /** Partitions all fetch sessions together remember: each costs a few hundred bytes, so about
   *  50 MiB; a consumer of all 10,000 partitions of the scale scenario fits twenty times over. */
  fetchSessionPartitionsMax: 200_000,
});

/** Topics and admin requests. */
export const adminLimits = Object.freeze({
  /** ACL bindings a cluster holds: every broker keeps them all in memory and the authorizer
   *  scans a resource type's bindings per check. Kafka has no cap; large deployments hold a few
   *  thousand. */
  aclBindingsMax: 100_000,
  /** Partitions per topic; Kafka has no hard cap, but every limit is explicit here. */
  partitionsPerTopicMax: 10_000,
  topicNameLengthMax: externalLimits.kafkaTopicNameLengthMax,
  /** Longest admin request summary in an audit line; larger ones are cut (and say so). */
  auditRequestCharsMax: 2048,
  /** Error names per audit line (a CreateTopics of 10,000 topics stays one short line). */
  auditErrorsMax: 20,
  /** The start-up check of the object store: its round trip, at most the S3 timeout and this. */
  storeCheckTimeoutMsMax: 15_000,
  /** How often a draining server looks whether its connections are done. */
  drainPollMs: 20,
  /** How long an embedded (SQLite) statement waits for a lock another connection holds. */
  sqliteBusyTimeoutMs: 5_000,
});

/** The SQLite writer thread (src/metadata/sqlite/writer-thread.ts). */
export const sqliteWriterLimits = Object.freeze({
  /** Writes sent to the thread and not yet answered. Each has a caller waiting on it (a request,
   *  the uploader, a coordinator), which bounds them far below this; reaching it means the
   *  thread has stopped keeping up, and a write then fails at once rather than queueing more. */
  writesWaitingMax: 10_000,
  /** Queued writes one transaction takes (one fsync shared by all): a burst of offset commits
   *  costs one fsync, and a transaction stays short enough that the first of them is not kept
   *  waiting long for the last. */
  writesPerTransactionMax: 64,
});

/** Consumer groups. */
export const groupLimits = Object.freeze({
  /** Kafka's offset.metadata.max.bytes default. */
  offsetMetadataBytesMax: 4096,
  /** Kafka's NewMemberJoinTimeoutMs: a new member's JoinGroup waits at most this long. */
  newMemberJoinTimeoutMs: 5 * 60 * 1000,
  /** Protocol types of emptied groups remembered (one short string each). */
  rememberedProtocolTypesMax: 100_000,
  /** Consumer lag is reread at most this often, for this many groups at most. */
  lagRefreshMs: 10_000,
  lagGroupsMax: 1000,
  /** A lag refresh slower than this leaves the last values in place (scrapes never hang). */
  lagRefreshTimeoutMs: 5000,
});

/** What /metrics measures of the broker process itself. */
export const processMetricsLimits = Object.freeze({
  /**
   * The event-loop delay sampler wakes this often and records how late it woke. 10 ms is
   * monitorEventLoopDelay's default resolution: a stall shorter than that is rarely seen by a
   * client, and 100 wake-ups a second cost nothing measurable.
   */
  eventLoopSampleMs: 10,
  /**
   * Histogram bounds of the delay (seconds): fine below 100 ms, where the fixed-rate p99 of a
   * healthy broker lies, then coarse up to the 10 s of a stuck one.
   */
  eventLoopDelayBucketsS: Object.freeze([0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1,
    0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10]),
});

/** Transactions: the coordinator, and what each partition remembers of them. */
export const transactionLimits = Object.freeze({
  /** Kafka's transaction.max.timeout.ms default: a longer transaction.timeout.ms is refused. */
  txnTimeoutMsMax: 15 * 60 * 1000,
  /** Partitions one transaction may write; a client that adds more gets INVALID_REQUEST. */
  partitionsPerTxnMax: 10_000,
  /** Consumer groups one transaction may commit offsets for (AddOffsetsToTxn). */
  groupsPerTxnMax: 100,
  /** Offsets one transaction may commit per group (TxnOffsetCommit, all its calls together). */
  offsetsPerGroupMax: 10_000,
  /** How often the coordinator looks for transactions past their timeout (Kafka: 10 s). */
  abortTimedOutCheckMs: 1_000,
  /** A marker write to a partition's leader is retried this often while the leader moves. */
  markerRetryMs: 200,
  /** Marker and verification requests to another broker give up after this long, then retry. */
  peerRequestMsMax: 10_000,
  /**
   * Aborted transactions each partition remembers (the read_committed index, persisted with its
   * producer states). Each costs about 40 bytes of JSON there: 4096 of them fit well inside
   * etcd's producerStatesBytesMax beside the producers (see assertTransactionRelations in
   * limit-relations.ts).
   * Beyond it the oldest is forgotten and a warning logged: consumers reading that far back
   * with read_committed would then see its records.
   */
  abortedTxnsPerPartitionMax: 4096,
  /** Bytes of JSON one remembered aborted transaction takes at most (the relation above). */
  abortedTxnJsonBytesMax: 64,
});

/** The partition log, its uploads and their upkeep. */
export const partitionLimits = Object.freeze({
  /** Kafka keeps the last 5 batches per producer (max.in.flight.requests.per.connection ≤ 5). */
  producerRecentBatchesMax: 5,
  /**
   * Longest wait between retries of a failing upload. Once the store is back, this is how long
   * the backlog may keep waiting (and Produce stay refused past uploadBacklogBytesMax); a retry
   * every few seconds costs a failing store nothing worth saving.
   */
  uploadRetryMsMax: 5_000,
  /**
   * Uploads whose PUT or commit may be running at once (uploader.ts): the next PUT starts on its
   * pacer slot even while the one before is still in flight, so one slow PUT does not hold back
   * everything behind it (in object-WAL mode each is a produce waiting). Commits still apply in
   * start order, so an object PUT may wait for the ones before it: orphanAgeMsFloor counts that.
   */
  uploadsInFlightMax: 2,
  /** Index entries retention examines per partition per pass; the next pass continues. */
  retentionEntriesPerPassMax: 1000,
  /** Objects the orphan collector examines per pass; the next pass starts over (LIST order). */
  orphanObjectsPerPassMax: 100_000,
  /** Index entries looked up per history read: enough for maxBytes in all but tiny-entry cases. */
  historyEntriesPerReadMax: 8,
  /**
   * Bytes a history read prefetches past its maxBytes, so a sequential consumer's next Fetch
   * finds its GETs in flight. Per read, not per broker: the read cache's in-flight bounds
   * (storage/limits.ts readCacheLimits) cap the sum, its cacheBytesMax what stays.
   */
  historyReadAheadBytesMax: 4 * MiB,
  /** Partitions in one uploaded object with the embedded coordinator (no transaction limit). */
  embeddedPartitionsPerObjectMax: 10_000,
  /**
   * etcd ops one partition costs in the success branch of a segment commit: its index entry,
   * its partition state and its producer list (src/metadata/etcd/segments.ts, commitSegmentsTxnOpsMax).
   */
  etcdCommitOpsPerPartition: 3,
  /** Ops of a segment commit beyond its partitions': the object key, and one to spare. */
  etcdCommitOpsFixed: 2,
  /** Requests waiting at once for partitions this broker leads but has not opened yet
   *  (open-waiters.ts); beyond it a request is answered at once, as before there were waiters. */
  openWaitersMax: 10_000,
});

/** Client quotas and connection limits (src/quota/, src/broker/connection-limits.ts). */
export const quotaLimits = Object.freeze({
  /** Quota entities stored: each broker holds the whole table in memory and etcd reads it whole
   *  on every reload. Kafka sets no limit; 10,000 users x client ids is far past real use. */
  entitiesMax: 10_000,
  /** Kafka's quota.window.num and quota.window.size.seconds defaults: a rate is measured over
   *  11 one-second samples (about the last 10-11 s). */
  windowSamplesDefault: 11,
  windowSecondsDefault: 1,
  /** Rate sensors (one per quota type and user/client-id pair that sent something) kept; Kafka
   *  purges them after an hour idle, as we do, and past this count the least recently used
   *  goes first, so a client cycling client ids cannot grow the broker's memory. */
  sensorsMax: 100_000,
  sensorIdleMs: 3_600_000,
  /** Kafka's largest throttle_time_ms is an int32; a throttle is never longer than this. */
  throttleMsMax: 2 ** 31 - 1,
  /** Connections accepted but waiting out max.connection.creation.rate (Kafka's acceptor blocks
   *  instead; past this many waiting, a new one is closed). */
  connectionsWaitingMax: 1_000,
});

/** The etcd kit (src/etcd/): client, transactions, watches. */
export const etcdKitLimits = Object.freeze({
  /** Keys per range read; pages keep each gRPC message well under its 4 MiB default. */
  rangePageKeysMax: 1_000,
  /** Largest per-call deadline a caller may ask for: a stuck call must fail in bounded time. */
  callTimeoutMsMax: 60_000,
  watchReloadBackoffMsMaxDefault: 5_000,
  /** Key sets (brokers, controller, handoffs) are small: retry them sooner. */
  keySetReloadBackoffMsMaxDefault: 2_000,
  watchReloadBackoffMsMin: 100,
  /** Cancelling waits at most this long for etcd's answer: a stream that is down never answers,
   *  and its watchers are dropped with it anyway. */
  watchCancelMsMax: 1_000,
  watchRangesMax: 8,
});

/** The etcd metadata engine (src/metadata/etcd/). */
export const etcdCoordinatorLimits = Object.freeze({
  /** etcd's own default for --max-txn-ops; raise both together. */
  txnOpsMaxDefault: externalLimits.etcdTxnOpsMaxDefault,
  /** Attempts of one optimistic transaction before EtcdConflictError. */
  txnAttemptsMax: 16,
  /** Jittered pause between conflicting attempts, so two writers do not collide in lockstep. */
  conflictBackoffMsMax: 50,
  producerIdsPerBlockDefault: 100,
  /** One partition's producer list is one value; it must fit one etcd request. */
  producerStatesBytesMax: 512 * KiB,
  /**
   * The producer lists of one segment commit together (the commit is one request): half of
   * etcd's request, the other half left for the entries, partition states and keys.
   */
  producerListsPerCommitBytesMax: externalLimits.etcdRequestBytesMax / 2,
  callTimeoutMsDefault: 10_000,
  reloadBackoffMsMax: 5_000,
  /** deleteTopic trims oversized topics through retention first; this bounds those rounds. */
  deleteTopicRoundsMax: 8,
  /** A topic with more index entries is trimmed through retention (a txn's worth of entries at
   *  a time) before deleteTopic reads it, rather than read whole into memory. */
  deleteTopicEntriesReadMax: 100_000,
  /** Fixed ops deleteTopic's transaction needs besides objects and offsets (see src/metadata/etcd/topic-deletion.ts). */
  deleteTopicOpsFixed: 5,
});

/** Broker registration and leases (src/cluster/membership.ts). */
export const membershipLimits = Object.freeze({
  leaseTtlMsDefault: settingDefaults.leaseTtlMs,
  /** The shortest window (without the `ackWindowMs` option, the window is the lease TTL). */
  ackWindowMsMin: settingBounds.ackWindowMsMin,
  leaseTtlMsMin: settingBounds.leaseTtlMsMin,
  /** Keep-alives sent per TTL (etcd's Go client sends one every TTL/3). */
  keepAlivesPerTtl: 3,
  /** Default safety margin: this fraction of the TTL, and at least safetyMarginMsMin. */
  safetyMarginTtlFraction: 0.1,
  safetyMarginMsMin: 50,
  /** Pause before retrying a failed keep-alive or a broken stream. */
  retryMs: 100,
  callTimeoutMsDefault: 5_000,
  /** A graceful revoke waits this long for etcd, then leaves the lease to expire. */
  revokeTimeoutMs: 2_000,
  watchRetryMsMax: 2_000,
  watchCancelMsMax: 1_000,
});

/** The controller (src/cluster/controller.ts). */
export const controllerLimits = Object.freeze({
  /** Changes within this window are planned for together (a broker leaving moves many). */
  debounceMsDefault: 100,
  /** A full pass this often even without changes: retries writes that failed. */
  resyncIntervalMsDefault: 10_000,
  /** Pause between campaign attempts while no controller is known (etcd unreachable, or this
   *  broker's lease not yet confirmed). */
  campaignRetryMs: 250,
  /** Every broker reads the controller key this often besides watching it: a watch that missed
   *  the key's deletion (a stream waiting out its reconnect backoff) delays an election by at
   *  most this long. One small read per broker. */
  keyCheckIntervalMsDefault: 2_000,
  /** Ops per handoff transaction; at most the smallest etcdTxnOpsMax allowed. */
  handoffOpsPerTxnMax: 64,
});

/** Peer probes (src/cluster/peer-probe.ts). */
export const peerProbeLimits = Object.freeze({
  /** Peers probed per broker; beyond it a dead broker waits for its lease to expire. */
  peersMax: 64,
  /** A probe not connected (yet, or since a close that was not refused) retries this often. */
  reconnectMs: 1_000,
  connectTimeoutMs: 2_000,
  /** The lease of a `revoked/` record: long past any acknowledgement window in use. */
  revokedRecordTtlS: 30,
});

/** Revoked brokers (src/cluster/revoked-brokers.ts). */
export const revokedBrokersLimits = Object.freeze({
  /** Added to a revoked broker's window: two hosts' clocks may tick at slightly different rates. */
  slackFraction: 0.05,
  slackMs: 20,
});

/** A new leader replaying a dead broker's WAL (src/cluster/recover-partition.ts). */
export const recoveryLimits = Object.freeze({
  /** Partitions recovered in one read of a WAL; each holds at most uploadObjectBytesMax. */
  partitionsPerReadMax: 64,
  /**
   * Partitions of one read committing at once (producer state load, PUT, index commit,
   * completeRecovery: four round trips each). One at a time, a dead broker's six partitions took
   * 0.3-0.8 s on a busy machine after the read, and a failover waits for the last of them.
   */
  commitsInFlightMax: 8,
});

/** Leaving, rejoining and handing partitions over (src/cluster/). */
export const handoffLimits = Object.freeze({
  /** How long a leaving broker waits for its partitions to drain into object storage. */
  leaveDrainMsMax: 15_000,
  /** Passes a leaving broker makes over its partitions, all within leaveDrainMsMax (see
   *  ClusterMode.leave). */
  leavePassesMax: 3,
  /** Releases a leaving broker has in flight at once (etcd transactions). */
  leaveReleasesInFlightMax: 16,
  /** Backoff between attempts to rejoin after a lost lease. */
  rejoinRetryMsMin: 250,
  rejoinRetryMsMax: 2_000,
  /** How long a handoff waits for in-flight appends to become durable and uploaded. */
  handoffDrainMsMax: 10_000,
  handoffPollMs: 20,
  /** A handoff that could not drain is tried again this much later (while still requested). */
  handoffRetryMs: 1_000,
  /** Backoff of a failed partition change's retries. */
  retryMsMin: 100,
  retryMsMax: 5_000,
});
