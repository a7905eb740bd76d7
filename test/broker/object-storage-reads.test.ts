/**
 * Data really lives in object storage: after a graceful stop (which uploads everything) and a
 * restart with the WAL folder deleted, a consumer reads from offset 0 and the bytes come from
 * the object store — asserted on the store's own request counters, read from /metrics.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { consumeAll, kafkaClient } from '../helpers/kafka-client.js';
import {
  STORE_VARIANTS, type VariantBroker, metricValue, startVariantBroker,
} from '../helpers/store-variants.js';


describe.each(STORE_VARIANTS)('reads from $name object storage after the WAL is gone', (variant) => {
  let broker: BrokerProcess;
  let running: VariantBroker | undefined;
  let metricsPort: number;

  beforeAll(async () => {
    running = await startVariantBroker(variant, { uploadIntervalMs: 100 });
    ({ broker, metricsPort } = running);
  });
  afterAll(async () => {
    await running?.stop();
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
    const rangeGetsBefore = await metricValue(metricsPort, 'ledgerstream_object_store_requests', 'kind="rangeGets"');
    const records = await consumeAll(kafkaClient(broker.bootstrap), topic, values.length);
    expect(records.map((r) => r.value)).toEqual(values);
    expect(records[0]!.offset).toBe(0);
    const rangeGets = await metricValue(metricsPort, 'ledgerstream_object_store_requests', 'kind="rangeGets"') - rangeGetsBefore;
    const fromStore = await metricValue(metricsPort, 'ledgerstream_fetched_bytes_total', 'source="object-store"');
    console.log(`${variant.name}: ${rangeGets} ranged GETs, ${fromStore} bytes served from object storage`);
    expect(rangeGets).toBeGreaterThan(0);
    expect(fromStore).toBeGreaterThanOrEqual(values.join('').length);
  });

  it('starts every partition\'s GETs before a Fetch awaits any, within the bounds', async () => {
    const topic = 'history-wide';
    const partitions = 4;
    const admin = kafkaClient(broker.bootstrap).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
    await admin.disconnect();
    const producer = kafkaClient(broker.bootstrap).producer();
    await producer.connect();
    // At most 3 sends, so at most 3 index entries, per partition: 12 ranges, all of which fit
    // the read-ahead bounds at once (16 GETs), so none is dropped and left to a demand GET.
    for (let send = 0; send < 3; send++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: partitions },
        (_, partition) => ({ partition, value: `p${partition}-s${send}-${'y'.repeat(300)}` })) });
    }
    await producer.disconnect();
    expect(await broker.stop()).toBe(0);
    await rm(path.join(broker.dataDir, 'wal'), { recursive: true, force: true });
    await broker.restart();
    const cacheStat = (kind: string) =>
      metricValue(metricsPort, 'ledgerstream_read_cache', `kind="${kind}"`);
    const records = await consumeAll(kafkaClient(broker.bootstrap), topic, 3 * partitions);
    expect(records).toHaveLength(3 * partitions);
    const started = await cacheStat('prefetchesStarted');
    const misses = await cacheStat('misses');
    console.log(`${variant.name}: ${started} read-ahead GETs, ${misses} demand GETs`);
    // Before, each partition's first entry was a demand GET awaited in turn (4 misses at least).
    expect(misses).toBe(0);
    expect(await cacheStat('prefetchesDropped')).toBe(0);
    expect(started).toBeGreaterThanOrEqual(partitions);
    expect(started).toBeLessThanOrEqual(3 * partitions);
  });
});
