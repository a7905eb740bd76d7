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
 *   ledgerstream-cluster  three Ledgerstream brokers on loopback (etcd, shared WAL folder,
 *                         shared object folder), clients bootstrapped from one of them.
 *
 * A system knows its broker processes (to meter CPU and memory), creates ready-to-use topics
 * (in the cluster: after leadership has settled), and restarts every broker gracefully (for
 * the catch-up read: afterwards no broker holds the data in memory).
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
import { type ApacheKafka, startApacheKafka } from './apache-kafka.js';

export const SYSTEM_IDS = ['kafka', 'kafka-fsync', 'ledgerstream', 'ledgerstream-cluster'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

export const SYSTEM_NAMES: Record<SystemId, string> = {
  'kafka': 'Kafka',
  'kafka-fsync': 'Kafka fsync',
  'ledgerstream': 'Ledgerstream',
  'ledgerstream-cluster': 'Ledgerstream ×3',
};

export interface SystemUnderTest {
  id: SystemId;
  /** One line on what exactly runs. */
  description: string;
  bootstrap: string;
  /** Broker process ids now (they change across restarts). */
  pids(): number[];
  /** Ledgerstream brokers' Prometheus ports (empty for Kafka). */
  metricsPorts: number[];
  createTopic(name: string, partitions: number): Promise<void>;
  /** Gracefully restarts every broker, then waits until `topics` have leaders again. */
  restartAll(topics: string[]): Promise<void>;
  /** Set when the brokers run with cpuProfOnSignalPreload: runs are then profiled one by one. */
  profiler?: PhaseProfiler;
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
export async function startKafkaSystems(): Promise<{ systems: SystemUnderTest[]; kafka: ApacheKafka }> {
  const kafka = await startApacheKafka(await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-kafka-')));
  const make = (id: 'kafka' | 'kafka-fsync', configEntries: { name: string; value: string }[],
    description: string): SystemUnderTest => ({
    id, description, bootstrap: kafka.bootstrap, metricsPorts: [],
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

export async function startLedgerstream(): Promise<{ system: SystemUnderTest; broker: BrokerProcess }> {
  const metricsPort = await freePort();
  const broker = await startBroker({ settings: { ...LEDGERSTREAM_SETTINGS, metricsPort } });
  const system: SystemUnderTest = {
    id: 'ledgerstream',
    description: 'One Ledgerstream broker, embedded defaults: WAL with group-committed fdatasync, SQLite coordinator, local-folder object store, all on the same disk',
    bootstrap: broker.bootstrap, metricsPorts: [metricsPort],
    pids: () => [broker.pid!],
    createTopic: (name, partitions) => createTopic(broker.bootstrap, name, partitions, [], false),
    async restartAll(topics) {
      await broker.stop();
      await broker.restart();
      await waitForLeaders(broker.bootstrap, topics, 1000);
    },
  };
  return { system, broker };
}

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
      for (const b of cluster.brokers) {
        await b.stop();
        await b.restart();
      }
      await waitForLeaders(bootstrap, topics, 5000);
    },
  };
  return { system, cluster };
}
