/**
 * Kafka Streams (the kafka-streams jar from Maven Central) with
 * processing.guarantee=exactly_once_v2 on the three-broker cluster: a word count
 * (test/txn/streams/WordCount.java, Kafka's WordCountDemo with its configuration as arguments)
 * counts the words of an input topic while a broker is SIGKILLed and restarted in the middle.
 * With the store's cache off every input word gives one output record, the word's count so far,
 * so a read_committed reader must see each word's counts as exactly 1, 2, ..., N in order: a
 * count written twice (a transaction replayed after the kill without its abort) or skipped
 * shows. Printed: records, duplicates, missing, faults.
 *
 * Needs `java` (17+), Maven for the first fetch, and Kafka's jars; skipped only without `java`.
 */
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { compileJava, describeRun, javaAvailable, kafkaJars,
  runJava } from '../helpers/kafka-tools.js';
import { kafkaStreamsJars, STREAMS_FETCH_MS_MAX } from '../helpers/kafka-streams.js';
import { createTopic } from '../helpers/txn-steps.js';

const HAVE_JAVA = javaAvailable();
const WORDS = ['ledger', 'stream', 'agent', 'task', 'approval'];
const LINES = 400;
/** Line i holds WORDS[i % 5] and WORDS[(i * 3) % 5]: every word counts 160. */
const line = (i: number) => `${WORDS[i % WORDS.length]} ${WORDS[(i * 3) % WORDS.length]}`;

/** Each word's count over all LINES. */
function expectedCounts(): Map<string, number> {
  const expected = new Map<string, number>();
  for (let i = 0; i < LINES; i++) {
    for (const w of line(i).split(' ')) expected.set(w, (expected.get(w) ?? 0) + 1);
  }
  return expected;
}

/** Counts written more than once, and counts never seen, over every word. */
function tally(counts: Map<string, number[]>, expected: Map<string, number>):
  { duplicates: number; missing: number } {
  let duplicates = 0;
  let missing = 0;
  for (const w of WORDS) {
    const got = new Set(counts.get(w) ?? []);
    duplicates += (counts.get(w) ?? []).length - got.size;
    missing += expected.get(w)! - got.size;
  }
  return { duplicates, missing };
}

/**
 * Every count a read_committed reader sees, per word, in offset order (growing as it reads). Each
 * record is counted once by its offset: the reader is itself a kafkajs group consumer, which
 * hands a record over again when it resumes from its last committed offset (its partition's
 * leader was the killed broker); that is the reader's redelivery, not a duplicate in the log.
 */
async function readCounts(kafka: Kafka, output: string): Promise<Map<string, number[]>> {
  const counts = new Map<string, number[]>();
  const delivered = new Set<string>();
  const reader = kafka.consumer({ groupId: `streams-wc-reader-${Date.now()}`,
    readUncommitted: false, maxWaitTimeInMs: 200 });
  await reader.connect();
  await reader.subscribe({ topic: output, fromBeginning: true });
  await reader.run({ eachMessage: async ({ partition, message }) => {
    const at = `${partition}:${message.offset}`;
    if (delivered.has(at)) {
      redelivered++;
      return;
    }
    delivered.add(at);
    const word = message.key!.toString();
    counts.set(word, [...(counts.get(word) ?? []), Number(message.value!.readBigInt64BE())]);
  } });
  readers.push(reader);
  return counts;
}
const readers: { disconnect(): Promise<void> }[] = [];
/** Records the reader was handed again (same partition and offset), not counted twice. */
let redelivered = 0;

describe.skipIf(!HAVE_JAVA)('Kafka Streams word count, exactly_once_v2, 3-broker cluster', () => {
  let cluster: TestCluster;
  let kafka: Kafka;
  let classpath: string[];
  beforeAll(async () => {
    const [c, libs] = await Promise.all([startCluster(3, { uploadIntervalMs: 100,
      groupInitialRebalanceDelayMs: 0 }), kafkaStreamsJars(), kafkaJars()]);
    cluster = c;
    kafka = kafkaClient(cluster.bootstrap);
    const streamsCp = path.join(libs, '*');
    const classes = await compileJava([path.resolve(import.meta.dirname,
      'streams/WordCount.java')], [streamsCp]);
    classpath = [classes, streamsCp];
  }, STREAMS_FETCH_MS_MAX + 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('counts exactly, also across a broker SIGKILL and restart', async () => {
    const input = 'streams-wc-in';
    const output = 'streams-wc-out';
    await createTopic(kafka, input, 2);
    await createTopic(kafka, output, 2);
    const expected = expectedCounts();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const send = (from: number, to: number) => producer.send({ topic: input,
      messages: Array.from({ length: to - from }, (_, k) => ({ key: `l${from + k}`,
        value: line(from + k) })) });
    await send(0, LINES / 2);

    const counts = await readCounts(kafka, output);
    const seen = () => [...counts.values()].reduce((n, v) => n + v.length, 0);

    const stop = new AbortController();
    const app = runJava('WordCount', [cluster.bootstrap.join(','), 'ledgerstream-wordcount', input,
      output, path.join(cluster.sharedDir, 'streams-state')],
    { classpath, timeoutMs: 400_000, signal: stop.signal, jvmFlags: ['-Xmx384m'] });
    let faults = 0;
    try {
      await waitFor('the first counts', () => seen() >= 50, 90_000).catch(async (e: unknown) => {
        stop.abort();
        throw new Error(`${String(e)}\n${describeRun(await app)}`);
      });
      const victim = cluster.brokers[1]!;
      await victim.kill();
      faults++;
      await send(LINES / 2, LINES);
      await new Promise((r) => setTimeout(r, 2000));
      await victim.restart();
      const done = () => WORDS.every((w) => counts.get(w)?.at(-1) === expected.get(w));
      await waitFor('every word counted', done, 180_000).catch(() => {});
      await new Promise((r) => setTimeout(r, 2000)); // anything more would be a duplicate
    } finally {
      stop.abort();
      await Promise.all(readers.splice(0).map((r) => r.disconnect()));
      await producer.disconnect();
    }
    const run = await app;
    const { duplicates, missing } = tally(counts, expected);
    console.log(`Kafka Streams word count (exactly_once_v2): records=${seen()} `
      + `duplicates=${duplicates} missing=${missing} faults=${faults} `
      + `(reader redeliveries ${redelivered})`);
    for (const w of WORDS) {
      expect(counts.get(w), `${w}\n${describeRun(run)}`).toEqual(
        Array.from({ length: expected.get(w)! }, (_, i) => i + 1));
    }
  }, 600_000);
});
