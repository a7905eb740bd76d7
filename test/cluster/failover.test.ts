/**
 * A three-broker cluster on loopback (etcd + shared folder + 3 broker processes): partitions are
 * led by all three; clients bootstrapped from one broker produce and consume; a SIGKILLed leader
 * is replaced within seconds with no acknowledged record lost. Prints the failover time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { consumeAll, kafkaClient, waitFor } from '../helpers/kafka-client.js';

describe.each([{ walMode: 'shared' }, { walMode: 'object' }])('WAL mode $walMode', ({ walMode }) => {
let cluster: TestCluster;
beforeAll(async () => { cluster = await startCluster(3, { walMode }); }, 120_000);
afterAll(async () => cluster?.destroy());

async function leaders(topic: string, bootstrap: string[]): Promise<Map<number, number>> {
  const admin = kafkaClient(bootstrap).admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return new Map(meta.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]));
  } finally {
    await admin.disconnect();
  }
}

it('spreads partitions over all three brokers and serves clients bootstrapped from one', async () => {
  const kafka = kafkaClient(cluster.brokers[0]!.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 6 }] });
  await admin.disconnect();
  await waitFor('leaders on all three brokers', async () => new Set((await leaders('spread', cluster.bootstrap)).values()).size === 3, 20_000);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const values = Array.from({ length: 120 }, (_, i) => `v${i}`);
  await producer.send({ topic: 'spread', acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  await producer.disconnect();
  const read = await consumeAll(kafka, 'spread', values.length);
  expect(read.map((r) => r.value).sort()).toEqual([...values].sort());
}, 90_000);

it('replaces a SIGKILLed leader within seconds and loses no acknowledged record', async () => {
  const kafka = kafkaClient(cluster.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 3 }] });
  await admin.disconnect();
  await waitFor('leaders', async () => [...(await leaders('failover', cluster.bootstrap)).values()].every((l) => l > 0), 20_000);
  const producer = kafkaClient(cluster.bootstrap, 'failover-producer').producer({
    idempotent: true, retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 500 } });
  await producer.connect();
  const acked: string[] = [];
  for (let i = 0; i < 50; i++) {
    await producer.send({ topic: 'failover', acks: -1, messages: [{ key: 'same', value: `before-${i}` }] });
    acked.push(`before-${i}`);
  }
  const partition = (await kafka.admin().fetchTopicOffsets('failover').catch(() => []))
    .find((p) => Number(p.high) > 0)?.partition ?? 0;
  const leaderId = (await leaders('failover', cluster.bootstrap)).get(partition)!;
  const victim = cluster.brokers[leaderId - 1]!;
  const killedAt = Date.now();
  await victim.kill();
  await producer.send({ topic: 'failover', acks: -1, messages: [{ key: 'same', value: 'after-kill' }] });
  const failoverMs = Date.now() - killedAt;
  acked.push('after-kill');
  console.log(`failover (${walMode} WAL): partition ${partition} leader ${leaderId} killed; first successful produce after ${failoverMs} ms`);
  await producer.disconnect();
  const read = await consumeAll(kafkaClient(cluster.bootstrap.filter((b) => b !== victim.bootstrap)), 'failover', acked.length);
  expect(read.map((r) => r.value)).toEqual(acked);
  expect(failoverMs).toBeLessThan(30_000); // generous bound; the printed figure is the measurement
  await victim.restart();
}, 120_000);
});
