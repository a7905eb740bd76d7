/** What the transaction suites share: topics made ready, input seeded, output counted. */
import type { Kafka } from 'kafkajs';
import { waitForStableLeaders } from './kafka-client.js';

/** Creates `topic` and waits until every partition has a leader that answers. */
export async function createTopic(kafka: Kafka, topic: string,
  numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await waitForStableLeaders(admin, topic);
  await admin.disconnect();
}

/** Writes `values` to `topic` with an idempotent (non-transactional) producer. */
export async function seedValues(kafka: Kafka, topic: string, values: string[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
}

/** The group's committed offsets of `topic` and the topic's high watermarks, each sorted. */
export async function committedAndHigh(kafka: Kafka, groupId: string, topic: string):
  Promise<{ committed: number[]; high: number[] }> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const high = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return { committed: offsets[0]!.partitions.map((p) => Number(p.offset)).sort(),
    high: high.map((h) => Number(h.high)).sort() };
}
