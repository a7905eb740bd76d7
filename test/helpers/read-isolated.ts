/** Reading a topic as a read_committed or read_uncommitted consumer would (transaction tests). */
import type { Kafka } from 'kafkajs';
import { waitFor } from './kafka-client.js';

export interface ReadOptions {
  /** How long to keep reading once `expected` values arrived (anything more is a duplicate). */
  settleMs?: number;
  /** Return what arrived when fewer than `expected` did, rather than throw (the caller counts). */
  allowShort?: boolean;
  /** Sees every record as it arrives, with where it came from (for a failure's message). */
  onRecord?: (partition: number, offset: string, value: string) => void;
}

/** Every value a fresh group of that isolation reads from the beginning of `topic`, sorted. */
export async function readValues(kafka: Kafka, topic: string, readUncommitted: boolean,
  expected: number, options: ReadOptions = {}): Promise<string[]> {
  const groupId = `read-${topic}-${readUncommitted}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200 });
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => {
    values.push(message.value!.toString());
    options.onRecord?.(partition, message.offset, message.value!.toString());
  } });
  const what = `${expected} records of ${topic}`;
  const arrived = waitFor(what, () => values.length >= expected, 30_000);
  await (options.allowShort === true ? arrived.catch(() => {}) : arrived);
  await new Promise((r) => setTimeout(r, options.settleMs ?? 1500));
  await consumer.disconnect();
  return values.sort();
}
