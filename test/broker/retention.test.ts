/**
 * Retention and log truncation on a real broker: retention.bytes and retention.ms advance the log
 * start offset and delete objects that hold no live data; DeleteRecords does the same on demand;
 * ListOffsets by timestamp finds the first batch at or after a time.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';

let broker: BrokerProcess;
let kafka: Kafka;

beforeAll(async () => {
  // One object per batch (produceBatches waits for each): lift the PUT budget that would
  // otherwise group them (4 PUTs/s by default).
  broker = await startBroker({ settings: { uploadIntervalMs: 50, uploadPutsPerSecondMax: 1000,
    retentionCheckIntervalMs: 200 } });
  kafka = kafkaClient(broker.bootstrap);
});
afterAll(async () => broker?.destroy());

async function segmentObjects(): Promise<string[]> {
  return (await readdir(path.join(broker.dataDir, 'objects', 'segments')).catch(() => [])).sort();
}

async function produceBatches(topic: string, batches: number, bytes = 2000): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < batches; i++) {
    const objects = new Set(await segmentObjects());
    await producer.send({ topic, acks: -1, messages: [{ value: `${i}:${'r'.repeat(bytes)}` }] });
    // One upload per batch, so one index entry and one object each: wait for its object rather
    // than for a time, which a loaded machine can overrun and put two batches in one object.
    const uploaded = async () => (await segmentObjects()).some((o) => !objects.has(o));
    await waitFor(`batch ${i}'s object`, uploaded, 15_000);
  }
  await producer.disconnect();
}

async function earliest(admin: ReturnType<Kafka['admin']>, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return Number(offsets[0]!.low);
}

it('retention.bytes drops the oldest entries and deletes their objects', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'by-bytes', numPartitions: 1,
    configEntries: [{ name: 'retention.bytes', value: '10000' }] }] });
  await produceBatches('by-bytes', 12);
  // Retention runs every 200 ms: wait until the log start has settled.
  let start = -1;
  await waitFor('log start to settle', async () => {
    const now = await earliest(admin, 'by-bytes');
    const settled = now > 0 && now === start;
    start = now;
    if (!settled) await new Promise((r) => setTimeout(r, 600));
    return settled;
  }, 15_000);
  // Batches are ~2.1 KB: at least 10,000 bytes stay (5 batches), and no more than one extra.
  expect(12 - start).toBeGreaterThanOrEqual(5);
  expect(12 - start).toBeLessThanOrEqual(6);
  // One object per batch, and an object goes once every entry in it is dropped: only the retained
  // batches' objects stay. (Counted against 12, not a count taken after producing: retention
  // runs every 200 ms and may already have deleted some while the last batches went in.)
  await waitFor('objects of dropped entries deleted',
    async () => (await segmentObjects()).length <= 12 - start, 30_000);
  // The retained tail is still readable from the new log start.
  const consumer = kafka.consumer({ groupId: 'by-bytes-reader' });
  const seen: number[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: 'by-bytes', fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { seen.push(Number(message.offset)); } });
  await waitFor('retained records', () => seen.length >= 12 - start, 15_000);
  await consumer.disconnect();
  expect(seen[0]).toBe(start);
  await admin.disconnect();
});

it('retention.ms drops entries older than the retention time', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'by-time', numPartitions: 1 }] });
  await produceBatches('by-time', 4, 100);
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'by-time',
    configEntries: [{ name: 'retention.ms', value: '1' }] }] });
  await waitFor('every uploaded entry to expire', async () => await earliest(admin, 'by-time') === 4, 10_000);
  await admin.disconnect();
});

it('DeleteRecords advances the log start offset; ListOffsets by timestamp finds batches', async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'truncate', numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  const t0 = Date.now();
  await producer.send({ topic: 'truncate', messages: [{ value: 'a', timestamp: String(t0) }] });
  await producer.send({ topic: 'truncate', messages: [{ value: 'b', timestamp: String(t0 + 10_000) }] });
  await producer.send({ topic: 'truncate', messages: [{ value: 'c', timestamp: String(t0 + 20_000) }] });
  await producer.disconnect();
  const byTime = await admin.fetchTopicOffsetsByTimestamp('truncate', t0 + 5000);
  expect(Number(byTime[0]!.offset)).toBe(1);
  const none = await admin.fetchTopicOffsetsByTimestamp('truncate', t0 + 60_000);
  expect(Number(none[0]!.offset)).toBe(3); // kafkajs maps "no such offset" to the latest
  await admin.deleteTopicRecords({ topic: 'truncate', partitions: [{ partition: 0, offset: '2' }] });
  expect(await earliest(admin, 'truncate')).toBe(2);
  await admin.disconnect();
});
