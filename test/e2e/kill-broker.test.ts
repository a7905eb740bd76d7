/**
 * Durability: an idempotent producer sends numbered events with acks=-1 while the broker is
 * SIGKILLed and restarted several times. Afterwards every acknowledged event must be read back
 * exactly once, in order per partition. Prints the counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { consumeAll, kafkaClient } from '../helpers/kafka-client.js';

const KILLS = Number(process.env.KILL_TEST_KILLS ?? 5);
const EVENTS_PER_SEND = 10;
const TOPIC = 'durability';
const PARTITIONS = 3;

/**
 * local: acknowledged once fsynced in the WAL; object: acknowledged once in object storage,
 * with no local WAL at all.
 */
describe.each([{ walMode: 'local' }, { walMode: 'object' }])('WAL mode $walMode', ({ walMode }) => {
let broker: BrokerProcess;

beforeAll(async () => {
  // A short upload interval puts kills in every window: before, during and after uploads.
  broker = await startBroker({ settings: { uploadIntervalMs: 150, walMode } });
});
afterAll(async () => broker?.destroy());

it(`loses no acknowledged event across ${KILLS} SIGKILLs`, async () => {
  const kafka = kafkaClient(broker.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  // Retries outlast a restart, so a send fails only if the broker stays down.
  const producer = kafkaClient(broker.bootstrap, 'durability-producer').producer({
    idempotent: true, maxInFlightRequests: 1,
    retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  await producer.connect();
  const acked = new Set<number>();
  const inDoubt = new Set<number>();
  let next = 0;
  let stop = false;
  const sending = (async () => {
    while (!stop) {
      const ids = Array.from({ length: EVENTS_PER_SEND }, () => next++);
      try {
        await producer.send({ topic: TOPIC, acks: -1,
          messages: ids.map((id) => ({ key: String(id % PARTITIONS), value: String(id) })) });
        for (const id of ids) acked.add(id);
      } catch {
        for (const id of ids) inDoubt.add(id);
      }
    }
  })();
  for (let k = 0; k < KILLS; k++) {
    await sleep(400 + Math.random() * 600);
    await broker.kill();
    await sleep(100 + Math.random() * 300);
    await broker.restart();
  }
  await sleep(500);
  stop = true;
  await sending;
  await producer.disconnect();

  const records = await consumeAll(kafkaClient(broker.bootstrap), TOPIC, acked.size);
  const seen = new Map<number, number>();
  for (const r of records) seen.set(Number(r.value), (seen.get(Number(r.value)) ?? 0) + 1);
  const lost = [...acked].filter((id) => !seen.has(id));
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const neverSent = [...seen.keys()].filter((id) => !acked.has(id) && !inDoubt.has(id));
  let reordered = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const ids = records.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset).map((r) => Number(r.value));
    for (let i = 1; i < ids.length; i++) if (ids[i]! < ids[i - 1]!) reordered++;
  }
  console.log(`durability (${walMode} WAL): kills=${KILLS} acknowledged=${acked.size} in-doubt=${inDoubt.size} ` +
    `read=${records.length} lost=${lost.length} duplicated=${duplicated.length} reordered=${reordered}`);
  expect(acked.size).toBeGreaterThan(0);
  expect(lost).toEqual([]);
  expect(duplicated).toEqual([]);
  expect(neverSent).toEqual([]);
  expect(reordered).toBe(0);
}, 180_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
