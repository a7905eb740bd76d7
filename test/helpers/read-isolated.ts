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

/**
 * Every value a fresh group of that isolation reads from the beginning of `topic`, sorted.
 *
 * A record delivered again after the consumer rejoined its group, at the same offset with the
 * same value, is counted once: that is the group's at-least-once delivery, not a duplicate in the
 * log (kafkajs rejoins when a partition's leader moves, e.g. a restarted broker taking partitions
 * back, and its commit of what it had read then fails with ILLEGAL_GENERATION, so the new
 * generation starts again from the last committed offset). The same offset delivered twice with
 * no rejoin between, or with another value, is kept twice, so the caller sees it.
 */
export async function readValues(kafka: Kafka, topic: string, readUncommitted: boolean,
  expected: number, options: ReadOptions = {}): Promise<string[]> {
  const groupId = `read-${topic}-${readUncommitted}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 200 });
  const values: string[] = [];
  const delivered = new Map<string, { value: string; joins: number }>();
  let joins = 0;
  let redelivered = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => { joins++; });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => {
    const value = message.value!.toString();
    options.onRecord?.(partition, message.offset, value);
    const at = `${partition}@${message.offset}`;
    const before = delivered.get(at);
    if (before !== undefined && before.joins < joins && before.value === value) {
      redelivered++;
      return;
    }
    delivered.set(at, { value, joins });
    values.push(value);
  } });
  const what = `${expected} records of ${topic}`;
  const arrived = waitFor(what, () => values.length >= expected, 30_000);
  await (options.allowShort === true ? arrived.catch(() => {}) : arrived);
  await new Promise((r) => setTimeout(r, options.settleMs ?? 1500));
  await consumer.disconnect();
  if (redelivered > 0) {
    console.log(`${topic}: ${redelivered} records delivered again after the group rejoined `
      + `(${joins} joins), counted once`);
  }
  return values.sort();
}
