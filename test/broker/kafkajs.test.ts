/**
 * kafkajs, a client no one here wrote, against a real broker process — once with the local
 * object folder and once with S3 (MinIO on loopback): admin, produce with acks 1 and -1,
 * idempotent produce, consumer groups that rebalance as members join and die, commit and resume.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { CompressionTypes, type Consumer, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeAll, kafkaClient, waitFor, waitForStableLeaders } from '../helpers/kafka-client.js';
import { DEPLOYMENTS, type Deployment } from '../helpers/deployments.js';

const MEMBER_SCRIPT = path.resolve(import.meta.dirname, '../helpers/group-member.ts');

describe.each(DEPLOYMENTS)('kafkajs against a broker on $name', (variant) => {
  let broker: Deployment;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await variant.start({ uploadIntervalMs: 100 });
    kafka = kafkaClient(broker.bootstrap);
  });
  afterAll(async () => {
    await broker?.destroy();
  });

  it('creates, lists, describes and deletes topics', async () => {
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }] })).toBe(false);
    expect(await admin.listTopics()).toContain('admin-a');
    const meta = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
    expect(meta.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
    await admin.deleteTopics({ topics: ['admin-a'] });
    expect(await admin.listTopics()).not.toContain('admin-a');
    await admin.disconnect();
  });

  for (const acks of [1, -1]) {
    it(`produces with acks=${acks} (gzip too) and consumes everything in order`, async () => {
      const topic = `acks${acks === 1 ? 'one' : 'all'}-${variant.name}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
      // In a cluster the controller may still move a new partition: a plain (non-idempotent)
      // producer retrying across that move may write twice, as with Kafka. Let leaders settle.
      await waitForStableLeaders(admin, topic);
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      const sent: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 4}`, value: `v-${batch}-${i}` }));
        const meta = await producer.send({ topic, acks, messages,
          compression: batch % 2 === 0 ? CompressionTypes.None : CompressionTypes.GZIP });
        expect(meta.every((m) => m.errorCode === 0)).toBe(true);
        sent.push(...messages.map((m) => m.value));
      }
      await producer.disconnect();
      const received = await consumeAll(kafka, topic, sent.length);
      expect(received.map((r) => r.value).sort()).toEqual([...sent].sort());
      for (const p of [0, 1]) {
        const offsets = received.filter((r) => r.partition === p).map((r) => r.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i)); // contiguous from 0, in order
      }
    });
  }

  it('idempotent producer writes every record exactly once', async () => {
    const topic = `idempotent-${variant.name}`;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const values = Array.from({ length: 300 }, (_, i) => `e${i}`);
    for (let i = 0; i < values.length; i += 30) {
      await producer.send({ topic, acks: -1, messages: values.slice(i, i + 30).map((value) => ({ value })) });
    }
    await producer.disconnect();
    const received = await consumeAll(kafka, topic, values.length);
    expect(received.map((r) => r.value)).toEqual(values);
  });

  it('a consumer group rebalances when a member joins and when one dies; commits resume', async () => {
    const topic = `group-${variant.name}`;
    const groupId = `g-${variant.name}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    const members = await Promise.all([0, 1, 2].map(() => startMember(kafka, groupId, topic)));
    await waitFor('3 members covering 6 partitions', () => covers(members.map((m) => m.assigned), 6), 45_000);
    // A fourth member, in its own process, joins: the group rebalances to four.
    const child = spawn(process.execPath, ['--import', 'tsx', MEMBER_SCRIPT, broker.bootstrap, groupId, topic],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let childAssigned: number[] | null = null;
    child.stdout.on('data', (b: Buffer) => {
      const last = b.toString().trim().split('\n').at(-1)!;
      childAssigned = (JSON.parse(last).assignment[topic] ?? []) as number[];
    });
    await waitFor('4 members covering 6 partitions', () => childAssigned !== null
      && covers([...members.map((m) => m.assigned), childAssigned], 6), 45_000);
    // It dies without leaving: only the session timeout can tell the group.
    child.kill('SIGKILL');
    await waitFor('3 members again after the session timeout', () =>
      covers(members.map((m) => m.assigned), 6), 45_000);
    const described = await admin.describeGroups([groupId]);
    expect(described.groups[0]!.members).toHaveLength(3);
    expect(described.groups[0]!.state).toBe('Stable');
    // Produce, let the members consume and commit, stop them, and resume with a new member.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `m${i}` })) });
    await waitFor('members consumed 60', () => members.reduce((n, m) => n + m.consumed.length, 0) >= 60, 30_000);
    await Promise.all(members.map((m) => m.consumer.disconnect()));
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = offsets[0]!.partitions.reduce((n, p) => n + Number(p.offset), 0);
    expect(committed).toBe(60);
    await producer.send({ topic, messages: [{ key: 'late', value: 'after-resume' }] });
    await producer.disconnect();
    const resumed = await startMember(kafka, groupId, topic);
    await waitFor('resumed member reads the new record', () => resumed.consumed.length >= 1, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(resumed.consumed).toEqual(['after-resume']);
    await resumed.consumer.disconnect();
    await admin.disconnect();
  });
});

interface Member {
  consumer: Consumer;
  assigned: number[];
  consumed: string[];
}

async function startMember(kafka: Kafka, groupId: string, topic: string): Promise<Member> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10_000 });
  const member: Member = { consumer, assigned: [], consumed: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    member.assigned = (e.payload.memberAssignment[topic] ?? []) as number[];
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { member.consumed.push(message.value!.toString()); } });
  return member;
}

/** True when the assignments are disjoint and cover partitions 0..count-1. */
function covers(assignments: number[][], count: number): boolean {
  const all = assignments.flat().sort((a, b) => a - b);
  return all.length === count && all.every((p, i) => p === i) && assignments.every((a) => a.length > 0);
}
