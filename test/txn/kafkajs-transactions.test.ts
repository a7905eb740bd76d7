/**
 * kafkajs transactions against real brokers — one broker on the local folder, one on S3 (MinIO),
 * and the three-broker etcd cluster (where coordinator and partition leaders are mostly different
 * brokers, so markers travel as WriteTxnMarkers): commit and abort as a read_committed and a
 * read_uncommitted consumer see them, a consume-transform-produce loop with sendOffsets, an open
 * transaction holding the last stable offset back, and a zombie fenced by a new instance.
 */
import { type Kafka, type Producer } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';
import { readValues } from '../helpers/read-isolated.js';
import { DEPLOYMENTS, deploymentForSuite } from '../helpers/deployments.js';
import { committedAndHigh, createTopic, seedValues } from '../helpers/txn-steps.js';

function txnProducer(kafka: Kafka, transactionalId: string): Producer {
  return kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1,
    transactionTimeout: 30_000 });
}

describe.each(DEPLOYMENTS)('kafkajs transactions on $name', (variant) => {
  const deployment = deploymentForSuite(variant, { uploadIntervalMs: 100 });
  let kafka: Kafka;
  beforeAll(() => {
    kafka = kafkaClient(deployment.bootstrap);
  });

  it('shows committed transactions to read_committed, never aborted ones',
    () => commitAndAbort(kafka, variant.name));

  it('holds read_committed at the last stable offset while a transaction is open',
    () => openTxnHoldsLso(kafka, variant.name));

  it('copies input to output exactly once with sendOffsets (consume-transform-produce)',
    () => copyExactlyOnce(kafka, variant.name));

  it('fences a zombie: the old instance gets PRODUCER_FENCED and nothing it sent is visible',
    () => fenceZombie(kafka, variant.name));
});

/** Shows committed transactions to read_committed, never aborted ones. */
async function commitAndAbort(kafka: Kafka, name: string): Promise<void> {
  const topic = `txn-commit-abort-${name}`;
  await createTopic(kafka, topic, 3);
  const producer = txnProducer(kafka, `tx-ca-${name}`);
  await producer.connect();
  const send = async (prefix: string, commit: boolean) => {
    const txn = await producer.transaction();
    for (let i = 0; i < 12; i++) {
      await txn.send({ topic, messages: [{ key: `k${i}`, value: `${prefix}-${i}` }] });
    }
    if (commit) await txn.commit();
    else await txn.abort();
  };
  await send('committed-a', true);
  await send('aborted', false);
  await send('committed-b', true);
  await producer.disconnect();
  const committed = await readValues(kafka, topic, false, 24);
  expect(committed).toHaveLength(24);
  expect(committed.every((v) => v.startsWith('committed-'))).toBe(true);
  const everything = await readValues(kafka, topic, true, 36);
  expect(everything).toHaveLength(36);
  expect(everything.filter((v) => v.startsWith('aborted'))).toHaveLength(12);
}

/** Holds read_committed at the last stable offset while a transaction is open. */
async function openTxnHoldsLso(kafka: Kafka, name: string): Promise<void> {
  const topic = `txn-open-${name}`;
  await createTopic(kafka, topic, 1);
  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await plain.connect();
  await plain.send({ topic, messages: [{ value: 'before' }] });
  const producer = txnProducer(kafka, `tx-open-${name}`);
  await producer.connect();
  const txn = await producer.transaction();
  await txn.send({ topic, messages: [{ value: 'in-txn' }] });
  await plain.send({ topic, messages: [{ value: 'after' }] });
  // read_committed stops before the open transaction: 'after' is behind it too.
  expect(await readValues(kafka, topic, false, 1)).toEqual(['before']);
  expect(await readValues(kafka, topic, true, 3)).toEqual(['after', 'before', 'in-txn']);
  await txn.commit();
  expect(await readValues(kafka, topic, false, 3)).toEqual(['after', 'before', 'in-txn']);
  await Promise.all([plain.disconnect(), producer.disconnect()]);
}

/** Copies input to output exactly once with sendOffsets (consume-transform-produce). */
async function copyExactlyOnce(kafka: Kafka, name: string): Promise<void> {
  const input = `txn-in-${name}`;
  const output = `txn-out-${name}`;
  const groupId = `copier-${name}`;
  const count = 200;
  await createTopic(kafka, input, 2);
  await createTopic(kafka, output, 2);
  await seedValues(kafka, input, Array.from({ length: count }, (_, i) => `n${i}`));
  const producer = txnProducer(kafka, `tx-copier-${name}`);
  await producer.connect();
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });
  let copied = 0;
  let batches = 0;
  await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => {
    if (batch.messages.length === 0) return;
    const txn = await producer.transaction();
    await txn.send({ topic: output, messages: batch.messages.map((m) =>
      ({ value: `copy-${m.value!.toString()}` })) });
    await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [
      { partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }] }] });
    // Every third batch is aborted first and copied again by the next batch's transaction: the
    // aborted copy must never be seen, and its offsets must not move the group.
    if (batches++ % 3 === 1) {
      await txn.abort();
      consumer.seek({ topic: input, partition: batch.partition, offset: batch.firstOffset()! });
      return;
    }
    await txn.commit();
    copied += batch.messages.length;
  } });
  await waitFor('every input record copied', () => copied >= count, 60_000);
  await consumer.disconnect();
  await producer.disconnect();
  const out = await readValues(kafka, output, false, count);
  expect(out).toEqual(Array.from({ length: count }, (_, i) => `copy-n${i}`).sort());
  const { committed, high } = await committedAndHigh(kafka, groupId, input);
  expect(committed).toEqual(high);
}

/** Fences a zombie: the old instance gets PRODUCER_FENCED and nothing it sent is visible. */
async function fenceZombie(kafka: Kafka, name: string): Promise<void> {
  const topic = `txn-zombie-${name}`;
  await createTopic(kafka, topic, 2);
  const transactionalId = `tx-zombie-${name}`;
  const zombie = txnProducer(kafka, transactionalId);
  await zombie.connect();
  const zombieTxn = await zombie.transaction();
  await zombieTxn.send({ topic, messages: [{ partition: 0, value: 'zombie-1' }] });
  const fresh = txnProducer(kafka, transactionalId);
  await fresh.connect(); // InitProducerId: bumps the epoch and aborts the zombie's transaction
  const freshTxn = await fresh.transaction();
  await freshTxn.send({ topic, messages: [{ partition: 1, value: 'fresh-1' }] });
  await freshTxn.commit();
  const zombieError = await (async () => {
    await zombieTxn.send({ topic, messages: [{ partition: 1, value: 'zombie-2' }] });
    await zombieTxn.commit();
  })().then(() => null, (err: unknown) =>
    err as { type?: string; name?: string; message: string });
  expect(zombieError).not.toBeNull();
  expect(`${zombieError?.type} ${zombieError?.message}`).toMatch(/PRODUCER_FENCED|INVALID_PRODUCER_EPOCH|fenced|epoch/i);
  await Promise.all([zombie.disconnect().catch(() => {}), fresh.disconnect()]);
  expect(await readValues(kafka, topic, false, 1)).toEqual(['fresh-1']);
}
