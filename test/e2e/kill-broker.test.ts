/**
 * Durability: an idempotent producer sends numbered events with acks=-1 while the broker is
 * SIGKILLed and restarted several times. Afterwards every acknowledged event must be read back
 * exactly once, in order per partition. Prints the counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import type { Kafka, Producer } from 'kafkajs';
import { consumeAll, highWatermark, kafkaClient } from '../helpers/kafka-client.js';

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
  const sender = new NumberedSender(kafka);
  const sending = sender.run();
  for (let k = 0; k < KILLS; k++) {
    await sleep(400 + Math.random() * 600);
    await broker.kill();
    await sleep(100 + Math.random() * 300);
    await broker.restart();
  }
  await sleep(500);
  await sender.stop(sending);

  // Everything in the log, to its high watermarks: in-doubt sends may have been stored too.
  let stored = 0;
  for (let p = 0; p < PARTITIONS; p++) stored += await highWatermark(kafka, TOPIC, p);
  const records = await consumeAll(kafkaClient(broker.bootstrap), TOPIC, stored);
  const v = verdict(records, sender);
  console.log(`durability (${walMode} WAL): kills=${KILLS} acknowledged=${sender.acked.size} ` +
    `in-doubt=${sender.inDoubt.size} stored=${stored} read=${records.length} ` +
    `lost=${v.lost.length} duplicated=${v.duplicated.length} reordered=${v.reordered}`);
  if (v.lost.length > 0) {
    console.log(`lost ids: ${v.lost.slice(0, 40).join(',')}; ` +
      `failed sends: ${sender.failures.join(' | ')}`);
  }
  expect(sender.acked.size).toBeGreaterThan(0);
  expect(v.lost).toEqual([]);
  expect(v.duplicated).toEqual([]);
  expect(v.neverSent).toEqual([]);
  expect(v.reordered).toBe(0);
}, 180_000);
});

/**
 * An idempotent kafkajs producer sending numbered events, 10 per send, keyed over the
 * partitions, until stopped; each event is acknowledged or in doubt (its send failed).
 */
class NumberedSender {
  readonly acked = new Set<number>();
  readonly inDoubt = new Set<number>();
  readonly failures: string[] = [];
  private stopped = false;
  private producer: Producer | undefined;

  constructor(private readonly kafka: Kafka) {}

  async run(): Promise<void> {
    this.producer = await this.connect();
    for (let next = 0; !this.stopped; next += EVENTS_PER_SEND) {
      const ids = Array.from({ length: EVENTS_PER_SEND }, (_, i) => next + i);
      try {
        await this.producer.send({ topic: TOPIC, acks: -1,
          messages: ids.map((id) => ({ key: String(id % PARTITIONS), value: String(id) })) });
        for (const id of ids) this.acked.add(id);
      } catch (err) {
        this.failures.push(`${ids[0]}: ${String(err).slice(0, 200)}`);
        for (const id of ids) this.inDoubt.add(id);
        // kafkajs rolls its sequence numbers back when a send fails, also when the broker stored
        // the batch (the connection broke after the write): its next send would reuse them, and
        // any broker (Kafka's too) acknowledges that as a retry of the stored batch without
        // storing it. A new producer (a new producer id) is the way out; the Java client bumps
        // its epoch instead (KIP-360).
        await this.producer.disconnect().catch(() => {});
        this.producer = await this.connect();
      }
    }
  }

  async stop(running: Promise<void>): Promise<void> {
    this.stopped = true;
    await running;
    await this.producer?.disconnect();
  }

  /** A connected producer; its retries outlast a restart, so a send fails only if the broker
   *  stays down. */
  private async connect(): Promise<Producer> {
    for (let attempt = 1; ; attempt++) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1,
        retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1000 } });
      try {
        await producer.connect();
        return producer;
      } catch (err) {
        if (attempt >= 50) throw err;
        await sleep(200);
      }
    }
  }
}

function verdict(records: { partition: number; offset: number; value: string }[],
  sender: NumberedSender) {
  const seen = new Map<number, number>();
  for (const r of records) seen.set(Number(r.value), (seen.get(Number(r.value)) ?? 0) + 1);
  const lost = [...sender.acked].filter((id) => !seen.has(id));
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const sent = (id: number) => sender.acked.has(id) || sender.inDoubt.has(id);
  const neverSent = [...seen.keys()].filter((id) => !sent(id));
  let reordered = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const ids = records.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset)
      .map((r) => Number(r.value));
    for (let i = 1; i < ids.length; i++) if (ids[i]! < ids[i - 1]!) reordered++;
  }
  return { lost, duplicated, neverSent, reordered };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
