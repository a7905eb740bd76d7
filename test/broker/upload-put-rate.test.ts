/**
 * A broker's PUTs a second stay within its budget however fast produces come (issue 13: at most
 * 4 a second with a local WAL, 10 in object-WAL mode): batches that arrive while a PUT waits its
 * turn ride it. Counted from the broker's own object-store request counter on /metrics, over a
 * few seconds of produces from many concurrent senders, so the figure does not depend on how
 * busy the machine is; the size and time triggers are set to fire far more often than the
 * budget, so only the pacing keeps the count down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { kafkaClient } from '../helpers/kafka-client.js';
import {
  STORE_VARIANTS, type VariantBroker, metricValue, startVariantBroker,
} from '../helpers/store-variants.js';

const LOAD_MS = 4_000;
const SENDERS = 16;
const PARTITIONS = 8;

function putsSoFar(metricsPort: number): Promise<number> {
  return metricValue(metricsPort, 'ledgerstream_object_store_requests', 'kind="puts"');
}

const s3 = STORE_VARIANTS.find((v) => v.name === 's3')!;
const local = STORE_VARIANTS.find((v) => v.name === 'local')!;

describe.each([
  { walMode: 'local', variant: local, putsPerSecondMax: 4 },
  { walMode: 'object', variant: s3, putsPerSecondMax: 10 },
])('WAL mode $walMode: PUTs a second', ({ walMode, variant, putsPerSecondMax }) => {
  let broker: BrokerProcess;
  let running: VariantBroker | undefined;
  let metricsPort: number;

  // Both triggers far below the budget's spacing: 10 ms, 64 KiB.
  beforeAll(async () => {
    running = await startVariantBroker(variant,
      { walMode, uploadIntervalMs: 10, uploadBytesMax: 64 * 1024 });
    ({ broker, metricsPort } = running);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it(`stay at most ${putsPerSecondMax} under ${SENDERS} concurrent senders`, async () => {
    const topic = `put-rate-${walMode}`;
    const kafka = kafkaClient(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }],
      waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const value = 'v'.repeat(2_000);
    const putsBefore = await putsSoFar(metricsPort);
    const startMs = performance.now();
    let acknowledged = 0;
    const latenciesMs: number[] = [];
    await Promise.all(Array.from({ length: SENDERS }, async (_, sender) => {
      for (let i = 0; performance.now() - startMs < LOAD_MS; i++) {
        const sentMs = performance.now();
        await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 },
          () => ({ partition: (sender + i) % PARTITIONS, value })) });
        latenciesMs.push(performance.now() - sentMs);
        acknowledged += 10;
      }
    }));
    const elapsedS = (performance.now() - startMs) / 1000;
    const puts = await putsSoFar(metricsPort) - putsBefore;
    await producer.disconnect();
    latenciesMs.sort((a, b) => a - b);
    const p99 = latenciesMs[Math.floor(latenciesMs.length * 0.99)]!;
    console.log(`${walMode} WAL: ${acknowledged} records acknowledged in ${elapsedS.toFixed(1)} s, `
      + `${puts} PUTs (${(puts / elapsedS).toFixed(1)}/s), send p99 ${p99.toFixed(0)} ms`);
    expect(acknowledged).toBeGreaterThan(1_000);
    expect(puts).toBeGreaterThan(1); // uploads happened while the load ran
    // One PUT may start at the window's very beginning, and the last may run past its end.
    expect(puts).toBeLessThanOrEqual(Math.ceil(elapsedS * putsPerSecondMax) + 1);
  });
});
