/**
 * A batch larger than one WAL entry holds, on a topic whose max.message.bytes allows it (issue 9
 * item 3). Before the fix such a batch got offsets, was refused by the WAL ("entry too large"),
 * was answered NOT_LEADER_OR_FOLLOWER as if leadership had moved, and its offsets stayed in the
 * tail. Now it is refused with MESSAGE_TOO_LARGE before any offset is assigned; later batches
 * take the next offsets and are uploaded while the broker runs (the upload backlog drains to 0);
 * after a SIGKILL and the loss of the WAL they read back from object storage alone.
 *
 * Why MESSAGE_TOO_LARGE and not RECORD_LIST_TOO_LARGE: Kafka answers RECORD_LIST_TOO_LARGE for a
 * batch larger than the topic's segment.bytes, a setting the user can raise; the WAL entry cap
 * cannot be raised, so it acts as a ceiling on max.message.bytes, and Kafka answers a batch over
 * max.message.bytes with MESSAGE_TOO_LARGE, which the Java producer handles by splitting a batch
 * of several records and sending the halves.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '../../storage/limits.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { consumeAll, highWatermark, kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { freePort } from '../helpers/ports.js';

const TOPIC = 'oversized';
/** Allows 16 MiB, twice what a WAL entry holds. */
const TOPIC_MESSAGE_BYTES_MAX = 2 * limits.walEntryBytesMax;

async function uploadBacklogBytes(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('ledgerstream_upload_backlog_bytes '));
  if (line === undefined) throw new Error('metric ledgerstream_upload_backlog_bytes missing');
  return Number(line.split(' ').at(-1));
}

describe.each([{ walMode: 'local' }, { walMode: 'object' }])('WAL mode $walMode', ({ walMode }) => {
  let broker: BrokerProcess;
  let kafka: Kafka;
  let metricsPort: number;

  beforeAll(async () => {
    metricsPort = await freePort();
    broker = await startBroker({ settings: { walMode, uploadIntervalMs: 100, metricsPort,
      requestBytesMax: 4 * limits.walEntryBytesMax } });
    kafka = kafkaClient(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1,
      configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MESSAGE_BYTES_MAX) }] }] });
    await admin.disconnect();
  }, 60_000);
  afterAll(async () => broker?.destroy());

  it('refuses a batch larger than a WAL entry with MESSAGE_TOO_LARGE, consuming no offset', async () => {
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'before', value: 'small-0' }] });
      expect(await highWatermark(kafka, TOPIC)).toBe(1);

      const value = Buffer.alloc(limits.walEntryBytesMax + 1024 * 1024, 'x');
      const refused = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'big', value }] })
        .then(() => null, (err: { type?: string; name?: string; cause?: { type?: string } }) =>
          err.type ?? err.cause?.type ?? err.name);
      expect(refused).toBe('MESSAGE_TOO_LARGE');
      expect(await highWatermark(kafka, TOPIC)).toBe(1);

      const result = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'after', value: 'small-1' }] });
      expect(Number(result[0]!.baseOffset)).toBe(1);
      expect(await highWatermark(kafka, TOPIC)).toBe(2);
    } finally {
      await producer.disconnect();
    }
    expect(broker.output()).not.toContain('leadership moved');
    // The topic's setting was accepted, with a warning saying what it will not do.
    expect(broker.output()).toContain(`max.message.bytes=${TOPIC_MESSAGE_BYTES_MAX}`);

    // Uploads were not stopped by the refused batch: the backlog drains while the broker runs,
    // and after a SIGKILL that loses the WAL too, both records come from object storage.
    await waitFor('the upload backlog to drain',
      async () => (await uploadBacklogBytes(metricsPort)) === 0);
    await broker.kill();
    await rm(path.join(broker.dataDir, 'wal'), { recursive: true, force: true });
    await broker.restart();
    const read = await consumeAll(kafka, TOPIC, 2);
    expect(read.map((r) => [r.offset, r.value])).toEqual([[0, 'small-0'], [1, 'small-1']]);
  }, 90_000);
});
