/**
 * A zombie leader: paused (SIGSTOP) past its lease while another broker takes its partition over,
 * then resumed. A produce it receives after resuming must not be acknowledged, its data must not
 * show up in the log, and it must stop serving (it steps down, or exits to rejoin).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  decodeProduceResponse, defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { consumeAll, kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster;
beforeAll(async () => { cluster = await startCluster(3); }, 120_000);
afterAll(async () => cluster?.destroy());

async function leaderOf(topic: string, bootstrap: string[]): Promise<{ leader: number; epoch: number }> {
  const admin = kafkaClient(bootstrap).admin();
  await admin.connect();
  try {
    const p = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!;
    return { leader: p.leader, epoch: (p as unknown as { leaderEpoch?: number }).leaderEpoch ?? -1 };
  } finally {
    await admin.disconnect();
  }
}

it('a leader paused past its lease cannot acknowledge or commit after it resumes', async () => {
  const kafka = kafkaClient(cluster.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'zombie', numPartitions: 1 }] });
  await admin.disconnect();
  await waitFor('a leader', async () => (await leaderOf('zombie', cluster.bootstrap)).leader > 0, 20_000);
  const first = kafka.producer({ idempotent: true });
  await first.connect();
  await first.send({ topic: 'zombie', acks: -1, messages: [{ value: 'before' }] });
  await first.disconnect();

  const { leader } = await leaderOf('zombie', cluster.bootstrap);
  console.log(`zombie test: leader ${leader} will be paused`);
  const zombie = cluster.brokers[leader - 1]!;
  const others = cluster.brokers.filter((b) => b !== zombie).map((b) => b.bootstrap);
  const raw = await RawClient.connect(zombie.port);
  process.kill(zombie.pid!, 'SIGSTOP');
  await waitFor('another broker to take over', async () => {
    const now = await leaderOf('zombie', others).catch(() => ({ leader: -1 }));
    return now.leader > 0 && now.leader !== leader;
  }, 30_000);
  // Clients that know only the live brokers: a paused broker accepts connections but never answers.
  const producer = kafkaClient(others, 'zombie-producer').producer({ idempotent: true,
    retry: { retries: 60, initialRetryTime: 100, maxRetryTime: 500 } });
  await producer.connect();
  await producer.send({ topic: 'zombie', acks: -1, messages: [{ value: 'after-takeover' }] });

  // Queued while paused, handled on resume: the zombie's lease is gone.
  const batch = await encodeBatch({ records: [{ key: null, value: Buffer.from('from-zombie') }], baseTimestamp: Date.now() });
  const req = defaultProduceRequest();
  req.acks = -1;
  req.timeoutMs = 5000;
  req.topicData = [{ name: 'zombie', partitionData: [{ index: 0, records: batch, unknownTaggedFields: undefined }],
    unknownTaggedFields: undefined }];
  raw.send(0, 9, (w) => encodeProduceRequest(w, 9, req));
  process.kill(zombie.pid!, 'SIGCONT');
  const frame = await raw.readFrame(15_000);
  if (frame !== null) {
    const res = decodeProduceResponse(decodeResponseFrame(0, 9, frame).body, 9);
    const errorCode = res.responses[0]!.partitionResponses[0]!.errorCode;
    console.log(`zombie answered ${errorCode} (${errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ? 'NOT_LEADER_OR_FOLLOWER' : 'other'})`);
    expect(errorCode).not.toBe(ErrorCode.NONE);
  } else {
    console.log('zombie closed the connection (it exited to rejoin)');
  }
  raw.close();
  await producer.send({ topic: 'zombie', acks: -1, messages: [{ value: 'later' }] });
  await producer.disconnect();
  const read = await consumeAll(kafkaClient(others), 'zombie', 3);
  expect(read.map((r) => r.value)).toEqual(['before', 'after-takeover', 'later']);
  // The zombie stepped down: it no longer claims the partition (or it exited).
  await waitFor('the zombie to step down', async () => {
    if (zombie.pid === undefined || !alive(zombie.pid)) return true;
    return (await leaderOf('zombie', [zombie.bootstrap]).catch(() => ({ leader: -1 }))).leader !== leader;
  }, 20_000);
}, 120_000);

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}
