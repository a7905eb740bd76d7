/**
 * The transaction APIs spoken directly (our own codecs over a raw connection) to a real broker:
 * the bad inputs Kafka answers with errors and changes nothing for — EndTxn for an unknown id,
 * AddPartitionsToTxn with a stale epoch, a transactional batch with another producer id or for
 * a partition not in the transaction, a forged marker (control batch) in Produce — then
 * ListTransactions / DescribeTransactions / DescribeProducers showing an open transaction, the
 * LSO it holds, and transaction.timeout.ms enforced: the coordinator aborts and fences.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import * as addPartitions from '../../protocol/generated/messages/add-partitions-to-txn.js';
import * as createTopics from '../../protocol/generated/messages/create-topics.js';
import * as describeProducers from '../../protocol/generated/messages/describe-producers.js';
import * as describeTxns from '../../protocol/generated/messages/describe-transactions.js';
import * as endTxn from '../../protocol/generated/messages/end-txn.js';
import * as initPid from '../../protocol/generated/messages/init-producer-id.js';
import * as listOffsets from '../../protocol/generated/messages/list-offsets.js';
import * as listTxns from '../../protocol/generated/messages/list-transactions.js';
import * as produce from '../../protocol/generated/messages/produce.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { encodeMarkerBatch } from '../../protocol/records/control-batch.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/kafka-client.js';

const TOPIC = 'txn-raw';

let broker: BrokerProcess;
let client: RawClient;

async function call<Res>(apiKey: number, version: number, encode: (w: Writer) => void,
  decode: (r: Reader, v: number) => Res): Promise<Res> {
  client.send(apiKey, version, encode);
  return decode(decodeResponseFrame(apiKey, version, (await client.readFrame())!).body, version);
}

const init = (transactionalId: string, transactionTimeoutMs = 60_000) => call(22, 4,
  (w) => initPid.encodeInitProducerIdRequest(w, 4,
  { ...initPid.defaultInitProducerIdRequest(), transactionalId, transactionTimeoutMs,
    producerId: -1n, producerEpoch: -1 }),
initPid.decodeInitProducerIdResponse);

const add = (version: number, transactionalId: string, producerId: bigint, producerEpoch: number,
  partitions: number[]) =>
  call(24, version, (w) => addPartitions.encodeAddPartitionsToTxnRequest(w, version, {
    ...addPartitions.defaultAddPartitionsToTxnRequest(), v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: [{ ...addPartitions.defaultAddPartitionsToTxnRequestAddPartitionsToTxnTopic(),
      name: TOPIC, partitions }] }),
  addPartitions.decodeAddPartitionsToTxnResponse).then((r) =>
    r.resultsByTopicV3AndBelow[0]!.resultsByPartition.map((p) => p.partitionErrorCode));

const end = (transactionalId: string, producerId: bigint, producerEpoch: number,
  committed: boolean) =>
  call(26, 3, (w) => endTxn.encodeEndTxnRequest(w, 3, { ...endTxn.defaultEndTxnRequest(),
    transactionalId, producerId,
    producerEpoch, committed }), endTxn.decodeEndTxnResponse).then((r) => r.errorCode);

const describe1 = (transactionalId: string) => call(65, 0,
  (w) => describeTxns.encodeDescribeTransactionsRequest(w, 0,
  { ...describeTxns.defaultDescribeTransactionsRequest(), transactionalIds: [transactionalId] }),
describeTxns.decodeDescribeTransactionsResponse).then((r) => r.transactionStates[0]!);

async function produceBatch(transactionalId: string | null, partition: number,
  batch: Buffer): Promise<number> {
  const res = await call(0, 9, (w) => produce.encodeProduceRequest(w, 9,
    { ...produce.defaultProduceRequest(),
    transactionalId, acks: -1, timeoutMs: 5000,
      topicData: [{ ...produce.defaultProduceRequestTopicProduceData(), name: TOPIC,
      partitionData: [{ ...produce.defaultProduceRequestPartitionProduceData(), index: partition,
        records: batch }] }] }),
  produce.decodeProduceResponse);
  return res.responses[0]!.partitionResponses[0]!.errorCode;
}

const txnBatch = (producerId: bigint, producerEpoch: number, baseSequence: number,
  value: string) => encodeBatch({
  records: [{ key: null, value: Buffer.from(value) }], baseTimestamp: Date.now(),
    isTransactional: true,
  producerId, producerEpoch, baseSequence });

async function latest(partition: number, isolationLevel: number): Promise<number> {
  const res = await call(2, 5, (w) => listOffsets.encodeListOffsetsRequest(w, 5,
    { ...listOffsets.defaultListOffsetsRequest(),
    replicaId: -1, isolationLevel,
      topics: [{ ...listOffsets.defaultListOffsetsRequestListOffsetsTopic(), name: TOPIC,
      partitions: [{ ...listOffsets.defaultListOffsetsRequestListOffsetsPartition(),
        partitionIndex: partition, timestamp: -1n }] }] }),
  listOffsets.decodeListOffsetsResponse);
  return Number(res.topics[0]!.partitions[0]!.offset);
}

beforeAll(async () => {
  broker = await startBroker({ settings: { uploadIntervalMs: 100 } });
  client = await RawClient.connect(broker.port);
  const created = await call(19, 5, (w) => createTopics.encodeCreateTopicsRequest(w, 5,
    { ...createTopics.defaultCreateTopicsRequest(),
    timeoutMs: 5000, topics: [{ ...createTopics.defaultCreateTopicsRequestCreatableTopic(),
      name: TOPIC, numPartitions: 2,
      replicationFactor: 1 }] }), createTopics.decodeCreateTopicsResponse);
  expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
});
afterAll(async () => {
  client?.close();
  await broker?.destroy();
});

describe('transaction APIs on the wire', () => {
  it('answers bad input with Kafka\'s errors and changes nothing',
    () => badInput());

  it('lists and describes an open transaction, holds the LSO, and aborts it on timeout',
    () => openTxnListedAndTimedOut());
});

/** Answers bad input with Kafka's errors and changes nothing. */
async function badInput(): Promise<void> {
  expect(await end('never-initialised', 5n, 0, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  const first = await init('bad-input');
  const second = await init('bad-input');
  expect([first.errorCode, second.errorCode, second.producerId, second.producerEpoch])
    .toEqual([ErrorCode.NONE, ErrorCode.NONE, first.producerId, first.producerEpoch + 1]);
  const pid = second.producerId;
  expect(await add(3, 'bad-input', pid, first.producerEpoch,
    [0])).toEqual([ErrorCode.PRODUCER_FENCED]);
  expect(await add(1, 'bad-input', pid, first.producerEpoch,
    [0])).toEqual([ErrorCode.INVALID_PRODUCER_EPOCH]);
  expect(await add(3, 'bad-input', pid + 1n, second.producerEpoch,
    [0])).toEqual([ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
  expect(await add(3, 'bad-input', pid, second.producerEpoch, [0, 9])).toEqual(
    [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  expect((await describe1('bad-input')).transactionState).toBe('Empty');

  expect(await add(3, 'bad-input', pid, second.producerEpoch, [0])).toEqual([ErrorCode.NONE]);
  const before = [await latest(0, 0), await latest(1, 0)];
  expect(await produceBatch('bad-input', 0, await txnBatch(pid + 1000n, 0, 0,
    'wrong-pid'))).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  expect(await produceBatch('bad-input', 0, await txnBatch(pid, first.producerEpoch, 0,
    'old-epoch'))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  expect(await produceBatch('bad-input', 1, await txnBatch(pid, second.producerEpoch, 0,
    'not-added'))).toBe(ErrorCode.INVALID_TXN_STATE);
  // Kafka's handleProduceRequest: transactional records without a transactional id fail the
  // whole request with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, authorizer or not.
  expect(await produceBatch(null, 0, await txnBatch(pid, second.producerEpoch, 0,
    'no-txn-id'))).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const forged = encodeMarkerBatch({ producerId: Number(pid), producerEpoch: second.producerEpoch,
    type: 'commit',
    coordinatorEpoch: 99, timestampMs: Date.now() });
  // A control batch is transactional: without an id refused as above; with one it reaches the
  // log, whose validator refuses control batches from clients (INVALID_RECORD).
  expect(await produceBatch(null, 0, forged)).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  expect(await produceBatch('bad-input', 0, forged)).toBe(ErrorCode.INVALID_RECORD);
  expect([await latest(0, 0), await latest(1, 0)]).toEqual(before);
  expect(await end('bad-input', pid, second.producerEpoch,
    true)).toBe(ErrorCode.NONE); // an empty transaction
}

/** Lists and describes an open transaction, holds the LSO, and aborts it on timeout. */
async function openTxnListedAndTimedOut(): Promise<void> {
  const { producerId, producerEpoch } = await init('slow', 1500);
  expect(await add(3, 'slow', producerId, producerEpoch, [1])).toEqual([ErrorCode.NONE]);
  const start = await latest(1, 0);
  expect(await produceBatch('slow', 1, await txnBatch(producerId, producerEpoch, 0,
    'open'))).toBe(ErrorCode.NONE);
  expect([await latest(1, 0), await latest(1, 1)]).toEqual([start + 1, start]);
  const listed = await call(66, 1, (w) => listTxns.encodeListTransactionsRequest(w, 1,
    { ...listTxns.defaultListTransactionsRequest(),
    stateFilters: ['Ongoing', 'Bogus'], durationFilter: -1n }),
      listTxns.decodeListTransactionsResponse);
  expect(listed.unknownStateFilters).toEqual(['Bogus']);
  expect(listed.transactionStates.map((t) => [t.transactionalId,
    t.transactionState])).toContainEqual(['slow', 'Ongoing']);
  const described = await describe1('slow');
  expect([described.transactionState, described.transactionTimeoutMs,
    described.topics.map((t) => [t.topic, t.partitions])])
    .toEqual(['Ongoing', 1500, [[TOPIC, [1]]]]);
  const producers = await call(61, 0, (w) => describeProducers.encodeDescribeProducersRequest(w,
    0, {
    ...describeProducers.defaultDescribeProducersRequest(),
      topics: [{ ...describeProducers.defaultDescribeProducersRequestTopicRequest(),
      name: TOPIC, partitionIndexes: [1] }] }),
        describeProducers.decodeDescribeProducersResponse);
  expect(producers.topics[0]!.partitions[0]!.activeProducers.map((p) => [p.producerId,
    Number(p.currentTxnStartOffset)]))
    .toEqual([[producerId, start]]);
  // transaction.timeout.ms: the coordinator aborts it (marker written, LSO released) and fences
  // the producer.
  await waitFor('the timed-out transaction aborted',
    async () => (await describe1('slow')).transactionState === 'CompleteAbort', 15_000);
  expect((await describe1('slow')).producerEpoch).toBe(producerEpoch + 1);
  expect(await latest(1,
    1)).toBe(start + 2); // its record and the abort marker, both below the LSO now
  expect(await end('slow', producerId, producerEpoch, true)).toBe(ErrorCode.PRODUCER_FENCED);
}
