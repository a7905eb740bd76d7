/**
 * Prometheus metrics (prom-client), one registry per broker so tests can run several brokers in
 * one process. Served at http://<metricsHost>:<metricsPort>/metrics by `serveMetrics`.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TalliedCounter, TalliedHistogram } from './metric-tally.js';

const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    ...securityMetrics(registry),
    // Counted on every request, socket read or write, appended batch and fetched partition:
    // tallied (metric-tally.ts). The rest are prom-client's own metrics.
    requests: new TalliedCounter(registry, 'ledgerstream_requests_total',
      'Requests by API and outcome', ['api', 'outcome']),
    requestLatency: new TalliedHistogram(registry, 'ledgerstream_request_seconds',
      'Request latency by API', ['api'], LATENCY_BUCKETS_S),
    bytesIn: new TalliedCounter(registry, 'ledgerstream_network_in_bytes_total',
      'Bytes read from clients'),
    bytesOut: new TalliedCounter(registry, 'ledgerstream_network_out_bytes_total',
      'Bytes written to clients'),
    connections: new Gauge({ name: 'ledgerstream_connections', help: 'Open client connections',
      registers: [registry] }),
    walFsyncLatency: new Histogram({ name: 'ledgerstream_wal_fsync_seconds', help: 'WAL group sync latency (its O_DSYNC write)',
      buckets: LATENCY_BUCKETS_S, registers: [registry] }),
    walEntriesPerFsync: new Histogram({ name: 'ledgerstream_wal_entries_per_fsync',
      help: 'Entries made durable by one fsync (group commit)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry] }),
    walBytesPerFsync: new Histogram({ name: 'ledgerstream_wal_bytes_per_fsync', help: 'Bytes per WAL fsync',
      buckets: [1024, 16384, 65536, 262144, 1048576, 4194304, 16777216], registers: [registry] }),
    // A paused or cut-off broker may have been replaced: what it appended it does not confirm.
    acksRefused: new Counter({ name: 'ledgerstream_produce_acks_refused_total',
      help: 'Produce partitions appended but answered NOT_LEADER_OR_FOLLOWER: no etcd lease '
        + 'renewal confirmed within ackWindowMs, or the WAL fenced by a new leader (the client '
        + 'retries; idempotence deduplicates)',
      registers: [registry] }),
    uploadLatency: new Histogram({ name: 'ledgerstream_upload_seconds', help: 'Segment upload (PUT + commit) latency',
      buckets: LATENCY_BUCKETS_S, registers: [registry] }),
    uploadBytes: new Counter({ name: 'ledgerstream_upload_bytes_total', help: 'Bytes uploaded to object storage',
      registers: [registry] }),
    uploadBacklog: new Gauge({ name: 'ledgerstream_upload_backlog_bytes',
      help: 'Bytes appended and not yet in object storage (held in memory and the WAL)', registers: [registry] }),
    uploadErrors: new Counter({ name: 'ledgerstream_upload_errors_total', help: 'Failed segment uploads',
      registers: [registry] }),
    cacheHits: new Counter({ name: 'ledgerstream_read_cache_hits_total', help: 'Read cache hits',
      registers: [registry] }),
    cacheMisses: new Counter({ name: 'ledgerstream_read_cache_misses_total', help: 'Read cache misses',
      registers: [registry] }),
    groups: new Gauge({ name: 'ledgerstream_groups', help: 'Consumer groups coordinated here',
      registers: [registry] }),
    partitions: new Gauge({ name: 'ledgerstream_partitions', help: 'Partitions led here',
      registers: [registry] }),
    bytesProduced: new TalliedCounter(registry, 'ledgerstream_produced_bytes_total',
      'Record batch bytes appended'),
    bytesFetched: new TalliedCounter(registry, 'ledgerstream_fetched_bytes_total',
      'Record batch bytes served', ['source']),
    topicBytesIn: new TalliedCounter(registry, 'ledgerstream_topic_produced_bytes_total',
      'Record batch bytes appended, by topic', ['topic']),
    topicRecordsIn: new TalliedCounter(registry, 'ledgerstream_topic_produced_records_total',
      'Records appended, by topic (from the batch headers)', ['topic']),
    topicBytesOut: new TalliedCounter(registry, 'ledgerstream_topic_fetched_bytes_total',
      'Record batch bytes served to consumers, by topic', ['topic']),
  };
  return m;
}

/** Authentication, authorization, quotas and connection limits: who was let in, and how far. */
function securityMetrics(registry: Registry) {
  return {
    authorizationDenials: new Counter({ name: 'ledgerstream_authorization_denials_total',
      help: 'Requests (or parts of them) the authorizer denied, by API, operation and resource '
        + 'type',
      labelNames: ['api', 'operation', 'resource_type'], registers: [registry] }),
    throttledRequests: new Counter({ name: 'ledgerstream_throttled_requests_total',
      help: 'Requests that put their client over a quota (answered with throttle_time_ms, '
        + 'then the connection muted)',
      labelNames: ['api'] as const, registers: [registry] }),
    connectionsRefused: new Counter({ name: 'ledgerstream_connections_refused_total',
      help: 'Connections closed at once by max.connections or max.connections.per.ip',
      labelNames: ['limit'] as const, registers: [registry] }),
    listenerConnections: new Gauge({ name: 'ledgerstream_listener_connections',
      help: 'Open client connections by listener', labelNames: ['listener'],
        registers: [registry] }),
    authentications: new Counter({ name: 'ledgerstream_authentications_total',
      help: 'Successful authentications (and re-authentications) by listener and mechanism',
      labelNames: ['listener', 'mechanism'], registers: [registry] }),
    authenticationFailures: new Counter({ name: 'ledgerstream_authentication_failures_total',
      help: 'Failed authentications (SASL, TLS handshakes, refused client certificates, requests ' +
        'before authentication) by listener and mechanism',
      labelNames: ['listener', 'mechanism'], registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Which broker serves these metrics (always 1, the node id as a label): a tool that reads several
 * endpoints, such as `ledgerstream cluster status`, can tell whose figures it got.
 */
export function exportBrokerInfo(metrics: Metrics, nodeId: number): void {
  new Gauge({ name: 'ledgerstream_broker_info', help: 'Always 1; node_id names the broker serving these metrics',
    labelNames: ['node_id'], registers: [metrics.registry] }).set({ node_id: String(nodeId) }, 1);
}

/** The age of the oldest batch not yet in object storage (read at scrape time; 0 when none waits). */
export function exportBacklogAge(metrics: Metrics, oldestAtMs: () => number | null): void {
  new Gauge({
    name: 'ledgerstream_upload_backlog_oldest_seconds', registers: [metrics.registry],
    help: 'Age of the oldest appended batch not yet in object storage (0 when the backlog is empty)',
    collect() {
      const oldest = oldestAtMs();
      this.set(oldest === null ? 0 : Math.max(0, Date.now() - oldest) / 1000);
    },
  });
}

/** The broker-wide memory budget for clients' bytes (read at scrape time). */
export function exportClientMemory(metrics: Metrics,
  budget: () => { requestBytes: number; answerBytes: number; looseBytes: number; peakBytes: number; limitBytes: number;
    waiting: number; }): void {
  new Gauge({
    name: 'ledgerstream_client_memory_bytes', registers: [metrics.registry], labelNames: ['kind'],
    help: 'Bytes held for clients: requests (admitted, being read or handled), answers (fetched data, unsent answers), loose (read, not yet admitted), peak of their sum since start, limit (of each of requests and answers)',
    collect() {
      const b = budget();
      this.set({ kind: 'requests' }, b.requestBytes);
      this.set({ kind: 'answers' }, b.answerBytes);
      this.set({ kind: 'loose' }, b.looseBytes);
      this.set({ kind: 'peak' }, b.peakBytes);
      this.set({ kind: 'limit' }, b.limitBytes);
    },
  });
  new Gauge({
    name: 'ledgerstream_connections_waiting_for_memory', registers: [metrics.registry],
    help: 'Connections that stopped reading until the client memory budget has room',
    collect() {
      this.set(budget().waiting);
    },
  });
}

/** Exposes an object store's own request counters (read at scrape time). */
export function exportStoreStats(metrics: Metrics, stats: () => Record<string, number>): void {
  exportStatsByKind(metrics, 'ledgerstream_object_store_requests',
    'Object store requests and bytes since start, by kind', stats);
}

/** Exposes the read cache's counters and in-flight read-ahead (read at scrape time). */
export function exportReadCacheStats(metrics: Metrics, stats: () => Record<string, number>): void {
  exportStatsByKind(metrics, 'ledgerstream_read_cache',
    'Read cache counters since start and current sizes (read-ahead in flight included), by kind', stats);
}

export function exportFetchSessionStats(metrics: Metrics, stats: () => Record<string, number>):
  void {
  exportStatsByKind(metrics, 'ledgerstream_fetch_sessions', 'Incremental fetch sessions '
    + '(KIP-227): sessions and partitions held now; incremental fetches and evictions since start, '
    + 'by kind', stats);
}

function exportStatsByKind(metrics: Metrics, name: string, help: string,
  stats: () => Record<string, number>): void {
  new Gauge({
    name, help, labelNames: ['kind'], registers: [metrics.registry],
    collect() {
      for (const [kind, value] of Object.entries(stats())) this.set({ kind }, value);
    },
  });
}

/** What /ready answers: ready, or the reasons it is not (each a short sentence). */
export type Readiness = () => string[];

/**
 * Serves /metrics (Prometheus), /health (200 while the process answers at all: for liveness
 * probes) and /ready (200 when the broker serves: recovered, in the cluster, object store taking
 * uploads; else 503 with the reasons, one per line: for readiness probes and load balancers).
 */
export function serveMetrics(metrics: Metrics, host: string, port: number, readiness: Readiness = () => []): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.url === '/ready') {
      const reasons = readiness();
      res.writeHead(reasons.length === 0 ? 200 : 503, { 'content-type': 'text/plain' })
        .end(reasons.length === 0 ? 'ready\n' : `${reasons.join('\n')}\n`);
      return;
    }
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
    }, (err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
