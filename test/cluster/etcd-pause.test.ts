/**
 * etcd paused (SIGSTOP) for several lease TTLs under produce load, on the 3-broker cluster. Every
 * broker loses its lease at once; none may exit: each keeps its port, refuses produce with a
 * retriable error, serves Fetch of what it acknowledged, and once etcd resumes (SIGCONT) registers
 * again and takes appends on every partition — no broker restarted. Every acknowledged record is
 * read back exactly once (and nothing at all twice: the producer is idempotent).
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  decodeFetchResponse, defaultFetchRequest, defaultFetchRequestFetchPartition,
  defaultFetchRequestFetchTopic, encodeFetchRequest,
} from '../../protocol/generated/messages/fetch.js';
import {
  decodeProduceResponse, defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { freePort } from '../helpers/ports.js';
import { metricValue } from '../helpers/store-variants.js';
import { RawClient } from '../helpers/raw-client.js';
import { type TestCluster, saveBrokerLogs, startCluster } from '../helpers/cluster.js';
import { consumeAll, kafkaClient, waitFor, waitForStableLeaders } from '../helpers/kafka-client.js';

const run = promisify(execFile);
const TOPIC = 'etcd-pause';
const PARTITIONS = 3;
const LEASE_TTL_MS = 2_000;
/** About three TTLs: every lease expires in etcd and in every broker's own estimate. */
const PAUSE_MS = 3 * LEASE_TTL_MS;
/** Bounds each producer loop; it normally stops well before, when told to. */
const SENDS_MAX = 100_000;
/** A topic whose early data leaves the in-memory tail (tailBytesMax) before the pause. */
const OLD_TOPIC = 'etcd-pause-old';
const TAIL_BYTES_MAX = 1024 * 1024;
const OLD_RECORD_BYTES = 100 * 1024;
const OLD_RECORDS = 30;
/** Records per partition read back from the tail during the pause. */
const RECENT_READ = 10;

let cluster: TestCluster;
const metricsPorts: number[] = [];
beforeAll(async () => { cluster = await startCluster(3,
  { leaseTtlMs: LEASE_TTL_MS, tailBytesMax: TAIL_BYTES_MAX }, async () => {
    const metricsPort = await freePort();
    metricsPorts.push(metricsPort);
    return { metricsPort };
  }); }, 120_000);
afterAll(async () => {
  if (cluster !== undefined) {
    try { process.kill(cluster.etcd.pid, 'SIGCONT'); } catch { /* already gone */ }
    await cluster.destroy();
  }
});

