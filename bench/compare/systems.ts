/**
 * The systems a side-by-side benchmark measures, behind one small interface so every workload
 * runs unchanged against each:
 *
 *   kafka                 Apache Kafka, KRaft single node, its default durability: a produce is
 *                         acknowledged once in the page cache, fsync left to the OS;
 *   kafka-fsync           the same broker, topics created with flush.messages=1: every append is
 *                         fsynced before it is acknowledged, as Ledgerstream always does;
 *   ledgerstream          one Ledgerstream broker with embedded defaults (WAL + SQLite +
 *                         local-folder object store);
 *   ledgerstream-s3       the same broker with its objects in S3 (a MinIO on loopback);
 *   ledgerstream-object-wal  the same broker in the object-storage WAL mode on that MinIO: a
 *                         produce is acknowledged once its object is in S3 (no local WAL);
 *   ledgerstream-cluster  three Ledgerstream brokers on loopback (etcd, shared WAL folder,
 *                         shared object folder), clients bootstrapped from one of them.
 *
 * A system knows its broker processes (to meter CPU and memory), creates ready-to-use topics
 * (in the cluster: after leadership has settled), and restarts every broker gracefully (for
 * the catch-up read: afterwards no broker holds the data in memory). Kafka and the single
 * Ledgerstream brokers can also serve an SSL listener beside PLAINTEXT (the TLS scenario, tls.ts).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrokerProcess, startBroker } from '../../test/helpers/broker-process.js';
import { startCluster, type TestCluster } from '../../test/helpers/cluster.js';
import { waitForStableLeaders } from '../../test/helpers/kafka-client.js';
import { freePort } from '../../test/helpers/ports.js';
import type { PhaseProfiler } from '../lib/cpu-profile.js';
import { kafkaFor } from '../lib/kafkajs-load.js';
import { log } from '../lib/run-info.js';
import { type S3Server, startS3Server } from '../../test/helpers/s3-server.js';
import { type ApacheKafka, startApacheKafka } from './apache-kafka.js';
import type { Connection } from './java-perf.js';
import { type BenchTls, ledgerstreamTlsSettings } from './tls.js';
import { rawGetThroughput, type RawGetResult, type S3Access } from './raw-get.js';

export const SYSTEM_IDS = ['kafka', 'kafka-fsync', 'ledgerstream', 'ledgerstream-s3',
  'ledgerstream-object-wal', 'ledgerstream-cluster'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];
/** The single-broker Ledgerstream systems (one process: profiled with --cpu-prof). */
export type SingleBrokerId = 'ledgerstream' | 'ledgerstream-s3' | 'ledgerstream-object-wal';
/** The systems that can serve an SSL listener (the cluster's brokers do not). */
export const TLS_CAPABLE: readonly SystemId[] = ['kafka', 'kafka-fsync', 'ledgerstream',
  'ledgerstream-s3', 'ledgerstream-object-wal'];

export const SYSTEM_NAMES: Record<SystemId, string> = {
  'kafka': 'Kafka',
  'kafka-fsync': 'Kafka fsync',
  'ledgerstream': 'Ledgerstream',
  'ledgerstream-s3': 'Ledgerstream S3',
  'ledgerstream-object-wal': 'Ledgerstream object WAL',
  'ledgerstream-cluster': 'Ledgerstream ×3',
};

export interface SystemUnderTest {
  id: SystemId;
  /** One line on what exactly runs. */
  description: string;
  bootstrap: string;
  /** The SSL listener (same broker) and the tools' client config, when started with one. */
  tls?: Connection;
  /** Broker process ids now (they change across restarts). */
  pids(): number[];
  /** Ledgerstream brokers' Prometheus ports (empty for Kafka). */
  metricsPorts: number[];
  createTopic(name: string, partitions: number): Promise<void>;
  /** Gracefully restarts every broker, then waits until `topics` have leaders again. */
  restartAll(topics: string[]): Promise<void>;
  /** Set when the brokers run with cpuProfOnSignalPreload: runs are then profiled one by one. */
  profiler?: PhaseProfiler;
  /** Systems whose objects live in S3: every object read whole with the broker's S3 client. */
  rawGet?: () => Promise<RawGetResult>;
}

