/**
 * Issue 12, health: /health answers while the process lives; /ready answers 200 only while the
 * broker serves, and 503 with the reason while the object store refuses uploads. The outage is
 * logged as one ERROR when it begins and one INFO when it ends, not a stack per retry. A real
 * broker process on the local-folder store; the outage: the objects folder becomes a file.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { freePort } from '../helpers/ports.js';

const OUTAGE_MS_MAX = 30_000;
let broker: BrokerProcess;
let root: string;
let objectsDir: string;
let metricsPort: number;

async function get(pathname: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}${pathname}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

/** Log lines (pino JSON) with this message. */
function logLines(msg: string): { level: string }[] {
  return broker.output().split('\n').filter((l) => l.includes(`"msg":"${msg}`)).map((l) => JSON.parse(l) as { level: string });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ledgerstream-health-'));
  objectsDir = path.join(root, 'objects');
  metricsPort = await freePort();
  broker = await startBroker({ dataDir: path.join(root, 'data'),
    settings: { objectStoreDir: objectsDir, metricsPort, uploadIntervalMs: 50 } });
});

afterAll(async () => {
  await broker?.destroy();
  await rm(root, { recursive: true, force: true });
});

it('/health is up, /ready follows the object store, and an outage is one ERROR and one INFO', async () => {
  expect(await get('/health')).toEqual({ status: 200, body: 'ok\n' });
  expect(await get('/ready')).toEqual({ status: 200, body: 'ready\n' });
  // The broker samples its event loop from start-up (src/event-loop-delay.ts).
  expect((await get('/metrics')).body).toMatch(/^ledgerstream_event_loop_delay_seconds_count [1-9]/m);

  const producer = kafkaClient(broker.bootstrap).producer();
  await producer.connect();
  try {
    await rename(objectsDir, `${objectsDir}.away`);
    await writeFile(objectsDir, 'outage\n');
    for (let i = 0; i < 3; i++) await producer.send({ topic: 'health', acks: -1, messages: [{ value: `during ${i}` }] });
    await waitFor('/ready to answer 503', async () => (await get('/ready')).status === 503, OUTAGE_MS_MAX);
    expect((await get('/ready')).body).toBe('the object store does not take uploads\n');
    expect((await get('/health')).status).toBe(200);
    // Several retries fail meanwhile (backoff from 100 ms): still one ERROR.
    await waitFor('a few failed retries', async () => {
      const text = (await get('/metrics')).body;
      return Number(/^ledgerstream_upload_errors_total (\d+)/m.exec(text)?.[1] ?? 0) >= 3;
    }, OUTAGE_MS_MAX);

    await rm(objectsDir);
    await rename(`${objectsDir}.away`, objectsDir);
    await waitFor('/ready to answer 200 again', async () => (await get('/ready')).status === 200, OUTAGE_MS_MAX);
  } finally {
    await producer.disconnect();
  }
  // The log comes through a pipe and may trail /ready: wait for the line that ends the outage.
  await waitFor('the "uploads resumed" line', () => logLines('uploads resumed').length >= 1);
  const failing = logLines('uploads failing');
  const resumed = logLines('uploads resumed');
  expect(failing).toHaveLength(1);
  expect(failing[0]!.level).toBe('error');
  expect(resumed).toHaveLength(1);
  expect(resumed[0]!.level).toBe('info');
  expect(logLines('upload failed')).toHaveLength(0); // the retries are at debug, below the default level
});

it('a stop while the object store is down exits 3 with one line, and the next start uploads what the WAL kept', async () => {
  const kafka = kafkaClient(broker.bootstrap);
  const producer = kafka.producer();
  await producer.connect();
  await rename(objectsDir, `${objectsDir}.away`);
  await writeFile(objectsDir, 'outage\n');
  try {
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'kept', acks: -1, messages: [{ value: `kept ${i}` }] });
  } finally {
    await producer.disconnect();
  }
  expect(await broker.stop()).toBe(3);
  expect(broker.output()).toMatch(/ledgerstream: stopped with \d+ bytes not in object storage .*the next start uploads them/);

  await rm(objectsDir);
  await rename(`${objectsDir}.away`, objectsDir);
  await broker.restart();
  await waitFor('the WAL uploaded after the restart', async () =>
    /^ledgerstream_upload_backlog_bytes 0$/m.test((await get('/metrics')).body), OUTAGE_MS_MAX);
  const consumer = kafka.consumer({ groupId: 'kept-reader' });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'kept', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
    await waitFor('the five records', () => values.length >= 5);
  } finally {
    await consumer.disconnect();
  }
  expect(values).toEqual(['kept 0', 'kept 1', 'kept 2', 'kept 3', 'kept 4']);
  expect(await broker.stop()).toBe(0);
}, 90_000);
