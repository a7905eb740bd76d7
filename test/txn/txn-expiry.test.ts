/**
 * The two expirations on a real broker, both set short. transactional.id.expiration.ms: a
 * transactional id idle past it (no transaction open) is removed by the coordinator,
 * DescribeTransactions then answers TRANSACTIONAL_ID_NOT_FOUND, and the next InitProducerId
 * starts afresh (a new producer id at epoch 0, not the old one bumped); an id with a transaction
 * open is not expired however long it waits (transaction.timeout.ms governs it).
 * producer.id.expiration.ms (KIP-854): a partition forgets an idempotent producer idle past it,
 * so DescribeProducers no longer lists it and a retry of its last batch is appended again rather
 * than recognised as a duplicate (before the expiry the same retry is answered with the offset
 * it got). A producer forgotten so goes on from the sequence it had reached: the partition takes
 * it back at any sequence, as Kafka does (kafkajs's idempotent producer, and librdkafka's in
 * test/compat/python-client.test.ts, keep sending).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import * as addOffsets from '../../protocol/generated/messages/add-offsets-to-txn.js';
import * as describeProducers from '../../protocol/generated/messages/describe-producers.js';
import * as describeTxns from '../../protocol/generated/messages/describe-transactions.js';
import * as initPid from '../../protocol/generated/messages/init-producer-id.js';
import * as produce from '../../protocol/generated/messages/produce.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { kafkaClient } from '../helpers/kafka-client.js';
import { createTopic } from '../helpers/txn-steps.js';
import { RawClient, callRaw } from '../helpers/raw-client.js';

const EXPIRATION_MS = 1500;
/** The coordinator's scan runs every second (transactionLimits.abortTimedOutCheckMs). */
const EXPIRED_AFTER_MS = EXPIRATION_MS + 2500;

let broker: BrokerProcess;
let client: RawClient;

const call = <Res>(apiKey: number, version: number, encode: (w: Writer) => void,
  decode: (r: Reader, v: number) => Res): Promise<Res> =>
  callRaw(client, apiKey, version, encode, decode);

