/**
 * Scale-out and graceful shutdown move leadership, never data: a broker that joins takes a fair
 * share of the partitions by handoff; a broker sent SIGTERM uploads its WAL, hands its partitions
 * over and exits 0. Every record stays readable, and the bytes in object storage do not grow by
 * copies (only by uploads of what was still in a WAL).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { consumeAll, kafkaClient, waitFor } from '../helpers/kafka-client.js';

let cluster: TestCluster;
beforeAll(async () => { cluster = await startCluster(2); }, 120_000);
afterAll(async () => cluster?.destroy());

async function leaderCounts(bootstrap: string[]): Promise<Map<number, number>> {
  const admin = kafkaClient(bootstrap).admin();
  await admin.connect();
  try {
    const counts = new Map<number, number>();
    for (const p of (await admin.fetchTopicMetadata({ topics: ['scale'] })).topics[0]!.partitions) {
      counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
    }
    return counts;
  } finally {
    await admin.disconnect();
  }
}

async function storedBytes(): Promise<number> {
  const dir = path.join(cluster.sharedDir, 'objects', 'segments');
  let total = 0;
  for (const f of await readdir(dir)) total += (await stat(path.join(dir, f))).size;
  return total;
}

it('a joining broker takes a fair share and a leaving one hands over, moving no data', async () => {
  const kafka = kafkaClient(cluster.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'scale', numPartitions: 6 }] });
  await admin.disconnect();
  await waitFor('two brokers share the partitions', async () => {
    const c = await leaderCounts(cluster.bootstrap);
    return c.get(1) === 3 && c.get(2) === 3;
  }, 20_000);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const values = Array.from({ length: 600 }, (_, i) => `r${i}-${'x'.repeat(500)}`);
  await producer.send({ topic: 'scale', acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  await producer.disconnect();
  await new Promise((r) => setTimeout(r, 500)); // uploaded by now (interval 100 ms)
  const bytesBefore = await storedBytes();

  await cluster.addBroker();
  await waitFor('the new broker leads two partitions', async () => {
    const c = await leaderCounts(cluster.bootstrap);
    return c.get(1) === 2 && c.get(2) === 2 && c.get(3) === 2;
  }, 30_000);
  expect(await storedBytes()).toBe(bytesBefore); // leadership moved; no byte was copied

  const leaving = cluster.brokers[0]!;
  expect(await leaving.stop()).toBe(0);
  const remaining = cluster.brokers.slice(1).map((b) => b.bootstrap);
  await waitFor('the others lead everything', async () => {
    const c = await leaderCounts(remaining);
    return (c.get(2) ?? 0) + (c.get(3) ?? 0) === 6;
  }, 30_000);
  expect(await storedBytes()).toBe(bytesBefore);
  const read = await consumeAll(kafkaClient(remaining), 'scale', values.length);
  expect(read.map((r) => r.value).sort()).toEqual([...values].sort());
}, 150_000);
