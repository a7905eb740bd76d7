/**
 * Data really lives in object storage: after a graceful stop (which uploads everything) and a
 * restart with the WAL folder deleted, a consumer reads from offset 0 and the bytes come from
 * the object store — asserted on the store's own request counters, read from /metrics.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { consumeAll, kafkaClient } from '../helpers/kafka-client.js';
import { STORE_VARIANTS } from '../helpers/store-variants.js';
import { freePort } from '../helpers/ports.js';


async function metric(port: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe.each(STORE_VARIANTS)('reads from $name object storage after the WAL is gone', (variant) => {
  let broker: BrokerProcess;
  let teardown: () => Promise<void>;
  let metricsPort: number;

  beforeAll(async () => {
    const env = await variant.setup();
    teardown = env.teardown;
    metricsPort = await freePort();
    broker = await startBroker({ settings: { ...env.settings, metricsPort, uploadIntervalMs: 100 } });
  });
  afterAll(async () => {
    await broker?.destroy();
    await teardown?.();
  });

  it('consumes from offset 0 with every byte fetched from the store', async () => {
    const topic = 'history';
    const producer = kafkaClient(broker.bootstrap).producer();
    await producer.connect();
    const values = Array.from({ length: 500 }, (_, i) => `record-${i}-${'x'.repeat(200)}`);
    for (let i = 0; i < values.length; i += 50) {
      await producer.send({ topic, acks: -1, messages: values.slice(i, i + 50).map((value) => ({ value })) });
    }
    await producer.disconnect();
    expect(await broker.stop()).toBe(0);
    await rm(path.join(broker.dataDir, 'wal'), { recursive: true, force: true });
    await broker.restart();
    const rangeGetsBefore = await metric(metricsPort, 'ledgerstream_object_store_requests', 'kind="rangeGets"');
    const records = await consumeAll(kafkaClient(broker.bootstrap), topic, values.length);
    expect(records.map((r) => r.value)).toEqual(values);
    expect(records[0]!.offset).toBe(0);
    const rangeGets = await metric(metricsPort, 'ledgerstream_object_store_requests', 'kind="rangeGets"') - rangeGetsBefore;
    const fromStore = await metric(metricsPort, 'ledgerstream_fetched_bytes_total', 'source="object-store"');
    console.log(`${variant.name}: ${rangeGets} ranged GETs, ${fromStore} bytes served from object storage`);
    expect(rangeGets).toBeGreaterThan(0);
    expect(fromStore).toBeGreaterThanOrEqual(values.join('').length);
  });
});