async function createTopic(bootstrap: string, name: string, partitions: number,
  configEntries: { name: string; value: string }[], settleLeaders: boolean): Promise<void> {
  const admin = kafkaFor(bootstrap, 'bench-admin').admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, configEntries }],
      waitForLeaders: true });
    if (!created) throw new Error(`topic ${name} already exists: every benchmark run needs fresh topics`);
    if (settleLeaders) await waitForStableLeaders(admin, name);
  } finally {
    await admin.disconnect();
  }
}

/**
 * After a restart: until no leader of `topics` has changed for `quietMs`. The cluster's
 * controller rebalances for a while after brokers rejoin; a read that overlapped those handoffs
 * would measure them instead of reading.
 */
async function waitForLeaders(bootstrap: string, topics: string[], quietMs: number): Promise<void> {
  const admin = kafkaFor(bootstrap, 'bench-admin').admin();
  await admin.connect();
  try {
    for (const t of topics) await waitForStableLeaders(admin, t, quietMs, 60_000);
  } finally {
    await admin.disconnect();
  }
}

/** Apache Kafka as two systems (default durability, fsync per write) sharing one broker. */
export async function startKafkaSystems(tls?: BenchTls):
  Promise<{ systems: SystemUnderTest[]; kafka: ApacheKafka }> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-kafka-'));
  const kafka = await startApacheKafka(workDir,
    tls ? { keystorePem: tls.certs.serverPem, truststorePem: tls.certs.caCert } : undefined);
  const ssl = kafka.sslBootstrap === undefined || !tls ? {} :
    { tls: { bootstrap: kafka.sslBootstrap, clientConfig: tls.clientConfig } };
  const make = (id: 'kafka' | 'kafka-fsync', configEntries: { name: string; value: string }[],
    description: string): SystemUnderTest => ({
    id, description, bootstrap: kafka.bootstrap, metricsPorts: [], ...ssl,
    pids: () => [kafka.pid],
    createTopic: (name, partitions) => createTopic(kafka.bootstrap, name, partitions, configEntries, false),
    async restartAll(topics) {
      await kafka.restart();
      await waitForLeaders(kafka.bootstrap, topics, 1000);
    },
  });
  return {
    kafka,
    systems: [
      make('kafka', [], `Apache Kafka ${kafka.version}, KRaft combined broker+controller, default settings: acknowledged from the page cache, no fsync per write`),
      make('kafka-fsync', [{ name: 'flush.messages', value: '1' }], `The same Kafka broker with topics created with flush.messages=1: each append is fsynced before it is acknowledged`),
    ],
  };
}

/** Settings the benchmark gives Ledgerstream besides its defaults (the Kafka side gets the same rebalance delay). */
const LEDGERSTREAM_SETTINGS = { groupInitialRebalanceDelayMs: 0 } as const;

const SINGLE_BROKER_DESCRIPTIONS: Record<SingleBrokerId, string> = {
  'ledgerstream': 'One Ledgerstream broker, embedded defaults: WAL with group-committed ' +
    'fdatasync, SQLite coordinator, local-folder object store, all on the same disk',
  'ledgerstream-s3': 'One Ledgerstream broker, embedded defaults but objects in S3: MinIO ' +
    '(single drive, same disk) on loopback, WAL with group-committed fdatasync, SQLite coordinator',
  'ledgerstream-object-wal': 'One Ledgerstream broker in the object-storage WAL mode on the same ' +
    'MinIO: no local WAL, a produce is acknowledged once the object holding it is in S3 and ' +
    'committed (at most 10 PUTs a second, the default --object-wal-puts-per-second-max)',
};

function s3Settings(s3: S3Server, bucket: string): Record<string, string | boolean> {
  return { objectStore: 's3', s3Endpoint: s3.endpoint, s3Region: s3.region, s3Bucket: bucket,
    s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey, s3CreateBucket: true };
}

/**
 * One Ledgerstream broker; for the S3 systems a MinIO beside it, which stop() stops after the
 * broker. The object WAL mode uses the same MinIO, another bucket. With `tls`, the broker
 * serves an SSL listener beside PLAINTEXT.
 */