const init = (transactionalId: string | null) => call(22, 4,
  (w) => initPid.encodeInitProducerIdRequest(w, 4, { ...initPid.defaultInitProducerIdRequest(),
    transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
initPid.decodeInitProducerIdResponse);

const describeState = (transactionalId: string) => call(65, 0,
  (w) => describeTxns.encodeDescribeTransactionsRequest(w, 0,
    { ...describeTxns.defaultDescribeTransactionsRequest(), transactionalIds: [transactionalId] }),
  describeTxns.decodeDescribeTransactionsResponse).then((r) => {
  const s = r.transactionStates[0]!;
  return { errorCode: s.errorCode, state: s.transactionState };
});

beforeAll(async () => {
  // Producer ids are expired with each retention pass: run it often.
  broker = await startBroker({ settings: { transactionalIdExpirationMs: EXPIRATION_MS,
    producerIdExpirationMs: EXPIRATION_MS, retentionCheckIntervalMs: 300 } });
  client = await RawClient.connect(broker.port);
});
afterAll(async () => {
  client?.close();
  await broker?.destroy();
});

describe('transactional.id.expiration.ms', () => {
  it('forgets an idle id (InitProducerId starts afresh) but not one with a transaction open',
    async () => {
      const first = await init('expiring');
      expect(first.errorCode).toBe(ErrorCode.NONE);
      const open = await init('open');
      const added = await call(25, 3, (w) => addOffsets.encodeAddOffsetsToTxnRequest(w, 3, {
        ...addOffsets.defaultAddOffsetsToTxnRequest(), transactionalId: 'open',
        producerId: open.producerId, producerEpoch: open.producerEpoch, groupId: 'g' }),
      addOffsets.decodeAddOffsetsToTxnResponse);
      expect(added.errorCode).toBe(ErrorCode.NONE);
      expect(await describeState('expiring')).toEqual({ errorCode: ErrorCode.NONE,
        state: 'Empty' });
      await new Promise((r) => setTimeout(r, EXPIRED_AFTER_MS));
      expect(await describeState('expiring')).toEqual({
        errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, state: '' });
      expect(await describeState('open')).toEqual({ errorCode: ErrorCode.NONE,
        state: 'Ongoing' });
      const again = await init('expiring');
      expect(again.errorCode).toBe(ErrorCode.NONE);
      expect(again.producerEpoch).toBe(0);
      expect(again.producerId).not.toBe(first.producerId);
      expect(broker.output()).toMatch(/transactional id expired/);
    }, 30_000);
});

const TOPIC = 'idempotent-expiry';

/** Produces `batch` to partition 0 of TOPIC: the error code and the base offset it got. */
const produceBatch = (batch: Buffer) => call(0, 9, (w) => produce.encodeProduceRequest(w, 9, {
  ...produce.defaultProduceRequest(), acks: -1, timeoutMs: 5000,
  topicData: [{ ...produce.defaultProduceRequestTopicProduceData(), name: TOPIC,
    partitionData: [{ ...produce.defaultProduceRequestPartitionProduceData(), index: 0,
      records: batch }] }] }), produce.decodeProduceResponse).then((r) => {
  const p = r.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
});

const activeProducers = () => call(61, 0, (w) =>
  describeProducers.encodeDescribeProducersRequest(w, 0, {
    ...describeProducers.defaultDescribeProducersRequest(),
    topics: [{ ...describeProducers.defaultDescribeProducersRequestTopicRequest(), name: TOPIC,
      partitionIndexes: [0] }] }), describeProducers.decodeDescribeProducersResponse)
  .then((r) => r.topics[0]!.partitions[0]!.activeProducers.map((p) => Number(p.producerId)));

describe('producer.id.expiration.ms', () => {
  it('forgets an idle idempotent producer: its retried batch is a new one', async () => {
    await createTopic(kafkaClient(broker.bootstrap), TOPIC, 1);
    const { producerId, producerEpoch } = await init(null);
    const batch = await encodeBatch({ records: [{ key: null, value: Buffer.from('once') }],
      baseTimestamp: Date.now(), producerId, producerEpoch, baseSequence: 0 });
    expect(await produceBatch(batch)).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    expect(await produceBatch(batch)).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    expect(await activeProducers()).toEqual([Number(producerId)]);
    await new Promise((r) => setTimeout(r, EXPIRED_AFTER_MS));
    expect(await activeProducers()).toEqual([]);
    expect(await produceBatch(batch)).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 1 });
    expect(broker.output()).toMatch(/idle producer ids expired/);
  }, 30_000);

  it('takes an expired producer back at whatever sequence it goes on from, as Kafka does',
    async () => {
      const { producerId, producerEpoch } = await init(null);
      const batchAt = (baseSequence: number) => encodeBatch({ records: [{ key: null,
        value: Buffer.from(`seq ${baseSequence}`) }], baseTimestamp: Date.now(), producerId,
      producerEpoch, baseSequence });
      const first = await produceBatch(await batchAt(0));
      expect(first.errorCode).toBe(ErrorCode.NONE);
      // While the producer is known, a gap is still refused.
      expect((await produceBatch(await batchAt(2))).errorCode)
        .toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      await new Promise((r) => setTimeout(r, EXPIRED_AFTER_MS));
      expect(await activeProducers()).not.toContain(Number(producerId));
      // Kafka's ProducerAppendInfo accepts any sequence from a producer with no current epoch.
      expect(await produceBatch(await batchAt(1)))
        .toEqual({ errorCode: ErrorCode.NONE, baseOffset: first.baseOffset + 1 });
      expect((await produceBatch(await batchAt(3))).errorCode)
        .toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      expect(await produceBatch(await batchAt(2)))
        .toEqual({ errorCode: ErrorCode.NONE, baseOffset: first.baseOffset + 2 });
    }, 30_000);

  it('lets a kafkajs idempotent producer idle past the expiration send again', async () => {
    const kafka = kafkaClient(broker.bootstrap);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const send = (value: string) => producer.send({ topic: TOPIC, acks: -1,
        messages: [{ partition: 0, value }] });
      const before = await send('before');
      await send('before, again');
      await new Promise((r) => setTimeout(r, EXPIRED_AFTER_MS));
      const after = await send('after');
      expect(after[0]!.errorCode).toBe(ErrorCode.NONE);
      expect(Number(after[0]!.baseOffset)).toBe(Number(before[0]!.baseOffset) + 2);
    } finally {
      await producer.disconnect();
    }
  }, 30_000);
});
