/**
 * The WAL fence alone at work (storage/wal/fence.ts, cluster/leased-view.ts): a leader whose
 * lease a peer revoked while it was alive and cut off from etcd (its etcd connection frozen by a
 * proxy) cannot learn that it lost its lease or its partition, and its lease still looks valid to
 * it (its window is long). The new leader fences its WAL and replays it without waiting out that
 * window. A produce the old leader takes after that is appended and fsynced, then refused: the
 * new leader's replay cannot have seen it. Without the fence it would be acknowledged and lost.
 * The same holds for a transaction marker a coordinator asks it to write (WriteTxnMarkers).
 */
import { afterEach, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type TestCluster, revokeLeaseAsPeer, startCluster } from '../helpers/cluster.js';
import { type FreezeProxy, startFreezeProxy } from '../helpers/freeze-proxy.js';
import {
  consumeAll, createTopicWithLeader, kafkaClient, waitFor,
} from '../helpers/kafka-client.js';
import { RawClient } from '../helpers/raw-client.js';
import { produceRecords, writeCommitMarker } from '../helpers/raw-requests.js';

const LEASE_MS = 20_000;
/** Long: the cut-off leader's lease stays valid to it for the whole test, even on a busy host. */
const WINDOW_MS = 15_000;
const TOPIC = 'fenced';

let cluster: TestCluster | undefined;
const proxies = new Map<number, FreezeProxy>();
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
  for (const proxy of proxies.values()) await proxy.close();
  proxies.clear();
});

async function writeMarker(port: number): Promise<number> {
  const client = await RawClient.connect(port);
  try {
    return await writeCommitMarker(client, TOPIC, 77_001n);
  } finally {
    client.close();
  }
}

async function produceValue(port: number, value: string): Promise<number> {
  const client = await RawClient.connect(port);
  try {
    const records = await encodeBatch({ baseTimestamp: Date.now(),
      records: [{ key: null, value: Buffer.from(value) }] });
    return (await produceRecords(client, TOPIC, records)).errorCode;
  } finally {
    client.close();
  }
}

it('a revoked leader cut off from etcd acknowledges nothing once its WAL is fenced', async () => {
  cluster = await startCluster(3, { leaseTtlMs: LEASE_MS, ackWindowMs: WINDOW_MS },
    async (nodeId, etcdEndpoint) => {
      const proxy = await startFreezeProxy(etcdEndpoint);
      proxies.set(nodeId, proxy);
      return { etcdEndpoints: proxy.endpoint };
    });
  const kafka = kafkaClient(cluster.bootstrap);
  const leader = await createTopicWithLeader(kafka, TOPIC);
  const victim = cluster.brokers[leader - 1]!;
  const survivors = cluster.brokers.filter((b) => b !== victim);
  expect(await produceValue(victim.port, 'before')).toBe(ErrorCode.NONE);

  proxies.get(leader)!.freeze();
  // What a peer does when it takes the leader for dead (peer-probe.ts): a false positive here.
  expect(await revokeLeaseAsPeer(cluster.etcd.endpoint, leader)).toBe(true);
  const fencedAndOpened = (b: (typeof survivors)[number]) =>
    b.output().includes('fenced a revoked broker\'s WAL') &&
    b.output().includes('partition recovered');
  await waitFor('a new leader to fence the WAL and open the partition',
    () => survivors.some(fencedAndOpened), LEASE_MS);
  const waited = 'recovery waits out a revoked broker\'s window';
  expect(survivors.some((b) => b.output().includes(waited))).toBe(false);

  // The cut-off leader still serves the partition and its lease looks valid to it.
  const code = await produceValue(victim.port, 'after-fence');
  expect(code).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  // Logged before the answer was sent, but its stderr may reach this process after the answer.
  await waitFor('the cut-off broker to log that it was fenced',
    () => victim.output().includes('a new leader fenced this broker\'s WAL'), 10_000);
  // A marker is judged as a produced batch: appended and fsynced, then not confirmed.
  expect(await writeMarker(victim.port)).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  expect(victim.output()).not.toContain('broker lease lost'); // refused by the fence alone

  proxies.get(leader)!.thaw();
  await waitFor('the cut-off broker to rejoin',
    () => victim.output().includes('rejoined the cluster'), 20_000);
  const read = await consumeAll(kafkaClient(survivors.map((b) => b.bootstrap)), TOPIC, 1);
  expect(read.map((r) => r.value)).toEqual(['before']);
}, 120_000);
