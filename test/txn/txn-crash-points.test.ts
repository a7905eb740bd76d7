/**
 * Kills at exact points of the transaction state machine (src/util/crash-points.ts), on the
 * three-broker cluster: the coordinator between storing PrepareCommit/PrepareAbort and the first
 * marker (also in the abort that a new producer instance's InitProducerId starts), the
 * coordinator between the last marker and CompleteCommit, and a partition leader (not the
 * coordinator) after appending a marker, before it is durable. Each time the broker
 * SIGKILLs itself there, is restarted, and the cluster must finish the transaction from durable
 * state: the decision the coordinator stored is the outcome (committed records visible to
 * read_committed exactly once, aborted ones never), exactly one marker per partition, no
 * transaction left open, the LSO held below the open transaction before and at the high
 * watermark after, and the transactional id usable again. And a leader killed (plainly) under an
 * open transaction: its successor, rebuilt from the log, holds the LSO below it.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCluster, saveBrokerLogs, startCluster } from '../helpers/cluster.js';
import { kafkaClient, waitFor, waitForStableLeaders } from '../helpers/kafka-client.js';
import { readValues } from '../helpers/read-isolated.js';
import { bounded } from '../cluster/chaos-bounds.js';
import type { CrashPoint } from '../../src/util/crash-points.js';
import { txnCoordinatorOf } from './txn-kill.js';
import { type AuditedPartition, auditPartition } from './txn-log-audit.js';

const PARTITIONS = 3;
const PER_PARTITION = 5;

/** How the transaction ends: EndTxn commit or abort, or a new instance of the producer
 * (InitProducerId) fencing the open transaction, which the coordinator then aborts. */
type End = 'commit' | 'abort' | 'fence';

interface Case {
  point: CrashPoint;
  victim: 'coordinator' | 'leader';
  end: End;
}

const CASES: Case[] = [
  { point: 'txn-before-markers', victim: 'coordinator', end: 'commit' },
  { point: 'txn-before-markers', victim: 'coordinator', end: 'abort' },
  { point: 'txn-before-markers', victim: 'coordinator', end: 'fence' },
  { point: 'txn-before-complete', victim: 'coordinator', end: 'commit' },
  { point: 'marker-before-durable', victim: 'leader', end: 'commit' },
  { point: 'marker-before-durable', victim: 'leader', end: 'abort' },
];

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
};

