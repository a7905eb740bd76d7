/**
 * A broker process: opens storage (coordinator, object store, WAL), recovers, serves, and shuts
 * down gracefully. Start-up order matters for durability:
 *
 *   1. coordinator — topics, partition states, segment index;
 *   2. WAL — recovery truncates a torn tail; its entries not yet in the index are replayed into
 *      the partitions' tails (and uploaded by the uploader's first pass);
 *   3. only then the listener opens.
 *
 * Shutdown (SIGTERM): stop accepting, stop reading, answer what is in flight, upload everything
 * the WAL holds, close the WAL and the coordinator, exit 0.
 */
import { join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { type BrokerConfig, brokerWalDir } from '../config/config.js';
import { type ClusterView, SingleNodeView } from '../cluster/cluster-view.js';
import type { ClusterMode } from '../cluster/cluster-mode.js';
import { GroupCoordinator } from '../group/group-coordinator.js';
import { MARKER_CLIENT_ID, MarkerWriter } from '../txn/marker-writer.js';
import { TransactionCoordinator } from '../txn/transaction-coordinator.js';
import { type LogFormat, createLogger } from '../log.js';
import type { Metadata } from '../metadata/stores.js';
import type { EtcdMetadata } from '../metadata/etcd/metadata.js';
import { SqliteMetadata } from '../metadata/sqlite/metadata.js';
import { type Metrics, createMetrics, exportBacklogAge, exportBrokerInfo, exportClientMemory,
  exportFetchSessionStats, exportReadCacheStats, exportStoreStats, serveMetrics,
} from '../metrics.js';
import { ObjectHistoryReader } from '../partition/history-reader.js';
import type { Durability } from '../partition/durability/durability.js';
import { LocalWalDurability, replayWal } from '../partition/durability/local-wal.js';
import { putGapMs } from '../partition/put-pacer.js';
import { ObjectUploadDurability } from '../partition/durability/object-upload.js';
import { PartitionManager } from '../partition/partition-manager.js';
import { collectOrphans } from '../partition/orphan-collector.js';
import { enforceRetention } from '../partition/retention.js';
import { TailMemory } from '../partition/tail-memory.js';
import { Uploader } from '../partition/uploader.js';
import { adminLimits, fetchLimits, transactionLimits } from '../limits.js';
import { uploadPartitionsPerObjectMax, uploadTurnWaitMsMax } from '../limit-relations.js';
import { ReadCache } from '../../storage/cache/read-cache.js';
import type { ObjectStore } from '../../storage/object-store/object-store.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { S3Store } from '../../storage/object-store/s3.js';
import { Wal, partitionHeaderCodec, type PartitionEntryHeader } from '../../storage/wal/index.js';
import { ClientQuotas } from '../quota/client-quotas.js';
import { IpConnectionRates } from '../quota/ip-connection-rates.js';
import type { RateWindow } from '../quota/windowed-rate.js';
import { exportEventLoopDelay } from '../event-loop-delay.js';
import { Dispatcher } from './dispatch.js';
import { HANDLERS } from './handlers/index.js';
import { MemoryBudget } from './memory-budget.js';
import { FetchSessionCache } from './fetch/fetch-sessions.js';
import { exportConsumerLag } from './lag-metrics.js';
import { BrokerServer } from './server.js';
import { parseListeners, type ListenerSpec } from '../security/listeners.js';
import { ListenerSecurity } from '../security/listener-security.js';
import { peerSecurityAtStart } from '../security/inter-broker.js';
import {
  authenticationAudit, createBootstrapUsers, tlsRefusalAudit, warnUnauthenticated,
} from '../security/authentication-setup.js';
import { StartupCheckError, checkDataDir, checkObjectStore, describeStore } from './startup-checks.js';
import type { BrokerServices } from './services.js';
import {
  AclAuthorizer, ALLOW_ALL, type Authorizer, parseSuperUsers,
} from '../security/authorizer.js';

export class Broker {
  private retentionTimer: NodeJS.Timeout | undefined;
  private orphanTimer: NodeJS.Timeout | undefined;
  private metricsServer: HttpServer | undefined;
  private stopEventLoopDelay: () => void = () => {};
  private stopping: Promise<void> | null = null;
  private stopQuotaFollow: () => Promise<void> = async () => {};
  /** Bytes a graceful stop left in the WAL because the object store did not take them (0: none). */
  walBacklogBytesAtStop = 0;

  private constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
    readonly metrics: Metrics,
    readonly services: BrokerServices,
    readonly store: ObjectStore,
    private readonly wal: Wal<PartitionEntryHeader> | null,
    private readonly server: BrokerServer,
    private readonly clusterMode: ClusterMode | null,
    private readonly etcd: EtcdMetadata | null,
  ) {}

  get port(): number {
    return this.server.port;
  }

  /** Every listener's bound port, by name. */
  listenerPorts(): Map<string, number> {
    return this.server.ports();
  }

  static async start(config: BrokerConfig): Promise<Broker> {
    const log = createLogger(config.logLevel, config.nodeId, config.logFormat as LogFormat);
    const metrics = createMetrics();
    exportBrokerInfo(metrics, config.nodeId);
    await checkDataDir(config.dataDir);
    const store = await openObjectStore(config);
    await checkStoreAtStart(store, config, log);
    // Loaded only for a cluster: etcd3 and gRPC take ~0.2 s to load, which a single node skips.
    const clusterModule = config.coordinator === 'etcd'
      ? await import('../cluster/cluster-mode.js') : null;
    const etcd = clusterModule === null ? null : await clusterModule.openEtcdMetadata(config, log);
    const metadata: Metadata = etcd ?? new SqliteMetadata(join(config.dataDir, 'metadata.db'));
    exportStoreStats(metrics, () => ({ ...store.stats() }));
    const wal = config.walMode === 'object' ? null : await Wal.open<PartitionEntryHeader>({
      dir: walDir(config), headerCodec: partitionHeaderCodec,
      limits: { segmentBytesMax: config.walSegmentBytesMax },
      onFsync: (sample) => {
        metrics.walFsyncLatency.observe(sample.fsyncMs / 1000);
        metrics.walEntriesPerFsync.observe(sample.entries);
        metrics.walBytesPerFsync.observe(sample.bytes);
      },
    });
    const durability: Durability = wal === null ? new ObjectUploadDurability()
      : new LocalWalDurability(wal, { log, onWalFailed: () => process.exit(70) });
    const cache = new ReadCache(store, { cacheBytesMax: config.readCacheBytesMax,
      onHit: () => metrics.cacheHits.inc(), onMiss: () => metrics.cacheMisses.inc() });
    exportReadCacheStats(metrics, () => ({ ...cache.stats() }));
    const history = new ObjectHistoryReader(metadata, cache, metrics);
    const partitions = new PartitionManager(metadata, config, durability, history, config.nodeId,
      log, Date.now);
    await partitions.load();
    const replayed = wal === null ? 0
      : await replayWal(wal.readFrom(wal.lsnOldest), partitions, Date.now());
    log.info({ replayed, topics: partitions.topics().length }, 'recovered');
    const tailMemory = new TailMemory(config.tailBytesMax, config.tailBatchesMax);
    const uploader = new Uploader(partitions, durability, store, metadata, tailMemory,
      { nodeId: config.nodeId, uploadIntervalMs: config.uploadIntervalMs, uploadBytesMax: config.uploadBytesMax,
        partitionsPerObjectMax: uploadPartitionsPerObjectMax(config.coordinator, config.etcdTxnOpsMax),
        objectBytesMax: config.uploadObjectBytesMax, nowMs: Date.now,
        putGapMs: putGapMs(config.walMode === 'object' ? config.objectWalPutsPerSecondMax
          : config.uploadPutsPerSecondMax),
        turnWaitMsMax: uploadTurnWaitMsMax(config.s3RequestTimeoutMs),
        monotonicNowMs: () => performance.now() },
      metrics, log);
    // In cluster mode the view is replaced by the etcd-backed one before the listener opens.
    const listeners = parseListeners(config);
    const listenerEndpoints: Record<string, { host: string; port: number }> = {};
    let cluster: ClusterView = new SingleNodeView({ nodeId: config.nodeId, rack: null,
      get host() { return advertised.host; }, get port() { return advertised.port; },
      listeners: listenerEndpoints });
    const advertised = { host: config.advertisedHost, port: config.advertisedPort };
    const groups = new GroupCoordinator({ metadata, config, log, nowMs: Date.now,
      onGroupCount: (n: number) => metrics.groups.set(n),
      isCoordinator: (groupId) => cluster.groupCoordinator(groupId)?.nodeId === config.nodeId });
    const handlerRanges = HANDLERS.map((h) => ({ apiKey: h.apiKey,
      minVersion: h.advertisedMinVersion ?? h.minVersion, maxVersion: h.maxVersion }));
    const peers = peerSecurityAtStart(config, listeners,
      { clientId: MARKER_CLIENT_ID, answerMsMax: transactionLimits.peerRequestMsMax }, log);
    const clusterMode = etcd === null || clusterModule === null ? null : await clusterModule
      .ClusterMode.start(config, etcd, partitions, uploader, store, log, peers);
    if (clusterMode !== null) cluster = clusterMode.view;
    const quotaFollow = await ClientQuotas.follow(metadata.quotas, quotaWindow(config), log);
    const transactions = new TransactionCoordinator({ metadata, nowMs: Date.now, log,
      transactionalIdExpirationMs: config.transactionalIdExpirationMs,
      markers: new MarkerWriter(config.nodeId, { brokers: () => cluster.brokers(),
        controllerId: () => cluster.controllerId(),
        leader: (t, p, e) => cluster.leader(t, p, e),
          groupCoordinator: (id) => cluster.groupCoordinator(id) },
      partitions, Date.now, log, peers),
      isCoordinator: (id) => cluster.groupCoordinator(id)?.nodeId === config.nodeId });
    const fetchSessions = new FetchSessionCache({ slots: config.fetchSessionCacheSlots,
      evictionMs: fetchLimits.fetchSessionEvictionMs,
      partitionsMax: fetchLimits.fetchSessionPartitionsMax });
    exportFetchSessionStats(metrics, () => fetchSessions.stats());
    const services: BrokerServices = {
      config, nodeId: config.nodeId, clusterId: metadata.clusterId(), advertised, cluster,
      metadata, partitions, groups, transactions, uploader, history, metrics,
      authorizer: createAuthorizer(config, metadata),
      memory: new MemoryBudget(config.clientMemoryBytesMax),
      fetchSessions,
      quotas: quotaFollow.quotas,
      apiVersions: () => handlerRanges,
      deleteObjects: (keys) => deleteQuietly(store, keys, log),
      nowMs: Date.now,
    };
    const dispatcher = new Dispatcher(HANDLERS, services, log);
    await createBootstrapUsers(config.scramBootstrapUsers, metadata.scramCredentials, log);
    const audit = authenticationAudit(log, metrics);
    const security = new ListenerSecurity(config, listeners, metadata.scramCredentials, audit, log);
    const server = new BrokerServer(dispatcher, config, services.memory, metrics, log,
      quotaWindow(config), security, tlsRefusalAudit(audit), new IpConnectionRates(
        quotaWindow(config), (address) => services.quotas.connectionRateOf(address)));
    await server.listen(listeners);
    if (services.advertised.port === 0) services.advertised.port = server.port;
    advertiseListeners(listeners, server.ports(), listenerEndpoints);
    warnUnauthenticated(listeners, server.ports(), config.sslClientAuth, log);
    uploader.start();
    transactions.start();
    const broker = new Broker(config, log, metrics, services, store, wal, server, clusterMode, etcd);
    broker.stopQuotaFollow = quotaFollow.stop;
    broker.scheduleRetention();
    broker.scheduleOrphanCollection();
    if (config.metricsPort > 0) {
      broker.metricsServer = await serveMetrics(metrics, config.metricsHost, config.metricsPort, () => broker.notReadyReasons());
    }
    metrics.partitions.set(partitions.partitionCount);
    exportConsumerLag(metrics, metadata, partitions);
    exportBacklogAge(metrics, () => {
      let oldest: number | null = null;
      for (const log of partitions.allLogs()) {
        const at = log.oldestNotUploadedAtMs;
        if (at !== null && (oldest === null || at < oldest)) oldest = at;
      }
      return oldest;
    });
    exportClientMemory(metrics, () => services.memory);
    broker.stopEventLoopDelay = exportEventLoopDelay(metrics);
    log.info({ host: config.host, port: server.port, dataDir: config.dataDir,
      listeners: listeners.map((l) =>
        `${l.name}(${l.protocol})://${l.host}:${server.ports().get(l.name)}`) },
    'broker started');
    return broker;
  }

  /** Why the broker should not get traffic now; empty when it serves (it has recovered once this runs). */
  notReadyReasons(): string[] {
    const reasons: string[] = [];
    if (this.stopping !== null) reasons.push('shutting down');
    if (this.services.uploader.failing) reasons.push('the object store does not take uploads');
    if (!this.services.cluster.brokers().some((b) => b.nodeId === this.config.nodeId)) {
      reasons.push('not registered in the cluster');
    }
    return reasons;
  }

  private scheduleRetention(): void {
    this.retentionTimer = setTimeout(() => {
      const s = this.services;
      this.expireIdleProducers(Date.now());
      enforceRetention(s.partitions, s.metadata, Date.now())
        .then((keys) => s.deleteObjects(keys))
        .catch((err: unknown) => this.log.warn({ err }, 'retention pass failed'))
        .finally(() => { if (this.stopping === null) this.scheduleRetention(); });
    }, this.config.retentionCheckIntervalMs);
  }

  /** producer.id.expiration.ms, on the partitions led here; runs with each retention pass. */
  private expireIdleProducers(nowMs: number): void {
    let expired = 0;
    for (const log of this.services.partitions.allLogs()) {
      expired += log.expireProducers(nowMs, this.config.producerIdExpirationMs);
    }
    if (expired > 0) this.log.info({ expired }, 'idle producer ids expired');
  }

  /** One broker collects orphans: the single node, or the controller of a cluster. */
  private scheduleOrphanCollection(): void {
    this.orphanTimer = setTimeout(() => {
      const run = this.clusterMode === null || this.clusterMode.isController()
        ? collectOrphans(this.store, this.services.metadata, Date.now(), this.config.orphanAgeMsMin)
        : Promise.resolve([]);
      run.then((keys) => { if (keys.length > 0) this.log.info({ objects: keys.length }, 'orphans deleted'); })
        .catch((err: unknown) => this.log.warn({ err }, 'orphan collection failed'))
        .finally(() => { if (this.stopping === null) this.scheduleOrphanCollection(); });
    }, this.config.orphanCheckIntervalMs);
  }

  /** Graceful shutdown; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.log.info('shutting down');
    clearTimeout(this.retentionTimer);
    clearTimeout(this.orphanTimer);
    const s = this.services;
    if (this.clusterMode !== null && this.etcd !== null) {
      // Hand partitions over while still serving Metadata, so clients find the new leaders.
      await this.clusterMode.leave(s.partitions, s.uploader, this.etcd, this.config.nodeId)
        .catch((err: unknown) => this.log.warn({ err }, 'graceful leave incomplete'));
    }
    await this.server.drain(this.config.shutdownTimeoutMs);
    try {
      await s.uploader.flush();
    } catch (err) {
      this.log.debug({ err }, 'final upload failed');
    }
    // The WAL still holds what did not go up; the next start replays and uploads it. An operator
    // (or a supervisor) must know, though: moving or wiping this data folder would lose it.
    // (With the object-storage WAL nothing waiting was acknowledged: clients resend it.)
    this.walBacklogBytesAtStop = this.wal === null ? 0 : s.uploader.uploadBacklogBytes;
    if (this.walBacklogBytesAtStop > 0) {
      this.log.error({ backlogBytes: this.walBacklogBytesAtStop, walDir: walDir(this.config) },
        'stopped with data not in object storage: it stays in the WAL and the next start uploads it');
    }
    await s.uploader.stop();
    s.groups.close();
    s.transactions.close();
    await this.wal?.close();
    await this.clusterMode?.closeMembership();
    await this.stopQuotaFollow();
    await s.metadata.close();
    this.metricsServer?.close();
    this.stopEventLoopDelay();
    this.log.info('stopped');
  }
}


/** Fills each listener's advertised address, a port 0 replaced by the port it bound. */
function advertiseListeners(listeners: readonly ListenerSpec[], bound: Map<string, number>,
  out: Record<string, { host: string; port: number }>): void {
  for (const l of listeners) {
    out[l.name] = { host: l.advertisedHost, port: l.advertisedPort !== 0 ? l.advertisedPort :
      bound.get(l.name)! };
  }
}

/** The authorizer `authorizerClassName` asks for: ACLs from the metadata's store, or none. */
function createAuthorizer(config: BrokerConfig, metadata: Metadata): Authorizer {
  if (config.authorizerClassName === '') return ALLOW_ALL;
  return new AclAuthorizer(() => metadata.acls.bindings(), parseSuperUsers(config.superUsers),
    config.allowEveryoneIfNoAclFound);
}

async function checkStoreAtStart(store: ObjectStore, config: BrokerConfig, log: Logger): Promise<void> {
  try {
    await checkObjectStore(store, config,
      Math.min(config.s3RequestTimeoutMs, adminLimits.storeCheckTimeoutMsMax));
  } catch (err) {
    if (!config.startDegraded) throw err;
    log.error({ store: describeStore(config), reason: (err as Error).message }, 'starting degraded: the object store failed its check');
  }
}

async function openObjectStore(config: BrokerConfig): Promise<ObjectStore> {
  try {
    return await openObjectStoreUnchecked(config);
  } catch (err) {
    throw new StartupCheckError(`object store (${describeStore(config)}) cannot be opened: ${(err as Error).message}`);
  }
}

async function openObjectStoreUnchecked(config: BrokerConfig): Promise<ObjectStore> {
  if (config.objectStore === 'local') return LocalFolderStore.open({ rootDir: config.objectStoreDir });
  const store = new S3Store({
    bucket: config.s3Bucket, accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey,
    region: config.s3Region, forcePathStyle: config.s3ForcePathStyle, keyPrefix: config.s3Prefix,
    requestTimeoutMs: config.s3RequestTimeoutMs,
    ...(config.s3Endpoint !== '' ? { endpoint: config.s3Endpoint } : {}),
  });
  if (config.s3CreateBucket) await store.ensureBucket();
  return store;
}

function walDir(config: BrokerConfig): string {
  return config.walMode === 'shared' ? brokerWalDir(config.sharedWalDir, config.nodeId)
    : join(config.dataDir, 'wal');
}

function deleteQuietly(store: ObjectStore, keys: string[], log: Logger): void {
  if (keys.length === 0) return;
  store.deleteMany(keys).catch((err: unknown) => {
    // Left behind, they are orphans: harmless, and the collector removes them later.
    log.warn({ err, keys: keys.length }, 'object delete failed');
  });
}

export type { Metadata };

/** The window client quotas and the connection creation rate are measured over. */
export function quotaWindow(config: BrokerConfig): RateWindow {
  return { samples: config.quotaWindowNum, sampleMs: config.quotaWindowSizeSeconds * 1000 };
}
