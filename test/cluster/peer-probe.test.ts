/**
 * Fast detection (src/cluster/peer-probe.ts): a killed broker's peers see its port refuse
 * connections and revoke its lease; its partitions are given to new leaders at once (named in
 * Metadata), which fence its WAL for the revoked lease (storage/wal/fence.ts) and open them
 * without waiting out its acknowledgement window, long before the lease would have expired. And
 * the safety of a false positive: a LIVE broker whose lease is revoked under a steady idempotent
 * load loses nothing it acknowledged (the new leader fences its WAL before replaying it; the
 * broker acknowledges nothing appended under a fenced lease, nor past its window).
 * test/cluster/wal-fence.test.ts shows the fence alone at work. Leases here are long (10 s) so
 * that only the probe can explain a failover within seconds.
 */
import { afterEach, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { type TestCluster, revokeLeaseAsPeer, startCluster } from '../helpers/cluster.js';
import { kafkaClient, leaderOf, waitFor } from '../helpers/kafka-client.js';
import { RawClient } from '../helpers/raw-client.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  decodeProduceResponse, defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { encodeBatch } from '../../protocol/records/record.js';

const LEASE_MS = 10_000;
const WINDOW_MS = 1_000;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

async function createTopic(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  let leader = -1;
  await waitFor('a leader', async () => (leader = await leaderOf(kafka, topic).catch(() => -1)) > 0, 20_000);
  return leader;
}

/**
 * Sends value 0, 1, 2, ... one at a time until stopped; returns the values acknowledged.
 * `ackedAtMs` holds when each acknowledgement came and `sentAtMs` when its send began
 * (performance.now()).
 */
function steadyProducer(kafka: Kafka, topic: string):
  { ackedAtMs: number[]; sentAtMs: number[]; stop(): Promise<number[]> } {
  const producer = kafka.producer({ idempotent: true, retry: { retries: 100, initialRetryTime: 50, maxRetryTime: 300 } });
  const acked: number[] = [];
  const ackedAtMs: number[] = [];
  const sentAtMs: number[] = [];
  let stopped = false;
  const loop = (async () => {
    await producer.connect();
    for (let seq = 0; !stopped; seq++) {
      const sentAt = performance.now();
      await producer.send({ topic, acks: -1, messages: [{ value: String(seq) }] })
        .then(() => { acked.push(seq); ackedAtMs.push(performance.now()); sentAtMs.push(sentAt); },
          () => {});
    }
  })();
  const stop = async () => {
    stopped = true;
    await loop;
    await producer.disconnect();
    return acked;
  };
  return { ackedAtMs, sentAtMs, stop };
}

/** One produce (acks=-1) straight to a broker's port; returns the partition's error code. */
async function produceRaw(port: number, topic: string, value: string): Promise<number> {
  const raw = await RawClient.connect(port);
  try {
    const req = defaultProduceRequest();
    req.acks = -1;
    req.timeoutMs = 10_000;
    const records = await encodeBatch({ records: [{ key: null, value: Buffer.from(value) }],
      baseTimestamp: Date.now() });
    req.topicData = [{ name: topic, unknownTaggedFields: undefined,
      partitionData: [{ index: 0, records, unknownTaggedFields: undefined }] }];
    raw.send(0, 9, (w) => encodeProduceRequest(w, 9, req));
    const frame = await raw.readFrame(15_000);
    expect(frame).not.toBeNull();
    const res = decodeProduceResponse(decodeResponseFrame(0, 9, frame!).body, 9);
    return res.responses[0]!.partitionResponses[0]!.errorCode;
  } finally {
    raw.close();
  }
}

async function readValues(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  const high = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}`, maxWaitTimeInMs: 100 });
  const values: number[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { values.push(Number(message.value!.toString())); } });
  await waitFor(`${high} records`, () => values.length >= high, 30_000);
  await consumer.disconnect();
  return values;
}

it('a killed leader is replaced at once in Metadata; its WAL is fenced, no window waited',
  async () => {
  cluster = await startCluster(3, { leaseTtlMs: LEASE_MS, ackWindowMs: WINDOW_MS });
  const kafka = kafkaClient(cluster.bootstrap);
  const leader = await createTopic(kafka, 'probe');
  const load = steadyProducer(kafka, 'probe');
  await new Promise((r) => setTimeout(r, 500));
  const victim = cluster.brokers[leader - 1]!;
  const others = kafkaClient(cluster.brokers.filter((b) => b !== victim).map((b) => b.bootstrap));
  const killedAt = performance.now();
  await victim.kill();
  // From here the victim is gone: a send begun now can only be acknowledged by its successor. (An
  // acknowledgement that arrives after killedAt may still be the victim's, sent just before.)
  const deadAt = performance.now();
  let successor = -1;
  await waitFor('a new leader', async () => {
    successor = await leaderOf(others, 'probe').catch(() => -1);
    return successor > 0 && successor !== leader;
  }, LEASE_MS);
  const namedMs = performance.now() - killedAt;
  // Sent to the new leader while it still waits out the window: held, then acknowledged.
  const held = await produceRaw(cluster.brokers[successor - 1]!.port, 'probe', 'held');
  const heldAnsweredMs = performance.now() - killedAt;
  expect(held).toBe(ErrorCode.NONE);
  const firstAfterDeath = () => load.sentAtMs.findIndex((at) => at >= deadAt);
  await waitFor('an acknowledgement of a send begun after the kill',
    () => firstAfterDeath() >= 0, LEASE_MS);
  const firstAckMs = load.ackedAtMs[firstAfterDeath()]! - killedAt;
  console.log(`peer probe: leader ${leader} killed; new leader in Metadata after ` +
    `${Math.round(namedMs)} ms, first acknowledgement after ${Math.round(firstAckMs)} ms`);
  console.log('peer probe: a produce sent to the new leader at once was answered after ' +
    `${Math.round(heldAnsweredMs)} ms`);
  expect(firstAckMs).toBeLessThan(LEASE_MS / 2); // not the lease
  const survivors = cluster.brokers.filter((b) => b !== victim);
  expect(survivors.some((b) => b.output().includes('peer refuses connections; its lease revoked'))).toBe(true);
  // The new leader fenced the victim's WAL and replayed it, without waiting out the window.
  expect(survivors.some((b) => b.output().includes('fenced a revoked broker\'s WAL'))).toBe(true);
  const waited = 'recovery waits out a revoked broker\'s window';
  expect(survivors.some((b) => b.output().includes(waited))).toBe(false);
  await new Promise((r) => setTimeout(r, 500));
  const acked = await load.stop();
  const read = new Set(await readValues(others, 'probe'));
  expect(acked.length).toBeGreaterThan(0);
  expect(acked.filter((v) => !read.has(v))).toEqual([]);
}, 120_000);

it.each([
  // The controller moves the partition at once; the new leader fences the WAL of a broker that
  // was acknowledging until the revoke (and would be until its window's end) and replays it at
  // once. Live, the broker rejoins at once; paused, only after the new leader opened.
  ['rejoins at once', 0],
  ['is paused past its window and replaced', 2_500],
])('a live leader whose lease a peer revokes loses nothing it acknowledged: it %s', async (_, pauseMs) => {
  cluster = await startCluster(3, { leaseTtlMs: LEASE_MS, ackWindowMs: WINDOW_MS });
  const kafka = kafkaClient(cluster.bootstrap);
  const leader = await createTopic(kafka, 'revoked');
  const load = steadyProducer(kafka, 'revoked');
  await new Promise((r) => setTimeout(r, 500));
  // What a peer does when the leader's port refuses: here the leader is alive and acknowledging.
  expect(await revokeLeaseAsPeer(cluster.etcd.endpoint, leader)).toBe(true);
  const victim = cluster.brokers[leader - 1]!;
  if (pauseMs > 0) {
    process.kill(victim.pid!, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, pauseMs));
    process.kill(victim.pid!, 'SIGCONT');
  }
  await waitFor('the revoked broker to rejoin', () => victim.output().includes('rejoined the cluster'), 20_000);
  // The controller moved the partition when the registration went (the new leader fenced and
  // replayed the revoked broker's WAL), or (a broker quick enough to register again before
  // the controller's pass) the broker took it back at a new epoch.
  await new Promise((r) => setTimeout(r, 2_000));
  const now = await leaderOf(kafka, 'revoked');
  console.log(`peer probe: leader ${leader} revoked while live (paused ${pauseMs} ms); leader now ${now}`);
  if (pauseMs > 0) expect(now).not.toBe(leader);
  const acked = await load.stop();
  const values = await readValues(kafka, 'revoked');
  const read = new Set(values);
  expect(acked.length).toBeGreaterThan(0);
  expect(acked.filter((v) => !read.has(v))).toEqual([]);
  expect(values.length).toBe(read.size); // no duplicates
}, 120_000);
