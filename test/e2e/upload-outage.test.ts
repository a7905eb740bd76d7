/**
 * Object-store outage with a backlog larger than one object (issue 8 item 4), on a real broker
 * process with the local-folder store. The outage: the objects folder is moved away and a plain
 * file put in its place, so every PUT fails (ENOTDIR); healing moves the folder back.
 *
 * Phase 1: produce through the outage until the broker pushes back with KAFKA_STORAGE_ERROR
 * (uploadBacklogBytesMax), with the broker still serving; heal; the backlog (many times the
 * per-object limit) drains to 0 in objects no larger than uploadObjectBytesMax.
 * Phase 2: another outage, a backlog, SIGKILL; heal; the restarted broker replays its WAL and
 * drains the backlog in bounded objects too.
 * Then every acknowledged record reads back exactly once, and nothing unknown or duplicated.
 *
 * The limits are lowered (256 KiB objects, 4 MiB backlog) so a few MiB exercise the same code a
 * production backlog of gigabytes would. On the old code one object held the whole backlog.
 */
import { mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { freePort } from '../helpers/ports.js';

const TOPIC = 'outage';
const PARTITIONS = 3;
const OBJECT_BYTES_MAX = 256 * 1024;
const BACKLOG_BYTES_MAX = 4 * 1024 * 1024;
/** Footer and trailer of an object of a few partitions: far below this. */
const FOOTER_BYTES_SLACK = 16 * 1024;
const RECORDS_PER_SEND = 60;
const VALUE_PAD = 'v'.repeat(1000);
const SENDS_MAX = 400;
const DRAIN_MS_MAX = 120_000;

let broker: BrokerProcess;
let root: string;
let objectsDir: string;
let metricsPort: number;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`metric ${name} missing`);
  return Number(line.split(' ').at(-1));
}

/** Every PUT fails from now on: the folder becomes a file. */
async function storeDown(): Promise<void> {
  await rename(objectsDir, `${objectsDir}.away`);
  await writeFile(objectsDir, 'object store outage\n');
}

async function storeUp(): Promise<void> {
  await rm(objectsDir);
  await rename(`${objectsDir}.away`, objectsDir);
}

async function objectSizes(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push((await stat(path.join(entry.parentPath, entry.name))).size);
  }
  return out;
}

/** The error chain of a kafkajs failure, as type names (KafkaJS wraps the broker's error). */
function errorTypes(err: unknown): string[] {
  const types: string[] = [];
  for (let e = err as { type?: string; name?: string; cause?: unknown; originalError?: unknown } | undefined,
    depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    types.push(e.type ?? e.name ?? '?');
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return types;
}

interface Ledger {
  acked: Set<string>;
  /** Sent in a request that failed: may be stored (another partition of it) or not, once at most. */
  inDoubt: Set<string>;
  next: number;
}

/**
 * Sends until `enough` says stop or a send fails; returns the failure's error types (or null if
 * none). Idempotent, so the client's few retries cannot duplicate; a failed send is in doubt.
 */
async function produceUntil(kafka: Kafka, ledger: Ledger, phase: string,
  enough: () => Promise<boolean>): Promise<string[] | null> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } });
  await producer.connect();
  try {
    for (let sends = 0; sends < SENDS_MAX && !(await enough()); sends++) {
      const values = Array.from({ length: RECORDS_PER_SEND }, () => `${phase}-${ledger.next++}-${VALUE_PAD}`);
      try {
        await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value })) });
        for (const v of values) ledger.acked.add(v);
      } catch (err) {
        for (const v of values) ledger.inDoubt.add(v);
        return errorTypes(err);
      }
    }
    return null;
  } finally {
    await producer.disconnect();
  }
}

interface Read {
  partition: number;
  value: string;
}

