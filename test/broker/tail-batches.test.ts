/**
 * --tail-batches-max: uploaded batches beyond the count leave memory, and a consumer reading
 * them gets them from object storage, every record in order. A real broker, kafkajs clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { consumeAll, kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { freePort } from '../helpers/ports.js';
import { metricValue } from '../helpers/store-variants.js';

let broker: BrokerProcess;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  broker = await startBroker({ settings: { tailBatchesMax: 4, uploadIntervalMs: 50,
    metricsPort } });
});
afterAll(async () => broker?.destroy());

describe('--tail-batches-max', () => {
  it('serves batches evicted by the count from object storage', async () => {
    const kafka = kafkaClient(`127.0.0.1:${broker.port}`);
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    const topic = 'agents-few-batches';
    const records = 40;
    // One record per send: one batch each, as an agent sends.
    for (let i = 0; i < records; i++) {
      await producer.send({ topic, acks: -1,
        messages: [{ key: `agent-${i % 7}`, value: `event ${i}` }] });
    }
    await producer.disconnect();
    const reads = async () =>
      await metricValue(metricsPort, 'ledgerstream_object_store_requests', 'kind="gets"')
      + await metricValue(metricsPort, 'ledgerstream_object_store_requests', 'kind="rangeGets"');
    // Everything uploaded, so at most four batches are left in memory.
    await waitFor('the uploads',
      async () => await metricValue(metricsPort, 'ledgerstream_upload_backlog_bytes', '') === 0);
    const readsBefore = await reads();
    const got = await consumeAll(kafka, topic, records);
    expect(got.map((r) => r.offset)).toEqual([...Array(records).keys()]);
    expect(got.map((r) => r.value)).toEqual([...Array(records).keys()].map((i) => `event ${i}`));
    expect(await reads()).toBeGreaterThan(readsBefore);
  }, 60_000);
});