/** The broker log lines about leadership and membership, for a failure's report. */
function brokerLog(output: string): string {
  const lines: string[] = [];
  for (const line of output.split('\n')) {
    if (!/lease|rejoin|regist|acquir|fenced|recover|moved|opened|handed|fail|drain|upload|index/.test(line)) continue;
    try {
      const { time, node, msg, topicId, partition, epoch, leader, to, err } = JSON.parse(line) as
        Record<string, unknown> & { err?: { message?: string } };
      lines.push([time, node, msg, topicId, partition, epoch, leader, to, err?.message?.slice(0, 120)]
        .filter((x) => x !== undefined).join(' '));
    } catch {
      lines.push(line.slice(0, 200));
    }
  }
  return lines.join('\n');
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(5_000, () => { socket.destroy(); resolve(false); });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** One record to partition 0 by a raw Produce v9 (acks=all); the partition's error code. */
async function rawProduce(port: number): Promise<number> {
  const raw = await RawClient.connect(port);
  try {
    const records = await encodeBatch({ records: [{ key: null, value: Buffer.from('paused') }],
      baseTimestamp: Date.now() });
    const req = defaultProduceRequest();
    req.acks = -1;
    req.timeoutMs = 5_000;
    req.topicData = [{ name: TOPIC, partitionData: [{ index: 0, records, unknownTaggedFields: undefined }],
      unknownTaggedFields: undefined }];
    raw.send(0, 9, (w) => encodeProduceRequest(w, 9, req));
    const frame = await raw.readFrame(15_000);
    if (frame === null) return -1000; // closed: not what clients should see
    const res = decodeProduceResponse(decodeResponseFrame(0, 9, frame).body, 9);
    return res.responses[0]!.partitionResponses[0]!.errorCode;
  } finally {
    raw.close();
  }
}

/**
 * A raw Fetch v12 of partition 0 of `topic` from offset 0: the partition's error code, or -1000
 * if the broker closed the connection instead of answering.
 */
async function rawFetch(port: number, topic: string): Promise<number> {
  const raw = await RawClient.connect(port);
  try {
    const req = defaultFetchRequest();
    req.maxBytes = 1024 * 1024;
    const t = defaultFetchRequestFetchTopic();
    t.topic = topic;
    const p = defaultFetchRequestFetchPartition();
    p.partition = 0;
    p.partitionMaxBytes = 1024 * 1024;
    t.partitions.push(p);
    req.topics = [t];
    raw.send(1, 12, (w) => encodeFetchRequest(w, 12, req));
    // etcd's client retries a call (each with its own deadline) before the read gives up.
    const frame = await raw.readFrame(90_000);
    if (frame === null) return -1000;
    return decodeFetchResponse(decodeResponseFrame(1, 12, frame).body, 12).responses[0]!.partitions[0]!.errorCode;
  } finally {
    raw.close();
  }
}

/** Values of one partition from `offset` to its high watermark, by kcat (no group, no etcd). */
async function kcatRead(partition: number, offset: number): Promise<string[]> {
  const { stdout } = await run('kcat', ['-b', cluster.bootstrap.join(','), '-t', TOPIC, '-C',
    '-p', String(partition), '-o', String(offset), '-e', '-q', '-f', '%s\n'], { timeout: 30_000 });
  return stdout.split('\n').filter((l) => l !== '');
}

it('brokers outlive an etcd pause: reads served, writes refused, then rejoin without restart', async () => {
  const kafka = kafkaClient(cluster.bootstrap, 'etcd-pause');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS },
    { topic: OLD_TOPIC, numPartitions: 1 }] });
  await waitForStableLeaders(admin, TOPIC);
  await waitForStableLeaders(admin, OLD_TOPIC);
  const oldLeader = (await admin.fetchTopicMetadata({ topics: [OLD_TOPIC] })).topics[0]!.partitions[0]!.leader;
  await admin.disconnect();
  // More than tailBytesMax: once uploaded, the first records are served from object storage,
  // which needs the segment index in etcd.
  const filler = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await filler.connect();
  for (let i = 0; i < OLD_RECORDS; i++) {
    await filler.send({ topic: OLD_TOPIC, acks: -1, messages: [{ value: Buffer.alloc(OLD_RECORD_BYTES, i) }] });
  }
  await filler.disconnect();
  const pids = cluster.brokers.map((b) => b.pid);

  // Load: an idempotent producer per partition (acks=all), each sending one record at a time.
  // One per partition, because a kafkajs send spanning brokers retries a failed broker's share
  // while another broker's request is in flight, and then reuses sequence numbers wrongly.
  const producers = await Promise.all(Array.from({ length: PARTITIONS }, async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1,
      retry: { retries: 1_000, initialRetryTime: 100, maxRetryTime: 1_000 } });
    await producer.connect();
    return producer;
  }));
  const acked: { partition: number; value: string }[] = [];
  let stop = false;
  const load = Promise.all(producers.map(async (producer, partition) => {
    for (let i = 0; i < SENDS_MAX && !stop; i++) {
      const value = `p${partition}-${i}`;
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition, value }] });
      acked.push({ partition, value });
    }
  }));
  await waitFor('records acknowledged before the pause', () => acked.length >= 30 * PARTITIONS, 60_000);
  const beforePause = [...acked];

  process.kill(cluster.etcd.pid, 'SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const ackedLeaseExpired = acked.length;
    // Every lease has expired by now. The brokers are still there and serve what they acked.
    for (const [i, b] of cluster.brokers.entries()) {
      expect(alive(b.pid), `broker ${i + 1} alive during the pause`).toBe(true);
      expect(b.pid).toBe(pids[i]);
      expect(await acceptsConnections(b.port), `broker ${i + 1} accepts connections`).toBe(true);
    }
    // The records acknowledged last before the pause, still in the in-memory tail (records are
    // p<partition>-<i> at offset i: one record per send, idempotent).
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const expected = beforePause.filter((m) => m.partition === partition).map((m) => m.value)
        .slice(-RECENT_READ);
      const from = Number(expected[0]!.split('-')[1]);
      const read = new Set(await kcatRead(partition, from));
      expect(expected.filter((v) => !read.has(v)), `partition ${partition} readable`).toEqual([]);
    }
    // Produce is answered, with a retriable error: the port stays open, nothing is acknowledged.
    for (const [i, b] of cluster.brokers.entries()) {
      expect(await rawProduce(b.port), `broker ${i + 1} answers produce`)
        .toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    }
    // Data older than the in-memory tail needs etcd's segment index: a retriable error for that
    // partition (after the coordinator's call timeout), not a dropped connection.
    const oldRead = await rawFetch(cluster.brokers[oldLeader - 1]!.port, OLD_TOPIC);
    console.log(`fetch of evicted data during the pause: error ${oldRead}`);
    expect([ErrorCode.NONE, ErrorCode.KAFKA_STORAGE_ERROR]).toContain(oldRead);
    expect(acked.length, 'nothing acknowledged past the lease').toBe(ackedLeaseExpired);
    // Partition 0's leader appended the raw produce above and refused to confirm it: counted.
    const refused = await Promise.all(metricsPorts.map((port) =>
      metricValue(port, 'ledgerstream_produce_acks_refused_total', '')));
    expect(refused.reduce((a, b) => a + b), `acks refused per broker: ${refused}`)
      .toBeGreaterThanOrEqual(1);
    console.log(`etcd paused: ${beforePause.length} acknowledged before, ${acked.length} in all`);
  } finally {
    process.kill(cluster.etcd.pid, 'SIGCONT');
  }

  // Produce resumes on every partition, without any broker restarting.
  const ackedIn = (partition: number) => acked.filter((m) => m.partition === partition).length;
  const resumedAt = Array.from({ length: PARTITIONS }, (_, partition) => ackedIn(partition));
  try {
    await waitFor('produce resumed on every partition', () =>
      resumedAt.every((n, partition) => ackedIn(partition) >= n + 10), 90_000);
  } catch (err) {
    for (const b of cluster.brokers) console.log(brokerLog(b.output()));
    console.log(`whole broker logs in ${await saveBrokerLogs(cluster.brokers, 'etcd-pause')}`);
    throw err;
  }
  stop = true;
  await load;
  for (const producer of producers) await producer.disconnect();
  for (const [i, b] of cluster.brokers.entries()) {
    expect(alive(b.pid), `broker ${i + 1} never exited`).toBe(true);
    expect(b.pid).toBe(pids[i]);
  }

  // Every acknowledged record exactly once, and no record twice.
  const read = await consumeAll(kafkaClient(cluster.bootstrap, 'etcd-pause-reader'), TOPIC, acked.length);
  const counts = new Map<string, number>();
  for (const r of read) counts.set(`${r.partition}/${r.value}`, (counts.get(`${r.partition}/${r.value}`) ?? 0) + 1);
  const missing = acked.filter((m) => counts.get(`${m.partition}/${m.value}`) !== 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
  console.log(`etcd pause: ${acked.length} acknowledged, ${read.length} read`);
  expect(missing).toEqual([]);
  expect(twice).toEqual([]);
  const old = await consumeAll(kafkaClient(cluster.bootstrap, 'etcd-pause-old-reader'), OLD_TOPIC, OLD_RECORDS);
  expect(old.map((r) => r.offset)).toEqual(Array.from({ length: OLD_RECORDS }, (_, i) => i));
}, 240_000);