describe('transaction state machine killed at exact points (3 brokers)', () => {
  let cluster: TestCluster;
  let kafka: Kafka;
  beforeAll(async () => {
    cluster = await startCluster(3, { groupInitialRebalanceDelayMs: 0 });
    kafka = kafkaClient(cluster.bootstrap, 'txn-crash-points');
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it.each(CASES.map((c, i) => ({ ...c, i })))(
    '$point on the $victim, ended by $end: finished from durable state',
    async (c) => {
      try {
        await crashAtPoint(cluster, kafka, c);
      } catch (error) {
        const logs = await saveBrokerLogs(cluster.brokers, `txn-crash-${c.i}`);
        console.log(`case ${c.i}: broker logs in ${logs}`);
        throw error;
      }
    }, 180_000);

  it('a new leader holds the LSO below a transaction still open when its leader was killed',
    () => newLeaderHoldsLso(cluster, kafka), 180_000);
});

/** One case: arm the victim, run the transaction, let the point kill it, then audit the log. */
async function crashAtPoint(cluster: TestCluster, kafka: Kafka,
  { point, victim, end, i }: Case & { i: number }): Promise<void> {
  const commit = end === 'commit';
  const started = performance.now();
  const step = (what: string) => console.log(`case ${i} (${point}, ${victim}, ${end}): `
    + `${what} at +${Math.round(performance.now() - started)} ms`);
  const id = `crash-tx-${i}`;
  const topic = `crash-${i}`;
  const coordinator = await coordinatorOf(cluster, id);
  const victimId = victim === 'coordinator' ? coordinator : coordinator % 3 + 1;
  await arm(cluster, victimId, point, id, coordinator);
  step(`broker ${victimId} armed`);
  const leaders = await createTopic(kafka, topic);
  expect(leaders, 'the victim leads a partition of the topic')
    .toContain(victim === 'leader' ? victimId : leaders[0]);

  const values = await runTransaction(kafka, cluster, id, topic, end);
  step('transaction ended on the client');
  const victimBroker = cluster.brokers[victimId - 1]!;
  await waitFor(`broker ${victimId} to hit ${point}`, () => !alive(victimBroker.pid), 60_000);
  await victimBroker.kill(); // reaps the exit
  await victimBroker.restart();
  step(`broker ${victimId} died at the point and was restarted`);
  const audit = await waitSettled(kafka, cluster, topic);
  step('the transaction finished on every partition');

  for (const a of audit) {
    expect({ partition: a.partition, markers: a.markers, doubled: a.doubledMarkers,
      open: a.openTransactions, lso: a.lastStableOffset }).toEqual({
      partition: a.partition, markers: 1, doubled: [], open: [], lso: a.highWatermark });
    const fates = [...a.fates.values()].map((f) => f.fate);
    expect(new Set(fates)).toEqual(new Set([commit ? 'committed' : 'aborted']));
    const stored = [...a.fates.values()].map((f) => f.value);
    expect(stored, `p${a.partition} holds each record once`)
      .toEqual(values.filter((v) => v.startsWith(`${id}-p${a.partition}-`)));
  }
  await expectIdUsable(kafka, id, topic);
  step('the id committed again');
  const expected = [...commit ? values : [], `${id}-again`].sort();
  const arrivals: string[] = [];
  const reader = kafkaClient(cluster.bootstrap, 'txn-crash-points-read',
    (line) => arrivals.push(line));
  const seen = await readValues(reader, topic, false, expected.length,
    { allowShort: true, settleMs: 1000,
      onRecord: (p, offset, value) => arrivals.push(`p${p}@${offset} ${value}`) });
  const trace = arrivals.join(', ');
  expect(seen, `read_committed read (records, kafkajs warnings): ${trace}`).toEqual(expected);
}

/** An open transaction's data, its partition's leader killed: the new leader holds the LSO. */
async function newLeaderHoldsLso(cluster: TestCluster, kafka: Kafka): Promise<void> {
  const id = 'crash-tx-failover';
  const topic = 'crash-failover';
  const coordinator = await coordinatorOf(cluster, id);
  await arm(cluster, coordinator, null, id, coordinator); // every broker up
  const leaders = await createTopic(kafka, topic);
  const partition = leaders.findIndex((l) => l !== coordinator);
  expect(partition, 'a partition led by another broker than the coordinator')
    .toBeGreaterThanOrEqual(0);
  const victim = cluster.brokers[leaders[partition]! - 1]!;
  const producer = kafka.producer({ transactionalId: id, idempotent: true,
    maxInFlightRequests: 1, transactionTimeout: 60_000 });
  await producer.connect();
  try {
    const txn = await producer.transaction();
    await txn.send({ topic, acks: -1, messages: [0, 1, 2].map((p) => ({ partition: p,
      value: `${id}-p${p}` })) });
    await victim.kill();
    let moved: AuditedPartition | undefined;
    await waitFor(`a new leader for ${topic}-${partition}`, async () => {
      const audit = await auditTopic(kafka, cluster, topic).catch(() => []);
      moved = audit.find((a) => a.partition === partition);
      return moved !== undefined;
    }, 60_000);
    expect(moved!.openTransactions.length, 'the new leader knows the open transaction')
      .toBe(1);
    expect(moved!.lastStableOffset, 'and holds the LSO below it').toBe(0);
    await victim.restart();
    await txn.commit();
  } finally {
    await bounded('disconnect', producer.disconnect(), 15_000).catch(() => {});
  }
  for (const a of await waitSettled(kafka, cluster, topic)) {
    expect([...a.fates.values()].map((f) => f.fate)).toEqual(['committed']);
    expect(a.markers).toBe(1);
  }
}

async function coordinatorOf(cluster: TestCluster, id: string): Promise<number> {
  let nodeId = -1;
  await waitFor(`a coordinator for ${id}`, async () => {
    nodeId = await txnCoordinatorOf(cluster.brokers[0]!.port, id);
    return nodeId > 0;
  });
  return nodeId;
}

/**
 * Restarts any broker found dead, then broker `nodeId` with `point` armed (null: only the
 * first part); waits until `id` is coordinated as before.
 */
async function arm(cluster: TestCluster, nodeId: number, point: CrashPoint | null, id: string,
  coordinator: number): Promise<void> {
  for (const b of cluster.brokers) {
    if (alive(b.pid)) continue; // a case that failed left it dead: bring it back
    await b.kill();
    await b.restart();
  }
  const broker = cluster.brokers[nodeId - 1]!;
  if (point !== null) {
    expect(await broker.stop()).toBe(0);
    await broker.restart({ LEDGERSTREAM_CRASH_POINTS: point });
  }
  await waitFor(`every broker to name broker ${coordinator} for ${id}`, async () => {
    const named = await Promise.all(cluster.brokers.map((b) => txnCoordinatorOf(b.port, id)));
    return named.every((n) => n === coordinator);
  }, 60_000);
}

/** Creates the topic; returns each partition's leader. */
async function createTopic(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    await waitForStableLeaders(admin, topic);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return [...meta.topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId)
      .map((p) => p.leader);
  } finally {
    await admin.disconnect();
  }
}

/**
 * One transaction over every partition; checks the LSO is held below it while it is open, then
 * ends it. The end may fail on the client (its coordinator died): the outcome is the stored
 * decision, checked afterwards.
 */
async function runTransaction(kafka: Kafka, cluster: TestCluster, id: string, topic: string,
  end: End): Promise<string[]> {
  const producer = kafka.producer({ transactionalId: id, idempotent: true,
    maxInFlightRequests: 1, transactionTimeout: 60_000 });
  await producer.connect();
  const values: string[] = [];
  try {
    const txn = await producer.transaction();
    for (let p = 0; p < PARTITIONS; p++) {
      const messages = Array.from({ length: PER_PARTITION }, (_, n) => ({ partition: p,
        value: `${id}-p${p}-${n}` }));
      values.push(...messages.map((m) => m.value));
      await txn.send({ topic, acks: -1, messages });
    }
    for (const a of await auditTopic(kafka, cluster, topic)) {
      expect(a.openTransactions.length, `p${a.partition} has the open transaction`).toBe(1);
      expect(a.lastStableOffset, `p${a.partition}: LSO below the open transaction`).toBe(0);
    }
    const ending = end === 'commit' ? txn.commit() : end === 'abort' ? txn.abort()
      : fenceWithNewInstance(kafka, id);
    await bounded('end transaction', ending, 60_000).catch(() => {});
  } finally {
    await bounded('disconnect', producer.disconnect(), 15_000).catch(() => {});
  }
  return values;
}

async function auditTopic(kafka: Kafka, cluster: TestCluster,
  topic: string): Promise<AuditedPartition[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return await Promise.all(meta.topics[0]!.partitions.map((p) =>
      auditPartition(cluster.brokers[p.leader - 1]!.port, topic, p.partitionId)));
  } finally {
    await admin.disconnect();
  }
}

