/**
 * Partitions written by more idempotent producers than one etcd value can list (an agent fleet
 * whose agents come and go, each with a new producer id, within producer.id.expiration.ms).
 * Each segment commit used to refuse an oversized producer list, so the partition's uploads
 * failed until the producers expired (a day by default), and a broker taking the partition over
 * after its leader died could not commit it either; several lists each under the cap still made
 * one commit too large for etcd. Now the lists of a commit are cut to fit, each to its most
 * recently active producers (src/metadata/etcd/producer-states-budget.ts): uploads go on, and
 * after the leader is SIGKILLed the broker that takes over serves every acknowledged record.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as produce from '../../protocol/generated/messages/produce.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { consumeAll, kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { RawClient } from '../helpers/raw-client.js';

/** About 150 bytes of JSON each with one batch: 5000 are past the 512 KiB value. */
const PRODUCERS = 5000;
/** Each producer writes to all of them, so one commit carries this many full lists. */
const PARTITIONS = 3;
const TOPIC = 'crowded';

let cluster: TestCluster;
// One broker leads every partition, so one commit carries all their lists; a second joins later
// to take them over.
beforeAll(async () => { cluster = await startCluster(1, { walMode: 'shared' }); }, 120_000);
afterAll(async () => cluster?.destroy());

async function leaderOf(topic: string): Promise<number> {
  const admin = kafkaClient(cluster.bootstrap).admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const leaders = new Set(meta.topics[0]!.partitions.map((p) => p.leader));
    return leaders.size === 1 ? [...leaders][0]! : -1;
  } finally {
    await admin.disconnect();
  }
}

/** One acks=-1 Produce per producer id, all in flight at once; the error codes answered. */
async function produceFromEach(port: number): Promise<number[]> {
  const client = await RawClient.connect(port);
  try {
    for (let i = 0; i < PRODUCERS; i++) {
      const batch = await encodeBatch({ records: [{ key: null, value: Buffer.from(`agent-${i}`) }],
        baseTimestamp: Date.now(), producerId: BigInt(1_000_000 + i), producerEpoch: 0,
        baseSequence: 0 });
      client.send(0, 9, (w) => produce.encodeProduceRequest(w, 9, {
        ...produce.defaultProduceRequest(), acks: -1, timeoutMs: 30_000,
        topicData: [{ ...produce.defaultProduceRequestTopicProduceData(), name: TOPIC,
          partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({
            ...produce.defaultProduceRequestPartitionProduceData(), index,
            records: Buffer.from(batch) })) }] }));
    }
    const codes: number[] = [];
    for (let i = 0; i < PRODUCERS; i++) {
      const frame = await client.readFrame(30_000);
      expect(frame).not.toBeNull();
      const r = produce.decodeProduceResponse(decodeResponseFrame(0, 9, frame!).body, 9);
      codes.push(...r.responses[0]!.partitionResponses.map((p) => p.errorCode));
    }
    return codes;
  } finally {
    client.close();
  }
}

it('uploads partitions of more producers than etcd values list; fails them over', async () => {
  const admin = kafkaClient(cluster.bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  await waitFor('a leader', async () => (await leaderOf(TOPIC)) > 0, 20_000);
  const leader = cluster.brokers[(await leaderOf(TOPIC)) - 1]!;

  const codes = await produceFromEach(leader.port);
  expect(codes.filter((c) => c !== ErrorCode.NONE)).toEqual([]);
  // Uploads run every 250 ms: the list is cut as the first commit is planned; a few more rounds
  // show whether etcd took the commits.
  await waitFor('an upload of the crowded partitions', async () =>
    /least recently active producers left out|uploads failing/.test(leader.output()), 30_000);
  await new Promise((r) => setTimeout(r, 2000));
  expect(leader.output()).not.toMatch(/uploads failing/);

  const survivor = await cluster.addBroker();
  await leader.kill();
  const read = await consumeAll(kafkaClient(survivor.bootstrap), TOPIC, PRODUCERS * PARTITIONS);
  expect(read.map((r) => r.value).sort()).toEqual(Array.from({ length: PRODUCERS * PARTITIONS },
    (_, i) => `agent-${Math.floor(i / PARTITIONS)}`).sort());
}, 180_000);
