/**
 * KIP-447 on the wire: TxnOffsetCommit v3 carries the consumer's generation, member id and group
 * instance id, and the group coordinator checks them as Kafka does. A static member joins a
 * group (raw JoinGroup v5 / SyncGroup v3); a transactional producer adds the group to its
 * transaction and commits offsets with a stale generation (ILLEGAL_GENERATION), an unknown
 * member (UNKNOWN_MEMBER_ID), the member's instance id under another member id
 * (FENCED_INSTANCE_ID), a generation for a group that does not exist (ILLEGAL_GENERATION), then
 * with the current member and generation (NONE). After EndTxn commits, the group holds only the
 * accepted offset: the refused commits changed nothing.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import * as addOffsets from '../../protocol/generated/messages/add-offsets-to-txn.js';
import * as endTxn from '../../protocol/generated/messages/end-txn.js';
import * as initPid from '../../protocol/generated/messages/init-producer-id.js';
import * as joinGroup from '../../protocol/generated/messages/join-group.js';
import * as syncGroup from '../../protocol/generated/messages/sync-group.js';
import * as txnCommit from '../../protocol/generated/messages/txn-offset-commit.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { kafkaClient } from '../helpers/kafka-client.js';
import { RawClient, callRaw } from '../helpers/raw-client.js';
import { createTopic } from '../helpers/txn-steps.js';

const TOPIC = 'txn-kip447';
const GROUP = 'kip447-group';
const INSTANCE = 'kip447-instance';
const TXN_ID = 'kip447-txn';

let broker: BrokerProcess;
let client: RawClient;
let kafka: Kafka;

const call = <Res>(apiKey: number, version: number, encode: (w: Writer) => void,
  decode: (r: Reader, v: number) => Res): Promise<Res> =>
  callRaw(client, apiKey, version, encode, decode);

/** Joins GROUP as the static member INSTANCE and syncs: its member id and generation. */
async function joinAsStaticMember(): Promise<{ memberId: string; generationId: number }> {
  const joined = await call(11, 5, (w) => joinGroup.encodeJoinGroupRequest(w, 5, {
    ...joinGroup.defaultJoinGroupRequest(), groupId: GROUP, sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000, memberId: '', groupInstanceId: INSTANCE, protocolType: 'consumer',
    protocols: [{ ...joinGroup.defaultJoinGroupRequestJoinGroupRequestProtocol(), name: 'range',
      metadata: Buffer.alloc(0) }] }), joinGroup.decodeJoinGroupResponse);
  expect(joined.errorCode).toBe(ErrorCode.NONE);
  const synced = await call(14, 3, (w) => syncGroup.encodeSyncGroupRequest(w, 3, {
    ...syncGroup.defaultSyncGroupRequest(), groupId: GROUP, generationId: joined.generationId,
    memberId: joined.memberId, groupInstanceId: INSTANCE, assignments: [{
      ...syncGroup.defaultSyncGroupRequestSyncGroupRequestAssignment(),
      memberId: joined.memberId, assignment: Buffer.alloc(0) }] }),
  syncGroup.decodeSyncGroupResponse);
  expect(synced.errorCode).toBe(ErrorCode.NONE);
  return { memberId: joined.memberId, generationId: joined.generationId };
}

interface Committer { groupId: string; generationId: number; memberId: string;
  groupInstanceId: string | null }

beforeAll(async () => {
  broker = await startBroker({ settings: { uploadIntervalMs: 100 } });
  client = await RawClient.connect(broker.port);
  kafka = kafkaClient(broker.bootstrap);
  await createTopic(kafka, TOPIC, 1);
});
afterAll(async () => {
  client?.close();
  await broker?.destroy();
});

describe('TxnOffsetCommit v3 checks the member against the group (KIP-447)', () => {
  it('refuses a stale generation, an unknown member and a fenced instance; keeps only the valid',
    async () => {
      const member = await joinAsStaticMember();
      const init = await call(22, 4, (w) => initPid.encodeInitProducerIdRequest(w, 4, {
        ...initPid.defaultInitProducerIdRequest(), transactionalId: TXN_ID,
        transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
      initPid.decodeInitProducerIdResponse);
      expect(init.errorCode).toBe(ErrorCode.NONE);
      const { producerId, producerEpoch } = init;
      for (const groupId of [GROUP, 'kip447-no-such-group']) {
        const added = await call(25, 3, (w) => addOffsets.encodeAddOffsetsToTxnRequest(w, 3, {
          ...addOffsets.defaultAddOffsetsToTxnRequest(), transactionalId: TXN_ID, producerId,
          producerEpoch, groupId }), addOffsets.decodeAddOffsetsToTxnResponse);
        expect(added.errorCode).toBe(ErrorCode.NONE);
      }
      const commit = (c: Committer, offset: number) => call(28, 3,
        (w) => txnCommit.encodeTxnOffsetCommitRequest(w, 3, {
          ...txnCommit.defaultTxnOffsetCommitRequest(), transactionalId: TXN_ID, producerId,
          producerEpoch, ...c, topics: [{
            ...txnCommit.defaultTxnOffsetCommitRequestTxnOffsetCommitRequestTopic(), name: TOPIC,
            partitions: [{
              ...txnCommit.defaultTxnOffsetCommitRequestTxnOffsetCommitRequestPartition(),
              partitionIndex: 0, committedOffset: BigInt(offset) }] }] }),
        txnCommit.decodeTxnOffsetCommitResponse).then((r) =>
        r.topics[0]!.partitions[0]!.errorCode);
      const current: Committer = { groupId: GROUP, ...member, groupInstanceId: INSTANCE };
      expect(await commit({ ...current, generationId: member.generationId + 1 }, 11))
        .toBe(ErrorCode.ILLEGAL_GENERATION);
      expect(await commit({ ...current, memberId: 'no-such-member', groupInstanceId: null }, 12))
        .toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      expect(await commit({ ...current, memberId: 'an-older-instance' }, 13))
        .toBe(ErrorCode.FENCED_INSTANCE_ID);
      expect(await commit({ ...current, groupId: 'kip447-no-such-group' }, 14))
        .toBe(ErrorCode.ILLEGAL_GENERATION);
      expect(await commit(current, 7)).toBe(ErrorCode.NONE);
      const ended = await call(26, 3, (w) => endTxn.encodeEndTxnRequest(w, 3, {
        ...endTxn.defaultEndTxnRequest(), transactionalId: TXN_ID, producerId, producerEpoch,
        committed: true }), endTxn.decodeEndTxnResponse);
      expect(ended.errorCode).toBe(ErrorCode.NONE);
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      const other = await admin.fetchOffsets({ groupId: 'kip447-no-such-group', topics: [TOPIC] });
      await admin.disconnect();
      expect(offsets[0]!.partitions.map((p) => p.offset)).toEqual(['7']);
      expect(other[0]!.partitions.map((p) => p.offset)).toEqual(['-1']);
    }, 60_000);
});
