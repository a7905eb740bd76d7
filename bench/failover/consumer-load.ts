/**
 * The failover benchmark's consume load: one consumer group per client topic, read by the same
 * client that produces it (librdkafka and the Java client as child processes printing
 * "got PARTITION CREATE_MS AT_MS SEQ" lines, kafkajs in this process), each with its defaults,
 * reading as the producers write, recording per partition
 * when each record was delivered and how old it was then (delivery time minus its CreateTime).
 * A kill shows as a gap in deliveries and as records delivered late: produced around the kill,
 * they wait for the partition's new leader and, when the victim was the group's coordinator, for
 * the group to find its new one.
 */
import { type Kafka } from 'kafkajs';
import { AckLog, type ClientName, javaCommand, pythonCommand, spawnLineClient } from './clients.js';

export class ConsumeLog {
  /** Delivery times and the sequence numbers delivered, per partition, in order. */
  readonly deliveries: AckLog;
  /** The consumer's own events (joins, crashes, rebalances, timeouts), for the report's JSON. */
  readonly events: { atMs: number; event: string; detail: string }[] = [];
  /** Per partition: [CreateTime, delivery time] of each record. */
  private readonly ages: [number, number][][];

  constructor(readonly client: ClientName, readonly topic: string, partitions: number) {
    this.deliveries = new AckLog(client, topic, partitions);
    this.ages = Array.from({ length: partitions }, () => []);
  }

  delivered(partition: number, createdMs: number, atMs: number, seq: number): void {
    this.deliveries.ack(partition, atMs, seq);
    this.ages[partition]!.push([createdMs, atMs]);
  }

  /** The oldest a record created on `partition` in [fromMs, toMs) was when delivered (0 if
   *  none were). */
  oldestDelivery(partition: number, fromMs: number, toMs: number): number {
    let oldest = 0;
    for (const [created, at] of this.ages[partition]!) {
      if (created >= fromMs && created < toMs) oldest = Math.max(oldest, at - created);
    }
    return oldest;
  }
}

export interface RunningConsumer {
  log: ConsumeLog;
  stop(): Promise<void>;
}

export async function startConsumer(kafka: Kafka, bootstrap: string[], client: ClientName,
  topic: string, partitions: number): Promise<RunningConsumer> {
  const log = new ConsumeLog(client, topic, partitions);
  const group = `failover-consume-${topic}`;
  if (client === 'kafkajs') return kafkajsConsumer(kafka, log, group);
  const args = [bootstrap.join(','), topic, group];
  const [command, argv] = client === 'java' ? await javaCommand('FailoverConsumer', args)
    : pythonCommand('consumer.py', args);
  const onLine = ([kind, p, created, at, seq]: string[]) => {
    if (kind === 'got') log.delivered(Number(p), Number(created), Number(at), seqOf(seq));
  };
  const child = spawnLineClient(`${client} consumer`, command, argv, onLine);
  return { log, stop: () => child.stop() };
}

function seqOf(value: string | undefined): number {
  const seq = Number(value ?? NaN);
  return Number.isSafeInteger(seq) ? seq : -1;
}

async function kafkajsConsumer(kafka: Kafka, log: ConsumeLog, groupId: string):
  Promise<RunningConsumer> {
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic: log.topic, fromBeginning: false });
  let joined: () => void = () => {};
  const assigned = new Promise<void>((r) => { joined = r; });
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  // What the consumer went through, for reading a long gap against the brokers' timeline.
  for (const name of ['GROUP_JOIN', 'CRASH', 'REBALANCING', 'REQUEST_TIMEOUT', 'STOP'] as const) {
    consumer.on(consumer.events[name], (e: { payload?: unknown }) => log.events.push({
      atMs: Date.now(), event: name, detail: JSON.stringify(e.payload ?? null).slice(0, 300) }));
  }
  await consumer.run({ eachBatch: async ({ batch }) => {
    const now = Date.now();
    for (const m of batch.messages) {
      log.delivered(batch.partition, Number(m.timestamp), now, seqOf(m.value?.toString()));
    }
  } });
  await assigned;
  return { log, stop: async () => { await consumer.disconnect().catch(() => {}); } };
}
