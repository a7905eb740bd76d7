/**
 * Issue 12, metrics: per-topic bytes and records in and bytes out, the consumer lag of each group
 * per partition, and the age of the upload backlog, read from a real broker's /metrics while
 * kafkajs produces and consumes; then every query of the Grafana dashboard in docs/grafana names
 * only metrics and labels that the broker really exports.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { consumeAll, kafkaClient } from '../helpers/kafka-client.js';
import { freePort } from '../helpers/ports.js';

let broker: BrokerProcess;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  // Uploads only on shutdown: the backlog stays, so its age can be seen.
  broker = await startBroker({ settings: { metricsPort, uploadIntervalMs: 600_000, uploadBytesMax: 1024 * 1024 * 1024 } });
});
afterAll(async () => { await broker?.destroy(); });

/** The value of a metric line with exactly these labels (undefined if absent). */
async function sample(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const wanted = Object.keys(labels).length === 0 ? name
    : `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${wanted} `));
  return line === undefined ? undefined : Number(line.slice(wanted.length + 1));
}

it('counts bytes and records per topic, and shows each group\'s lag per partition and the backlog age', async () => {
  const kafka = kafkaClient(broker.bootstrap);
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < 4; i++) {
    await producer.send({ topic: 'metered', messages: Array.from({ length: 5 }, (_, j) => ({ value: `r${i}-${j}` })) });
  }
  await producer.send({ topic: 'other', messages: [{ value: 'x' }] });

  // A group reads the 20 records and commits them; no scrape before, so the first one sees the commit.
  const consumer = kafka.consumer({ groupId: 'metered-readers' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'metered', fromBeginning: true });
  let seen = 0;
  await consumer.run({ eachMessage: async () => { seen++; } });
  const deadline = Date.now() + 30_000;
  while (seen < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect(); // commits on the way out
  expect(seen).toBe(20);
  await producer.send({ topic: 'metered', messages: Array.from({ length: 7 }, (_, j) => ({ value: `late-${j}` })) });
  await producer.disconnect();

  expect(await sample('ledgerstream_topic_produced_records_total', { topic: 'metered' })).toBe(27);
  expect(await sample('ledgerstream_topic_produced_records_total', { topic: 'other' })).toBe(1);
  expect(await sample('ledgerstream_topic_produced_bytes_total', { topic: 'metered' })).toBeGreaterThan(27 * 5);
  expect(await sample('ledgerstream_topic_fetched_bytes_total', { topic: 'metered' })).toBeGreaterThan(20 * 5);
  expect(await sample('ledgerstream_topic_fetched_bytes_total', { topic: 'other' })).toBeUndefined();
  expect(await sample('ledgerstream_consumer_lag', { group: 'metered-readers', topic: 'metered', partition: '0' })).toBe(7);

  // Nothing has been uploaded: the oldest batch is as old as the test's first send, at least.
  const age = await sample('ledgerstream_upload_backlog_oldest_seconds');
  expect(age).toBeGreaterThan(0);

  // And read-back works as ever.
  expect((await consumeAll(kafka, 'metered', 27)).length).toBe(27);
});

it('the Grafana dashboard queries only metrics and labels the broker exports', async () => {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const labelsOf = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? /.exec(line);
    if (m === null) continue;
    const labels = labelsOf.get(m[1]!) ?? new Set<string>();
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(pair[1]!);
    labelsOf.set(m[1]!, labels);
  }
  const file = path.resolve(import.meta.dirname, '../../docs/grafana/ledgerstream-dashboard.json');
  const dashboard = JSON.parse(await readFile(file, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
  const problems: string[] = [];
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets) {
      const names = [...expr.matchAll(/\b(ledgerstream_[a-z_]+|process_[a-z_]+)\b/g)].map((m) => m[1]!);
      expect(names.length).toBeGreaterThan(0);
      // Labels grouped by must be on every metric of the query (le: on histogram buckets; instance: Prometheus adds it).
      const grouped = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()))
        .filter((l) => l !== 'le' && l !== 'instance');
      for (const name of names) {
        const labels = labelsOf.get(name);
        if (labels === undefined) { problems.push(`${panel.title}: ${name} is not exported`); continue; }
        for (const l of grouped) if (!labels.has(l)) problems.push(`${panel.title}: ${name} has no label ${l}`);
      }
    }
  }
  expect(problems).toEqual([]);
});
