/**
 * A Ledgerstream cluster on loopback for tests: a real etcd, a shared folder standing in for the
 * shared volume (object store and WALs), and N broker processes on fixed free ports.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BrokerProcess, startBroker } from './broker-process.js';
import { type EtcdServer, etcdServerLimits, startEtcdServer } from './etcd-server.js';
import { freePort } from './ports.js';
import { type EtcdClient, type EtcdKeyValue, openEtcdClient } from '../../src/etcd/client.js';
import { EtcdKeys } from '../../src/etcd/keys.js';
import { decodeRegistration, encodeRegistration } from '../../src/cluster/membership.js';
import { revokePeerLease } from '../../src/cluster/peer-probe.js';

export { freePort };

export interface TestCluster {
  etcd: EtcdServer;
  brokers: BrokerProcess[];
  bootstrap: string[];
  sharedDir: string;
  /** Starts one more broker (the next node id) with the same settings. */
  addBroker(): Promise<BrokerProcess>;
  destroy(): Promise<void>;
}


type Settings = Record<string, string | number | boolean>;

/**
 * `settings` apply to every broker; `perBroker` adds settings that must differ between brokers
 * (e.g. a metrics port, or an etcd endpoint behind a proxy), by node id (1, 2, ...).
 */
export async function startCluster(brokerCount: number, settings: Settings = {},
  perBroker: (nodeId: number, etcdEndpoint: string) => Promise<Settings> | Settings = () => ({}),
  onOutput?: (nodeId: number, chunk: string) => void): Promise<TestCluster> {
  const etcd = await startEtcdServer();
  const sharedDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-cluster-'));
  const brokers: BrokerProcess[] = [];
  const addBroker = async () => {
    const nodeId = brokers.length + 1;
    const broker = await startBroker({
      port: await freePort(),
      dataDir: path.join(sharedDir, `broker-${nodeId}`),
      onOutput: onOutput === undefined ? undefined : (chunk) => onOutput(nodeId, chunk),
      settings: {
        nodeId, coordinator: 'etcd', etcdEndpoints: etcd.endpoint,
        etcdTxnOpsMax: etcdServerLimits.txnOpsMax, leaseTtlMs: 2000,
        walMode: 'shared', sharedWalDir: path.join(sharedDir, 'wal'),
        objectStore: 'local', objectStoreDir: path.join(sharedDir, 'objects'),
        uploadIntervalMs: 100, ...settings, ...await perBroker(nodeId, etcd.endpoint),
      },
    });
    brokers.push(broker);
    return broker;
  };
  try {
    for (let i = 0; i < brokerCount; i++) await addBroker();
  } catch (err) {
    for (const b of brokers) await b.kill();
    await etcd.stop();
    throw err;
  }
  return {
    etcd, brokers, sharedDir, addBroker,
    get bootstrap() { return brokers.map((b) => b.bootstrap); },
    async destroy() {
      for (const b of brokers) await b.kill();
      await etcd.stop();
      await rm(sharedDir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes each broker's whole output (what it kept of it) to broker-<node id>.log in a new temporary
 * folder, for a failed test to point at; returns the folder. Kept after the cluster is destroyed.
 */
export async function saveBrokerLogs(brokers: readonly BrokerProcess[], label: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `ledgerstream-logs-${label}-`));
  for (const [i, b] of brokers.entries()) await writeFile(path.join(dir, `broker-${i + 1}.log`), b.output());
  return dir;
}

/**
 * Rewrites a live broker's registration (same lease) to say it is leaving, as its graceful
 * shutdown would, without the shutdown: the other brokers must stop giving it partitions.
 */
export async function markLeavingInEtcd(etcdEndpoint: string, nodeId: number): Promise<void> {
  await withRegistration(etcdEndpoint, nodeId, async (found) => {
    if (found === undefined) throw new Error(`broker ${nodeId} is not registered`);
    const { client, keys, kv } = found;
    const registration = { ...decodeRegistration(kv.value), leaving: true };
    await client.kv.put({ key: Buffer.from(keys.broker(nodeId)),
      value: Buffer.from(encodeRegistration(registration)), lease: kv.lease });
  });
}

/**
 * What a peer does when it takes broker `nodeId` for dead (src/cluster/peer-probe.ts): writes its
 * `revoked/` record, then revokes its lease. Returns whether this call revoked it.
 */
export async function revokeLeaseAsPeer(etcdEndpoint: string, nodeId: number): Promise<boolean> {
  return withRegistration(etcdEndpoint, nodeId, async (found) =>
    found !== undefined &&
      revokePeerLease(found.client, found.keys, decodeRegistration(found.kv.value)));
}

/** Broker `nodeId`'s registration key as etcd holds it (undefined when absent), with a client
 *  open for the duration of `use`. */
async function withRegistration<T>(etcdEndpoint: string, nodeId: number,
  use: (found: { client: EtcdClient; keys: EtcdKeys; kv: EtcdKeyValue } | undefined) => Promise<T>):
  Promise<T> {
  const client = openEtcdClient({ hosts: etcdEndpoint, callTimeoutMs: 5_000 });
  const keys = new EtcdKeys('/ledgerstream/');
  try {
    const [kv] = (await client.kv.range({ key: Buffer.from(keys.broker(nodeId)) })).kvs;
    return await use(kv === undefined ? undefined : { client, keys, kv });
  } finally {
    client.close();
  }
}