/** Waits until no partition has an open transaction and every LSO is at its high watermark. */
async function waitSettled(kafka: Kafka, cluster: TestCluster,
  topic: string): Promise<AuditedPartition[]> {
  let audit: AuditedPartition[] = [];
  await waitFor(`${topic}: the transaction finished on every partition`, async () => {
    audit = await auditTopic(kafka, cluster, topic).catch(() => []);
    return audit.length === PARTITIONS && audit.every((a) => a.openTransactions.length === 0
      && a.lastStableOffset === a.highWatermark);
  }, 90_000);
  return audit;
}

async function fenceWithNewInstance(kafka: Kafka, id: string): Promise<void> {
  const fencer = kafka.producer({ transactionalId: id, idempotent: true,
    maxInFlightRequests: 1 });
  await fencer.connect();
  try {
    // kafkajs sends InitProducerId when its first transaction begins, not on connect.
    const txn = await fencer.transaction();
    await txn.abort();
  } finally {
    await fencer.disconnect();
  }
}

/** The id is not stuck: a new instance commits a transaction of its own. */
async function expectIdUsable(kafka: Kafka, id: string, topic: string): Promise<void> {
  const producer = kafka.producer({ transactionalId: id, idempotent: true,
    maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const txn = await producer.transaction();
    await txn.send({ topic, acks: -1, messages: [{ partition: 0, value: `${id}-again` }] });
    await txn.commit();
  } finally {
    await producer.disconnect();
  }
}
