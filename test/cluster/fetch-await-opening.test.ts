/**
 * Fetch during a failover (src/broker/await-opening.ts): a consumer that finds a dead broker's
 * partition at its new leader while that leader still waits out the dead broker's
 * acknowledgement window (walMode=object, where there is no WAL to fence: with a shared WAL the
 * new leader fences it and opens at once) is held until the partition opens, as a producer is,
 * instead of being
 * answered NOT_LEADER_OR_FOLLOWER and backing off (librdkafka: fetch.error.backoff.ms, then a
 * metadata refresh). kcat (librdkafka) reads the partition from the survivors with its debug log
 * of fetches on: it gets every record, and no fetch error on the way. A long window (3 s, lease
 * 10 s) so that kcat certainly asks before the partition opens.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { createTopicWithLeader, kafkaClient, leaderOf, waitFor } from '../helpers/kafka-client.js';

const run = promisify(execFile);
const LEASE_MS = 10_000;
const WINDOW_MS = 3_000;
const TOPIC = 'held-fetch';
const RECORDS = 20;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

it('a fetch from a new leader still waiting out the window is held, not refused', async () => {
  cluster = await startCluster(3,
    { leaseTtlMs: LEASE_MS, ackWindowMs: WINDOW_MS, walMode: 'object' });
  const kafka = kafkaClient(cluster.bootstrap);
  const leader = await createTopicWithLeader(kafka, TOPIC);
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const values = Array.from({ length: RECORDS }, (_, i) => `v${i}`);
  await producer.send({ topic: TOPIC, acks: -1, messages: values.map((value) => ({ value })) });
  await producer.disconnect();

  const victim = cluster.brokers[leader - 1]!;
  const survivors = cluster.brokers.filter((b) => b !== victim).map((b) => b.bootstrap);
  await victim.kill();
  const others = kafkaClient(survivors);
  await waitFor('a new leader in Metadata', async () => {
    const now = await leaderOf(others, TOPIC).catch(() => -1);
    return now > 0 && now !== leader;
  }, LEASE_MS);
  // From offset 0 (no ListOffsets first), waiting up to 10 s per fetch (default 500 ms), so one
  // held fetch outlasts the window.
  const { stdout, stderr } = await run('kcat', ['-b', survivors.join(','), '-C', '-t', TOPIC,
    '-p', '0', '-o', '0', '-c', String(RECORDS), '-f', '%s\n', '-d', 'fetch',
    '-X', 'fetch.wait.max.ms=10000'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  expect(stdout.split('\n').filter((l) => l !== '')).toEqual(values);
  // librdkafka's debug line for a refused fetch: "held-fetch [0]: Fetch backoff for 500ms:
  // Broker: Not leader for partition".
  const refused = stderr.split('\n').filter((l) => /Not leader for partition|NOT_LEADER/.test(l));
  console.log(`held fetch: kcat read ${RECORDS} records; fetches refused: ${refused.length}`);
  expect(refused).toEqual([]);
  // The partition did wait out the window (else nothing here was held).
  const waited = 'recovery waits out a revoked broker\'s window';
  expect(cluster.brokers.some((b) => b !== victim && b.output().includes(waited))).toBe(true);
}, 120_000);