/** Reads every partition up to its high watermark; returns the records in read order. */
async function readAll(kafka: Kafka): Promise<Read[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  const remaining = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  const values: Read[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen = new Map<number, number>();
  await consumer.run({ eachMessage: async ({ partition, message }) => {
    values.push({ partition, value: message.value!.toString() });
    seen.set(partition, Number(message.offset) + 1);
  } });
  try {
    await waitFor('every partition read to its high watermark',
      () => [...remaining].every(([p, high]) => (seen.get(p) ?? 0) >= high), 60_000);
  } finally {
    await consumer.disconnect();
  }
  return values;
}

/** The send counter inside a value: it grows with every send, so per partition it must too. */
const sequenceOf = (value: string) => Number(value.split('-').at(-2));

function expectExactlyOnce(records: Read[], ledger: Ledger): void {
  const values = records.map((r) => r.value);
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const lastByPartition = new Map<number, number>();
  let reordered = 0;
  for (const r of records) {
    if (sequenceOf(r.value) <= (lastByPartition.get(r.partition) ?? -1)) reordered++;
    lastByPartition.set(r.partition, sequenceOf(r.value));
  }
  const duplicated = [...counts].filter(([, n]) => n > 1).length;
  const unknown = [...counts.keys()].filter((v) => !ledger.acked.has(v) && !ledger.inDoubt.has(v)).length;
  const lost = [...ledger.acked].filter((v) => !counts.has(v)).length;
  console.log(`read ${values.length}: acknowledged ${ledger.acked.size}, in doubt ${ledger.inDoubt.size}, `
    + `lost ${lost}, duplicated ${duplicated}, unknown ${unknown}, reordered ${reordered}`);
  expect({ lost, duplicated, unknown, reordered }).toEqual({ lost: 0, duplicated: 0, unknown: 0, reordered: 0 });
}

describe('object-store outage with a backlog of many objects', () => {
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'ledgerstream-outage-'));
    objectsDir = path.join(root, 'objects');
    metricsPort = await freePort();
    broker = await startBroker({ dataDir: path.join(root, 'data'), settings: {
      objectStoreDir: objectsDir, metricsPort, uploadIntervalMs: 100,
      uploadObjectBytesMax: OBJECT_BYTES_MAX, uploadBacklogBytesMax: BACKLOG_BYTES_MAX,
    } });
  });
  afterAll(async () => {
    await broker?.destroy();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('pushes back with a retriable error, drains in bounded objects, and loses nothing', async () => {
    const kafka = kafkaClient(broker.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const ledger: Ledger = { acked: new Set(), inDoubt: new Set(), next: 0 };
    const objectsBefore = (await objectSizes(objectsDir)).length;

    // Phase 1: an outage while the broker runs, produced into until it pushes back.
    await storeDown();
    const refusal = await produceUntil(kafka, ledger, 'p1', async () => false);
    const backlogAtRefusal = await metric('ledgerstream_upload_backlog_bytes');
    console.log(`refused with ${JSON.stringify(refusal)} at a backlog of ${backlogAtRefusal} bytes`);
    expect(refusal).toContain('KAFKA_STORAGE_ERROR');
    expect(backlogAtRefusal).toBeGreaterThan(BACKLOG_BYTES_MAX);
    expect(await metric('ledgerstream_upload_errors_total')).toBeGreaterThan(0);
    await storeUp();
    await waitFor('the backlog to drain after the outage',
      async () => (await metric('ledgerstream_upload_backlog_bytes')) === 0, DRAIN_MS_MAX);
    const afterPhase1 = await objectSizes(objectsDir);
    // The backlog was more than 16 objects' worth; it went up in bounded pieces.
    expect(afterPhase1.length - objectsBefore).toBeGreaterThanOrEqual(BACKLOG_BYTES_MAX / OBJECT_BYTES_MAX);
    expect(Math.max(...afterPhase1)).toBeLessThanOrEqual(OBJECT_BYTES_MAX + FOOTER_BYTES_SLACK);
    // Produce works again.
    let healedSends = 0;
    expect(await produceUntil(kafka, ledger, 'p1-healed', async () => healedSends++ >= 3)).toBeNull();

    // Phase 2: a backlog that is still in the WAL when the broker dies; the restart drains it.
    await storeDown();
    expect(await produceUntil(kafka, ledger, 'p2',
      async () => (await metric('ledgerstream_upload_backlog_bytes')) > BACKLOG_BYTES_MAX / 2)).toBeNull();
    await broker.kill();
    await storeUp();
    await broker.restart();
    await waitFor('the replayed backlog to drain after a restart',
      async () => (await metric('ledgerstream_upload_backlog_bytes')) === 0, DRAIN_MS_MAX);
    const afterPhase2 = await objectSizes(objectsDir);
    console.log(`${afterPhase2.length - objectsBefore} objects uploaded, largest ${Math.max(...afterPhase2)} bytes`);
    expect(afterPhase2.length - afterPhase1.length).toBeGreaterThanOrEqual(BACKLOG_BYTES_MAX / 2 / OBJECT_BYTES_MAX);
    expect(Math.max(...afterPhase2)).toBeLessThanOrEqual(OBJECT_BYTES_MAX + FOOTER_BYTES_SLACK);

    expectExactlyOnce(await readAll(kafkaClient(broker.bootstrap)), ledger);
    // And once more from object storage alone, after a graceful restart.
    expect(await broker.stop()).toBe(0);
    await broker.restart();
    expectExactlyOnce(await readAll(kafkaClient(broker.bootstrap)), ledger);
  }, 300_000);
});
