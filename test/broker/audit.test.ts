/**
 * Issue 12, the audit trail: every administrative change through a real client (kafkajs's admin)
 * leaves one log line with "audit":true naming the API, the principal, the client id and address,
 * what was asked, and what failed; reads and group members' own commits leave none.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';

interface AuditLine { audit: true; api: string; principal: string; clientId: string; clientHost: string; request: string; outcome: string }

let broker: BrokerProcess;
beforeAll(async () => { broker = await startBroker({ settings: { logFormat: 'json' } }); });
afterAll(async () => { await broker?.destroy(); });

function auditLines(): AuditLine[] {
  return broker.output().split('\n').filter((l) => l.includes('"audit":true')).map((l) => JSON.parse(l) as AuditLine);
}

it('logs one audit line per admin change, with who asked and what failed', async () => {
  const kafka = kafkaClient(broker.bootstrap, 'audit-admin');
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'audited', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'audited', count: 2 }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'audited',
      configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'audited', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }] });
    await producer.disconnect();
    await admin.deleteTopicRecords({ topic: 'audited', partitions: [{ partition: 0, offset: '1' }] });
    // kafkajs's setOffsets joins the group and commits as a member: no admin commit, no line.
    // (kafka-consumer-groups.sh --reset-offsets is: test/compat/java-client.test.ts checks its line.)
    await admin.setOffsets({ groupId: 'audit-group', topic: 'audited', partitions: [{ partition: 0, offset: '1' }] });
    await admin.fetchTopicMetadata({ topics: ['audited'] }); // a read: no line
    await admin.deleteGroups(['audit-group']);
    await admin.deleteTopics({ topics: ['audited'] });
    await admin.deleteTopics({ topics: ['never-was'] }).catch(() => {}); // refused: still audited
  } finally {
    await admin.disconnect();
  }
  // The broker's log reaches us through a pipe, after the answers: one more audited request from
  // another client marks the end, since the broker writes its lines in order.
  const marker = kafkaClient(broker.bootstrap, 'audit-marker').admin();
  await marker.connect();
  await marker.createTopics({ topics: [{ topic: 'audit-marker', numPartitions: 1 }] }).finally(() => marker.disconnect());
  await waitFor('the marker audit line', () => auditLines().some((l) => l.clientId === 'audit-marker'));
  const lines = auditLines().filter((l) => l.clientId !== 'audit-marker');
  // kafkajs retries a refused delete (UNKNOWN_TOPIC_OR_PARTITION is retriable to it): a line per try.
  expect(lines.slice(0, 7).map((l) => l.api)).toEqual(['CreateTopics', 'CreatePartitions', 'AlterConfigs', 'DeleteRecords',
    'DeleteGroups', 'DeleteTopics', 'DeleteTopics']);
  expect(lines.slice(6).every((l) => l.api === 'DeleteTopics' && l.request.includes('never-was'))).toBe(true);
  for (const l of lines) {
    expect(l.principal).toBe('User:ANONYMOUS');
    expect(l.clientId).toBe('audit-admin');
    expect(l.clientHost).toContain('127.0.0.1');
  }
  expect(lines[0]!.request).toContain('"name":"audited"');
  expect(lines[2]!.request).toContain('retention.ms');
  expect(lines.slice(0, 6).map((l) => l.outcome)).toEqual(Array(6).fill('ok'));
  expect(new Set(lines.slice(6).map((l) => l.outcome))).toEqual(new Set(['UNKNOWN_TOPIC_OR_PARTITION']));
});

it('warns once per request about settings accepted with no effect (replication, min.insync.replicas, compression.type)', async () => {
  const admin = kafkaClient(broker.bootstrap, 'audit-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 1, replicationFactor: 3,
      configEntries: [{ name: 'min.insync.replicas', value: '2' }, { name: 'retention.ms', value: '60000' }] }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'replicated',
      configEntries: [{ name: 'compression.type', value: 'gzip' }] }] });
  } finally {
    await admin.disconnect();
  }
  const noEffectWarnings = () => broker.output().split('\n').filter((l) => l.includes('accepted with no effect'))
    .map((l) => JSON.parse(l) as { level: string; topic: string; ignored: Record<string, string> });
  // The log arrives through a pipe, possibly after the answer: wait for the second line, then check both.
  await waitFor('two no-effect warnings', () => noEffectWarnings().length >= 2);
  const warnings = noEffectWarnings();
  expect(warnings.map((w) => [w.level, w.topic, Object.keys(w.ignored)])).toEqual([
    ['warn', 'replicated', ['replication.factor=3', 'min.insync.replicas']],
    ['warn', 'replicated', ['compression.type']],
  ]);
  expect(warnings[0]!.ignored['replication.factor=3']).toContain('object storage');
});