export async function startLedgerstream(id: SingleBrokerId = 'ledgerstream', tls?: BenchTls):
  Promise<{ system: SystemUnderTest; stop(): Promise<void> }> {
  const metricsPort = await freePort();
  const ports = tls ? { port: await freePort(), sslPort: await freePort() } : undefined;
  const tlsSettings = tls && ports ? ledgerstreamTlsSettings(tls, ports.port, ports.sslPort) : {};
  const s3 = id === 'ledgerstream' ? undefined : await startS3Server();
  const bucket = `bench-${id}-${Date.now().toString(36)}`;
  const storeSettings = s3 ? s3Settings(s3, bucket) : {};
  const walSettings: Record<string, string> =
    id === 'ledgerstream-object-wal' ? { walMode: 'object' } : {};
  let broker: BrokerProcess;
  try {
    broker = await startBroker({ ...(ports ? { port: ports.port } : {}), settings: {
      ...LEDGERSTREAM_SETTINGS, ...storeSettings, ...walSettings, ...tlsSettings, metricsPort } });
  } catch (err) {
    await s3?.stop();
    throw err;
  }
  const access: S3Access | undefined = s3 ? { ...s3, bucket } : undefined;
  const system: SystemUnderTest = {
    id, description: SINGLE_BROKER_DESCRIPTIONS[id],
    bootstrap: broker.bootstrap, metricsPorts: [metricsPort],
    ...(tls && ports ?
      { tls: { bootstrap: `127.0.0.1:${ports.sslPort}`, clientConfig: tls.clientConfig } } : {}),
    pids: () => [broker.pid!],
    createTopic: (name, partitions) => createTopic(broker.bootstrap, name, partitions, [], false),
    async restartAll(topics) {
      await broker.stop();
      await broker.restart();
      await waitForLeaders(broker.bootstrap, topics, 1000);
    },
    ...(access ? { rawGet: () => rawGetThroughput(access) } : {}),
  };
  return { system, async stop() {
    await broker.stop();
    await broker.destroy();
    await s3?.stop();
  } };
}

/** A graceful stop slower than this is logged with the broker's last output. */
const SLOW_STOP_MS = 10_000;

export async function startLedgerstreamCluster(): Promise<{ system: SystemUnderTest; cluster: TestCluster }> {
  const metricsPorts: number[] = [];
  // The test helper's short lease and upload interval are for fast failover tests; the
  // benchmark runs the defaults users get.
  const cluster = await startCluster(3, { ...LEDGERSTREAM_SETTINGS, leaseTtlMs: 6000, uploadIntervalMs: 250 },
    async () => {
      const metricsPort = await freePort();
      metricsPorts.push(metricsPort);
      return { metricsPort };
    });
  const bootstrap = cluster.brokers[0]!.bootstrap;
  const system: SystemUnderTest = {
    id: 'ledgerstream-cluster',
    description: 'Three Ledgerstream brokers on this same machine: etcd coordinator, shared-folder WAL and object store, clients bootstrapped from broker 1',
    bootstrap, metricsPorts,
    pids: () => cluster.brokers.map((b) => b.pid!),
    createTopic: (name, partitions) => createTopic(bootstrap, name, partitions, [], true),
    async restartAll(topics) {
      // One at a time, as a rolling restart: each hands its partitions to the others on SIGTERM.
      // Each step is logged: a run that overran its limit here once left no trace of which step.
      for (const [i, b] of cluster.brokers.entries()) {
        const t0 = performance.now();
        const code = await b.stop();
        const stopMs = Math.round(performance.now() - t0);
        const tail = code === 0 && stopMs < SLOW_STOP_MS ? ''
          : `; its last output:\n${b.output().slice(-2000)}`;
        log(`  broker ${i + 1} stopped in ${stopMs} ms (exit ${code})${tail}`);
        await b.restart();
        log(`  broker ${i + 1} restarted after ${Math.round(performance.now() - t0)} ms`);
      }
      const t0 = performance.now();
      await waitForLeaders(bootstrap, topics, 5000);
      log(`  leaders settled after ${Math.round(performance.now() - t0)} ms`);
    },
  };
  return { system, cluster };
}
