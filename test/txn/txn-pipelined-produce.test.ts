/**
 * A transactional producer's pipelined Produce requests are appended in the order they arrived,
 * as Kafka's one-request-at-a-time connection guarantees and the client's sequence numbers assume
 * (the Java client keeps up to five in flight). A second transaction opens two partitions in its
 * first request, so each batch awaits the leader's check (KIP-890 verification), while the next
 * requests continue partition 0: any of them overtaking gets OUT_OF_ORDER_SEQUENCE_NUMBER.
 * The bench's transactional producer once got "expected sequence 600, got 615" from one broker;
 * the cause is not pinned down: this ordering held in our runs also without the producer turns
 * (src/broker/produce/producer-turns.ts), which close the reorder an awaited check allows. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import * as addPartitions from '../../protocol/generated/messages/add-partitions-to-txn.js';
import * as createTopics from '../../protocol/generated/messages/create-topics.js';
import * as endTxn from '../../protocol/generated/messages/end-txn.js';
import * as initPid from '../../protocol/generated/messages/init-producer-id.js';
import * as produce from '../../protocol/generated/messages/produce.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { RawClient, callRaw } from '../helpers/raw-client.js';

const TOPIC = 'txn-pipelined';
const TXN_ID = 'pipelined-txn';

let broker: BrokerProcess;
let client: RawClient;

const call = <Res>(apiKey: number, version: number, encode: (w: Writer) => void,
  decode: (r: Reader, v: number) => Res): Promise<Res> =>
  callRaw(client, apiKey, version, encode, decode);

const batch = (producerId: bigint, producerEpoch: number, baseSequence: number) => encodeBatch({
  records: [{ key: null, value: Buffer.from(`seq-${baseSequence}`) }], baseTimestamp: Date.now(),
  isTransactional: true, producerId, producerEpoch, baseSequence });

function sendProduce(parts: Array<{ partition: number; records: Buffer }>): void {
  client.send(0, 9, (w) => produce.encodeProduceRequest(w, 9, {
    ...produce.defaultProduceRequest(), transactionalId: TXN_ID, acks: -1, timeoutMs: 5000,
    topicData: [{ ...produce.defaultProduceRequestTopicProduceData(), name: TOPIC,
      partitionData: parts.map((p) => ({ ...produce.defaultProduceRequestPartitionProduceData(),
        index: p.partition, records: p.records })) }] }));
}

async function readProduce(): Promise<number[]> {
  const res = produce.decodeProduceResponse(
    decodeResponseFrame(0, 9, (await client.readFrame())!).body, 9);
  return res.responses[0]!.partitionResponses.map((p) => p.errorCode);
}

beforeAll(async () => {
  broker = await startBroker({ settings: { uploadIntervalMs: 100 } });
  client = await RawClient.connect(broker.port);
  const created = await call(19, 5, (w) => createTopics.encodeCreateTopicsRequest(w, 5, {
    ...createTopics.defaultCreateTopicsRequest(), timeoutMs: 5000,
    topics: [{ ...createTopics.defaultCreateTopicsRequestCreatableTopic(), name: TOPIC,
      numPartitions: 2, replicationFactor: 1 }] }), createTopics.decodeCreateTopicsResponse);
  expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
});
afterAll(async () => {
  client?.close();
  await broker?.destroy();
});

it('appends pipelined transactional requests in the order they arrived', async () => {
  const init = await call(22, 4, (w) => initPid.encodeInitProducerIdRequest(w, 4, {
    ...initPid.defaultInitProducerIdRequest(), transactionalId: TXN_ID,
    transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
  initPid.decodeInitProducerIdResponse);
  expect(init.errorCode).toBe(ErrorCode.NONE);
  const { producerId: pid, producerEpoch: epoch } = init;
  const addBoth = async () => {
    const added = await call(24, 3, (w) => addPartitions.encodeAddPartitionsToTxnRequest(w, 3, {
      ...addPartitions.defaultAddPartitionsToTxnRequest(), v3AndBelowTransactionalId: TXN_ID,
      v3AndBelowProducerId: pid, v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{
        ...addPartitions.defaultAddPartitionsToTxnRequestAddPartitionsToTxnTopic(),
        name: TOPIC, partitions: [0, 1] }] }), addPartitions.decodeAddPartitionsToTxnResponse);
    expect(added.resultsByTopicV3AndBelow[0]!.resultsByPartition.map((p) => p.partitionErrorCode))
      .toEqual([ErrorCode.NONE, ErrorCode.NONE]);
  };
  // A first transaction, so that each partition knows the producer's sequence (0 taken).
  await addBoth();
  sendProduce([{ partition: 0, records: await batch(pid, epoch, 0) },
    { partition: 1, records: await batch(pid, epoch, 0) }]);
  expect(await readProduce()).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
  const ended = await call(26, 3, (w) => endTxn.encodeEndTxnRequest(w, 3, {
    ...endTxn.defaultEndTxnRequest(), transactionalId: TXN_ID, producerId: pid,
    producerEpoch: epoch, committed: true }), endTxn.decodeEndTxnResponse);
  expect(ended.errorCode).toBe(ErrorCode.NONE);
  // The second: pipelined, not awaited in between. Partition 1 first, so the first request is
  // still checking it when the second request's partition-0 batch (sequence 2) arrives.
  await addBoth();
  const [p1s1, p0s1, p0s2, p0s3, p1s2] = await Promise.all([batch(pid, epoch, 1),
    batch(pid, epoch, 1), batch(pid, epoch, 2), batch(pid, epoch, 3), batch(pid, epoch, 2)]);
  sendProduce([{ partition: 1, records: p1s1 }, { partition: 0, records: p0s1 }]);
  sendProduce([{ partition: 0, records: p0s2 }]);
  sendProduce([{ partition: 0, records: p0s3 }, { partition: 1, records: p1s2 }]);
  expect(await readProduce()).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
  expect(await readProduce()).toEqual([ErrorCode.NONE]);
  expect(await readProduce()).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
});
