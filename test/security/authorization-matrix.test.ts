/**
 * The authorization matrix, in the spirit of Kafka's AuthorizerIntegrationTest: for every API the
 * broker implements and each (resource, operation) it checks, the principal under test WITHOUT the
 * ACL gets Kafka's exact error and nothing changes, and WITH it (granted through the ACL store,
 * as kafka-acls.sh would) the call succeeds. Then DENY beating ALLOW, PREFIXED and wildcard
 * patterns, super users, and a missing topic indistinguishable from an unauthorized one.
 *
 * The principal is a parameter: User:ANONYMOUS over a real TCP connection to a PLAINTEXT
 * listener, User:alice through the dispatcher with an explicit session, and User:alice as a real
 * SCRAM-SHA-512 login makes her over TCP to a SASL_PLAINTEXT listener (the principal the broker
 * derives from authentication, end to end).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_INFO } from '../../protocol/generated/errors.js';
import * as F from '../../protocol/generated/messages/fetch.js';
import * as P from '../../protocol/generated/messages/produce.js';
import { encodeBatch } from '../../protocol/records/record.js';
import {
  type AclBinding, AclOperation as Op, AclPermission, CLUSTER_NAME, PatternType,
  ResourceType as R,
} from '../../src/security/acl.js';
import { type MatrixBroker, type Send, startMatrixBroker } from './matrix-harness.js';

const ADMIN = 'User:admin';
const name = (code: number) => ERROR_INFO.get(code)?.name ?? String(code);

function acl(principal: string, resourceType: number, resourceName: string, operation: number,
  over: Partial<AclBinding> = {}): AclBinding {
  return { resourceType, resourceName, patternType: PatternType.LITERAL, principal, host: '*',
    operation, permissionType: AclPermission.ALLOW, ...over };
}

const ALL_ACLS = { resourceType: R.ANY, resourceName: null, patternType: PatternType.ANY,
  principal: null, host: null, operation: Op.ANY, permissionType: AclPermission.ANY };

type Grant = [resourceType: number, resourceName: string, operation: number];

interface Case {
  api: string;
  version: number;
  /** The ACL the call needs. */
  needs: Grant;
  /** ACLs granted in both runs (the call's other checks). */
  also?: Grant[];
  request(): any;
  /** What the answer says: an error name, or a word for a listing. */
  outcome(res: any): string;
  denied: string;
  allowed?: string;
  /** What must not change when denied. */
  state?(): Promise<unknown> | unknown;
}

const topicErr = (res: any) => name(res.responses?.[0]?.partitionResponses?.[0]?.errorCode
  ?? res.responses?.[0]?.partitions?.[0]?.errorCode);

/** What the cases share: the broker, and request builders and state readers on it. */
interface Fixture {
  mb: MatrixBroker;
  principal: string;
  send: Send;
  admin: Send;
  grant(grants: Grant[], over?: Partial<AclBinding>): Promise<void>;
  produceReq(topic: string): Promise<any>;
  fetchReq(topic: string, replicaId?: number): any;
  commitReq(group: string): any;
  offsetsOf(group: string): Promise<unknown>;
  topicNames(): Promise<string[]>;
  hw(topic: string): number | undefined;
}

function makeFixture(mb: MatrixBroker, principal: string, send: Send): Fixture {
  const batch = () => encodeBatch({ baseTimestamp: Date.now(),
    records: [{ key: null, value: Buffer.from('v') }] });
  const produceReq = async (topic: string) => ({ ...P.defaultProduceRequest(), acks: -1,
    timeoutMs: 5000, topicData: [{ ...P.defaultProduceRequestTopicProduceData(), name: topic,
      partitionData: [{ ...P.defaultProduceRequestPartitionProduceData(), index: 0,
        records: await batch() }] }] });
  const fetchReq = (topic: string, replicaId = -1) => ({ ...F.defaultFetchRequest(), replicaId,
    maxWaitMs: 0, topics: [{ ...F.defaultFetchRequestFetchTopic(), topic,
      partitions: [{ ...F.defaultFetchRequestFetchPartition(), partition: 0 }] }] });
  const commitReq = (group: string) => ({ groupId: group, generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null, retentionTimeMs: -1n, topics: [{ name: 't', partitions: [{
      partitionIndex: 0, committedOffset: 0n, committedLeaderEpoch: -1,
        committedMetadata: null }] }] });
  const offsetsOf = (group: string) => mb.broker.services.metadata.offsets.fetch(group);
  const topicNames = async () =>
    (await mb.broker.services.metadata.topics.list()).map((t) => t.name);

  return { mb, principal, send, admin: mb.as(ADMIN), produceReq, fetchReq, commitReq, offsetsOf,
    topicNames, hw: (topic) => mb.broker.services.partitions.partitionLog(topic, 0)?.highWatermark,
    grant: (grants, over = {}) => mb.broker.services.metadata.acls
      .create(grants.map(([t, n, op]) => acl(principal, t, n, op, over))) };
}

function cases1(f: Fixture): Case[] {
  const { produceReq, fetchReq, commitReq, offsetsOf, topicNames, hw } = f;
  return [
    { api: 'Produce', version: 9, needs: [R.TOPIC, 't', Op.WRITE], request: () => produceReq('t'),
      outcome: topicErr, denied: 'TOPIC_AUTHORIZATION_FAILED', state: () => hw('t') },
    { api: 'Fetch', version: 12, needs: [R.TOPIC, 't', Op.READ], request: () => fetchReq('t'),
      outcome: topicErr, denied: 'TOPIC_AUTHORIZATION_FAILED' },
    { api: 'Fetch', version: 12, needs: [R.CLUSTER, CLUSTER_NAME, Op.CLUSTER_ACTION],
      also: [[R.TOPIC, 't', Op.READ]], request: () => fetchReq('t', 1),
      outcome: topicErr, denied: 'TOPIC_AUTHORIZATION_FAILED' },
    { api: 'ListOffsets', version: 5, needs: [R.TOPIC, 't', Op.DESCRIBE],
      request: () => ({ replicaId: -1, isolationLevel: 0, topics: [{ name: 't', partitions: [{
        partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }] }] }),
      outcome: (res) => name(res.topics[0].partitions[0].errorCode),
        denied: 'TOPIC_AUTHORIZATION_FAILED' },
    { api: 'Metadata', version: 9, needs: [R.TOPIC, 't', Op.DESCRIBE],
      request: () => ({ topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 't' }],
        allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false }),
      outcome: (res) => name(res.topics[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED' },
    { api: 'Metadata', version: 9, needs: [R.TOPIC, 't', Op.DESCRIBE],
      request: () => ({ topics: null, allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }),
      outcome: (res) => (res.topics.some((t: any) => t.name === 't') ? 'listed' : 'not-listed'),
      denied: 'not-listed', allowed: 'listed' },
    { api: 'Metadata', version: 9, needs: [R.CLUSTER, CLUSTER_NAME, Op.CREATE],
      also: [[R.TOPIC, 'auto-created', Op.DESCRIBE]],
      request: () => ({ topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'auto-created' }],
        allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false }),
      outcome: (res) => name(res.topics[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: topicNames },
    { api: 'OffsetCommit', version: 8, needs: [R.GROUP, 'g-commit', Op.READ],
      also: [[R.TOPIC, 't', Op.READ]], request: () => commitReq('g-commit'),
      outcome: (res) => name(res.topics[0].partitions[0].errorCode),
      denied: 'GROUP_AUTHORIZATION_FAILED', state: () => offsetsOf('g-commit') },
    { api: 'OffsetCommit', version: 8, needs: [R.TOPIC, 't', Op.READ],
      also: [[R.GROUP, 'g-commit2', Op.READ]], request: () => commitReq('g-commit2'),
      outcome: (res) => name(res.topics[0].partitions[0].errorCode),
      denied: 'TOPIC_AUTHORIZATION_FAILED', state: () => offsetsOf('g-commit2') },
    { api: 'OffsetFetch', version: 7, needs: [R.GROUP, 'g', Op.DESCRIBE],
      request: () => ({ groupId: 'g', topics: null, requireStable: false, groups: [] }),
      outcome: (res) => name(res.errorCode), denied: 'GROUP_AUTHORIZATION_FAILED' },
    { api: 'OffsetFetch', version: 7, needs: [R.TOPIC, 't', Op.DESCRIBE],
      also: [[R.GROUP, 'g', Op.DESCRIBE]],
      request: () => ({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }],
        requireStable: false, groups: [] }),
      outcome: (res) => name(res.topics[0].partitions[0].errorCode),
        denied: 'TOPIC_AUTHORIZATION_FAILED' },
    { api: 'FindCoordinator', version: 3, needs: [R.GROUP, 'g', Op.DESCRIBE],
      request: () => ({ key: 'g', keyType: 0, coordinatorKeys: [] }),
      outcome: (res) => name(res.errorCode), denied: 'GROUP_AUTHORIZATION_FAILED' },
    { api: 'FindCoordinator', version: 3, needs: [R.TRANSACTIONAL_ID, 'tx', Op.DESCRIBE],
      request: () => ({ key: 'tx', keyType: 1, coordinatorKeys: [] }),
      outcome: (res) => name(res.errorCode), denied: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED' },
    ...groupMembershipCases(),
    { api: 'DescribeGroups', version: 3, needs: [R.GROUP, 'g', Op.DESCRIBE],
      request: () => ({ groups: ['g'], includeAuthorizedOperations: true }),
      outcome: (res) => name(res.groups[0].errorCode), denied: 'GROUP_AUTHORIZATION_FAILED' },
    { api: 'ListGroups', version: 3, needs: [R.GROUP, 'g-commit', Op.DESCRIBE],
      request: () => ({ statesFilter: [], typesFilter: [] }),
      outcome: (res) => (res.groups.some((g: any) => g.groupId === 'g-commit') ? 'listed'
        : 'not-listed'),
      denied: 'not-listed', allowed: 'listed' },
  ];
}

function cases2(f: Fixture): Case[] {
  const { mb, topicNames } = f;
  return [
    { api: 'ListGroups', version: 3, needs: [R.CLUSTER, CLUSTER_NAME, Op.DESCRIBE],
      request: () => ({ statesFilter: [], typesFilter: [] }),
      outcome: (res) => (res.groups.some((g: any) => g.groupId === 'g-commit') ? 'listed'
        : 'not-listed'),
      denied: 'not-listed', allowed: 'listed' },
    { api: 'CreateTopics', version: 5, needs: [R.TOPIC, 'created', Op.CREATE],
      request: () => ({ topics: [{ name: 'created', numPartitions: 1, replicationFactor: 1,
        assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false }),
      outcome: (res) => name(res.topics[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: topicNames },
    { api: 'CreateTopics', version: 5, needs: [R.CLUSTER, CLUSTER_NAME, Op.CREATE],
      request: () => ({ topics: [{ name: 'created2', numPartitions: 1, replicationFactor: 1,
        assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false }),
      outcome: (res) => name(res.topics[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: topicNames },
    { api: 'DeleteTopics', version: 4, needs: [R.TOPIC, 'to-delete', Op.DELETE],
      request: () => ({ topicNames: ['to-delete'], topics: [], timeoutMs: 5000 }),
      outcome: (res) => name(res.responses[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: topicNames },
    { api: 'DeleteRecords', version: 1, needs: [R.TOPIC, 't', Op.DELETE],
      request: () => ({ topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 0n }] }],
        timeoutMs: 5000 }),
      outcome: (res) => name(res.topics[0].partitions[0].errorCode),
        denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: () => mb.broker.services.partitions.partitionLog('t', 0)?.logStartOffset },
    { api: 'InitProducerId', version: 2, needs: [R.CLUSTER, CLUSTER_NAME, Op.IDEMPOTENT_WRITE],
      request: () => ({ transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n,
        producerEpoch: -1 }),
      outcome: (res) => name(res.errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED' },
    { api: 'InitProducerId', version: 2, needs: [R.TOPIC, 'any-topic', Op.WRITE],
      request: () => ({ transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n,
        producerEpoch: -1 }),
      outcome: (res) => name(res.errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED' },
    { api: 'OffsetForLeaderEpoch', version: 3, needs: [R.TOPIC, 't', Op.DESCRIBE],
      request: () => ({ replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 0,
        currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }),
      outcome: (res) => name(res.topics[0].partitions[0].errorCode),
        denied: 'TOPIC_AUTHORIZATION_FAILED' },
    { api: 'DescribeAcls', version: 1, needs: [R.CLUSTER, CLUSTER_NAME, Op.DESCRIBE],
      request: () => ({ ...ALL_ACLS, resourceTypeFilter: R.ANY, resourceNameFilter: null,
        patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null }),
      outcome: (res) => name(res.errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED' },
    { api: 'CreateAcls', version: 1, needs: [R.CLUSTER, CLUSTER_NAME, Op.ALTER],
      request: () => ({ creations: [{ resourceType: R.TOPIC, resourceName: 'x',
        resourcePatternType: PatternType.LITERAL, principal: 'User:bob', host: '*',
        operation: Op.READ, permissionType: AclPermission.ALLOW }] }),
      outcome: (res) => name(res.results[0].errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED',
      state: () => mb.broker.services.metadata.acls.bindings().length },
    { api: 'DeleteAcls', version: 1, needs: [R.CLUSTER, CLUSTER_NAME, Op.ALTER],
      request: () => ({ filters: [{ resourceTypeFilter: R.CLUSTER, resourceNameFilter: null,
        patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null,
        operation: Op.ANY, permissionType: AclPermission.ANY }] }),
      outcome: (res) => name(res.filterResults[0].errorCode),
        denied: 'CLUSTER_AUTHORIZATION_FAILED',
      state: () => mb.broker.services.metadata.acls.bindings().length },
    { api: 'DescribeConfigs', version: 1, needs: [R.TOPIC, 't', Op.DESCRIBE_CONFIGS],
      request: () => ({ resources: [{ resourceType: 2, resourceName: 't',
        configurationKeys: null }],
        includeSynonyms: false, includeDocumentation: false }),
      outcome: (res) => name(res.results[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED' },
  ];
}

function cases3(f: Fixture): Case[] {
  const { mb, offsetsOf } = f;
  return [
    { api: 'DescribeConfigs', version: 1, needs: [R.CLUSTER, CLUSTER_NAME, Op.DESCRIBE_CONFIGS],
      request: () => ({ resources: [{ resourceType: 4, resourceName: '', configurationKeys: null }],
        includeSynonyms: false, includeDocumentation: false }),
      outcome: (res) => name(res.results[0].errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED' },
    { api: 'AlterConfigs', version: 1, needs: [R.TOPIC, 't', Op.ALTER_CONFIGS],
      request: () => ({ resources: [{ resourceType: 2, resourceName: 't',
        configs: [{ name: 'retention.ms', value: '3600000' }] }], validateOnly: false }),
      outcome: (res) => name(res.responses[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: async () => (await mb.broker.services.metadata.topics.get('t'))?.configs },
    { api: 'CreatePartitions', version: 1, needs: [R.TOPIC, 'to-grow', Op.ALTER],
      request: () => ({ topics: [{ name: 'to-grow', count: 2, assignments: null }], timeoutMs: 5000,
        validateOnly: false }),
      outcome: (res) => name(res.results[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: async () =>
        (await mb.broker.services.metadata.topics.get('to-grow'))?.partitionCount },
    { api: 'IncrementalAlterConfigs', version: 1, needs: [R.TOPIC, 't', Op.ALTER_CONFIGS],
      request: () => ({ resources: [{ resourceType: 2, resourceName: 't', configs: [
        { name: 'retention.ms', configOperation: 0, value: '7200000' }] }], validateOnly: false }),
      outcome: (res) => name(res.responses[0].errorCode), denied: 'TOPIC_AUTHORIZATION_FAILED',
      state: async () => (await mb.broker.services.metadata.topics.get('t'))?.configs },
    { api: 'OffsetDelete', version: 0, needs: [R.GROUP, 'g-commit', Op.DELETE],
      also: [[R.TOPIC, 't', Op.READ]],
      request: () => ({ groupId: 'g-commit', topics: [{ name: 't',
        partitions: [{ partitionIndex: 0 }] }] }),
      outcome: (res) => name(res.errorCode), denied: 'GROUP_AUTHORIZATION_FAILED',
      state: () => offsetsOf('g-commit') },
    { api: 'DeleteGroups', version: 1, needs: [R.GROUP, 'g-commit2', Op.DELETE],
      request: () => ({ groupsNames: ['g-commit2'] }),
      outcome: (res) => name(res.results[0].errorCode), denied: 'GROUP_AUTHORIZATION_FAILED',
      state: () => offsetsOf('g-commit2') },
    { api: 'DescribeCluster', version: 0, needs: [R.CLUSTER, CLUSTER_NAME, Op.DESCRIBE],
      request: () => ({ includeClusterAuthorizedOperations: true, endpointType: 1 }),
      outcome: (res) => (res.clusterAuthorizedOperations === 0 ? 'no-operations'
        : res.clusterAuthorizedOperations === 1 << Op.DESCRIBE ? 'DESCRIBE' : 'other'),
      denied: 'no-operations', allowed: 'DESCRIBE' },
    { api: 'DescribeProducers', version: 0, needs: [R.TOPIC, 't', Op.READ],
      request: () => ({ topics: [{ name: 't', partitionIndexes: [0] }] }),
      outcome: (res) => name(res.topics[0].partitions[0].errorCode),
        denied: 'TOPIC_AUTHORIZATION_FAILED' },
    ...credentialCases(mb),
  ];
}

/** Quotas and SCRAM credentials: cluster-level, as in Kafka. */
function credentialCases(mb: MatrixBroker): Case[] {
  const metadata = mb.broker.services.metadata;
  return [
    { api: 'DescribeClientQuotas', version: 0,
      needs: [R.CLUSTER, CLUSTER_NAME, Op.DESCRIBE_CONFIGS],
      request: () => ({ components: [], strict: false }),
      outcome: (res) => name(res.errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED' },
    { api: 'AlterClientQuotas', version: 0, needs: [R.CLUSTER, CLUSTER_NAME, Op.ALTER_CONFIGS],
      request: () => ({ validateOnly: false, entries: [{ entity: [{ entityType: 'user',
        entityName: 'quota-user' }], ops: [{ key: 'producer_byte_rate', value: 1000,
        remove: false }] }] }),
      outcome: (res) => name(res.entries[0].errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED',
      state: () => metadata.quotas.list() },
    { api: 'DescribeUserScramCredentials', version: 0,
      needs: [R.CLUSTER, CLUSTER_NAME, Op.DESCRIBE],
      request: () => ({ users: null }),
      outcome: (res) => name(res.errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED' },
    { api: 'AlterUserScramCredentials', version: 0, needs: [R.CLUSTER, CLUSTER_NAME, Op.ALTER],
      request: () => ({ deletions: [], upsertions: [{ name: 'scram-user', mechanism: 2,
        iterations: 4096, salt: Buffer.alloc(16, 1), saltedPassword: Buffer.alloc(64, 2) }] }),
      outcome: (res) => name(res.results[0].errorCode), denied: 'CLUSTER_AUTHORIZATION_FAILED',
      state: () => metadata.scramCredentials.list(null) },
  ];
}

/** Join, Sync, Heartbeat and Leave of a real member: joined as the admin, then each call is
 *  made by the principal under test (membership is not tied to a principal). */
function groupMembershipCases(): Case[] {
  const member = { id: '', generation: -1 };
  const join = () => ({ groupId: 'members', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000,
    memberId: member.id, groupInstanceId: null, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null });
  const sync = () => ({ groupId: 'members', generationId: member.generation, memberId: member.id,
    groupInstanceId: null, protocolType: null, protocolName: null,
    assignments: [{ memberId: member.id, assignment: Buffer.alloc(0) }] });
  const needs: Grant = [R.GROUP, 'members', Op.READ];
  const top = (res: any) => name(res.errorCode);
  return [
    { api: 'JoinGroup', version: 3, needs, request: join, denied: 'GROUP_AUTHORIZATION_FAILED',
      outcome: (res) => {
        if (res.errorCode === 0) Object.assign(member, { id: res.memberId,
          generation: res.generationId });
        return top(res);
      } },
    { api: 'SyncGroup', version: 3, needs, request: sync, outcome: top,
      denied: 'GROUP_AUTHORIZATION_FAILED' },
    { api: 'Heartbeat', version: 3, needs, outcome: top, denied: 'GROUP_AUTHORIZATION_FAILED',
      request: () => ({ groupId: 'members', generationId: member.generation, memberId: member.id,
        groupInstanceId: null }) },
    { api: 'LeaveGroup', version: 3, needs, outcome: top, denied: 'GROUP_AUTHORIZATION_FAILED',
      request: () => ({ groupId: 'members', memberId: '', members: [{ memberId: member.id,
        groupInstanceId: null, reason: null }] }) },
  ];
}


/** The transaction APIs. Each transactional id is initialised once by the admin (a super
 *  user); both runs of a case use its producer id and epoch. */
function txnCases(f: Fixture): Case[] {
  const txns = f.mb.broker.services.transactions;
  const ids = new Map<string, Promise<{ producerId: bigint; producerEpoch: number }>>();
  const producer = (transactionalId: string) => {
    if (!ids.has(transactionalId)) ids.set(transactionalId, f.admin('InitProducerId', 4, {
      transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }));
    return ids.get(transactionalId)!;
  };
  const add = async (id: string, topics: { name: string; partitions: number[] }[]) => {
    const p = await producer(id);
    return { v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId,
      v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: topics };
  };
  const added = (res: any) => res.resultsByTopicV3AndBelow.flatMap((t: any) =>
    t.resultsByPartition.map((p: any) => name(p.partitionErrorCode))).join(',');
  const partitionsOf = async (id: string) => {
    await producer(id); // initialised before the state is first read
    return (await txns.get(id))?.partitions;
  };
  const top = (res: any) => name(res.errorCode);
  const ITS_ID = 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED';
  return [
    { api: 'AddPartitionsToTxn', version: 3, needs: [R.TRANSACTIONAL_ID, 'tx-add', Op.WRITE],
      also: [[R.TOPIC, 't', Op.WRITE]], outcome: added, denied: ITS_ID,
      request: () => add('tx-add', [{ name: 't', partitions: [0] }]),
      state: () => partitionsOf('tx-add') },
    { api: 'AddPartitionsToTxn', version: 3, needs: [R.TOPIC, 't', Op.WRITE],
      also: [[R.TRANSACTIONAL_ID, 'tx-add2', Op.WRITE], [R.TOPIC, 'to-grow', Op.WRITE]],
      request: () => add('tx-add2', [{ name: 't', partitions: [0] },
        { name: 'to-grow', partitions: [0] }]),
      outcome: added, denied: 'TOPIC_AUTHORIZATION_FAILED,OPERATION_NOT_ATTEMPTED',
      allowed: 'NONE,NONE', state: () => partitionsOf('tx-add2') },
    { api: 'AddPartitionsToTxn', version: 4, needs: [R.CLUSTER, CLUSTER_NAME, Op.CLUSTER_ACTION],
      request: async () => {
        const p = await producer('tx-add');
        return { transactions: [{ transactionalId: 'tx-add', producerId: p.producerId,
          producerEpoch: p.producerEpoch, verifyOnly: true,
          topics: [{ name: 't', partitions: [0] }] }] };
      },
      outcome: (res) => res.errorCode !== 0 ? top(res)
        : name(res.resultsByTransaction[0].topicResults[0].resultsByPartition[0]
          .partitionErrorCode),
      denied: 'CLUSTER_AUTHORIZATION_FAILED' },
    ...txnOffsetCases(f, producer),
    { api: 'DescribeTransactions', version: 0, needs: [R.TRANSACTIONAL_ID, 'tx-add', Op.DESCRIBE],
      request: () => ({ transactionalIds: ['tx-add'] }),
      outcome: (res) => name(res.transactionStates[0].errorCode), denied: ITS_ID },
    { api: 'DescribeTransactions', version: 0, needs: [R.TOPIC, 't', Op.DESCRIBE],
      also: [[R.TRANSACTIONAL_ID, 'tx-add', Op.DESCRIBE]],
      request: () => ({ transactionalIds: ['tx-add'] }),
      outcome: (res) => res.transactionStates[0].topics.some((t: any) => t.topic === 't')
        ? 'listed' : 'not-listed', denied: 'not-listed', allowed: 'listed' },
    { api: 'ListTransactions', version: 1, needs: [R.TRANSACTIONAL_ID, 'tx-add', Op.DESCRIBE],
      request: () => ({ stateFilters: [], producerIdFilters: [], durationFilter: -1n }),
      outcome: (res) => res.transactionStates.some((t: any) => t.transactionalId === 'tx-add')
        ? 'listed' : 'not-listed', denied: 'not-listed', allowed: 'listed' },
    ...markerCases(f),
  ];
}

type Producer = (id: string) => Promise<{ producerId: bigint; producerEpoch: number }>;

/** AddOffsetsToTxn, TxnOffsetCommit and the EndTxn that commits those offsets. */
function txnOffsetCases(f: Fixture, producer: Producer): Case[] {
  const txns = f.mb.broker.services.transactions;
  const group: Grant = [R.GROUP, 'g-txn', Op.READ];
  const writeId = (id: string): Grant => [R.TRANSACTIONAL_ID, id, Op.WRITE];
  const addOffsets = async (id: string) => ({ transactionalId: id, groupId: 'g-txn',
    ...(await producer(id)) });
  const commit = async () => ({ transactionalId: 'tx-offsets', groupId: 'g-txn',
    ...(await producer('tx-offsets')), generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 0n,
      committedLeaderEpoch: -1, committedMetadata: null }] }] });
  const top = (res: any) => name(res.errorCode);
  const first = (res: any) => name(res.topics[0].partitions[0].errorCode);
  const recordOf = async (id: string) => {
    await producer(id); // initialised before the state is first read
    return txns.get(id);
  };
  const record = () => recordOf('tx-offsets');
  return [
    { api: 'AddOffsetsToTxn', version: 3, needs: writeId('tx-offsets'), also: [group],
      request: () => addOffsets('tx-offsets'), outcome: top,
      denied: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', state: record },
    { api: 'AddOffsetsToTxn', version: 3, needs: group, also: [writeId('tx-offsets2')],
      request: () => addOffsets('tx-offsets2'), outcome: top,
      denied: 'GROUP_AUTHORIZATION_FAILED', state: () => recordOf('tx-offsets2') },
    { api: 'TxnOffsetCommit', version: 3, needs: writeId('tx-offsets'),
      also: [group, [R.TOPIC, 't', Op.READ]], request: commit, outcome: first,
      denied: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', state: record },
    { api: 'TxnOffsetCommit', version: 3, needs: group,
      also: [writeId('tx-offsets'), [R.TOPIC, 't', Op.READ]], request: commit, outcome: first,
      denied: 'GROUP_AUTHORIZATION_FAILED', state: record },
    { api: 'TxnOffsetCommit', version: 3, needs: [R.TOPIC, 't', Op.READ],
      also: [writeId('tx-offsets'), group], request: commit, outcome: first,
      denied: 'TOPIC_AUTHORIZATION_FAILED', state: record },
    { api: 'EndTxn', version: 3, needs: writeId('tx-offsets'),
      request: async () => ({ transactionalId: 'tx-offsets', ...(await producer('tx-offsets')),
        committed: true }),
      outcome: top, denied: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      state: async () => [await record(), await f.offsetsOf('g-txn')] },
  ];
}

/** WriteTxnMarkers: CLUSTER_ACTION (what brokers need), or ALTER (kafka-transactions.sh abort). */
function markerCases(f: Fixture): Case[] {
  const markers = (producerId: bigint) => ({ markers: [{ producerId, producerEpoch: 0,
    transactionResult: false, coordinatorEpoch: 0,
    topics: [{ name: 't', partitionIndexes: [0] }] }] });
  const outcome = (res: any) => name(res.markers[0].topics[0].partitions[0].errorCode);
  return [
    { api: 'WriteTxnMarkers', version: 1, needs: [R.CLUSTER, CLUSTER_NAME, Op.CLUSTER_ACTION],
      request: () => markers(900_001n), outcome, denied: 'CLUSTER_AUTHORIZATION_FAILED',
      state: () => f.hw('t') },
    { api: 'WriteTxnMarkers', version: 1, needs: [R.CLUSTER, CLUSTER_NAME, Op.ALTER],
      request: () => markers(900_002n), outcome, denied: 'CLUSTER_AUTHORIZATION_FAILED',
      state: () => f.hw('t') },
  ];
}

const allCases = (f: Fixture): Case[] => [...cases1(f), ...cases2(f), ...cases3(f),
  ...txnCases(f)];

/** Every case: denied without its ACL with Kafka's error and nothing changed, allowed with. */
async function runMatrix(f: Fixture, transport: string): Promise<void> {
  const { mb, send, admin, principal, grant, commitReq } = f;
  // Offsets to read, list and delete.
  await admin('OffsetCommit', 8, commitReq('g-commit'));
  await admin('OffsetCommit', 8, commitReq('g-commit2'));
  const checked = new Set<string>();
  const apis = new Set<string>();
  for (const c of allCases(f)) {
    const [type, resource, op] = c.needs;
    const label = `${c.api} v${c.version} ${R_NAMES.get(type)}:${resource} ${OP_NAMES.get(op)}`;
    await mb.broker.services.metadata.acls.delete([ALL_ACLS]);
    if (c.also) await grant(c.also);
    const before = await c.state?.();
    const denied = c.outcome(await send(c.api, c.version, await c.request()));
    expect(denied, `${label}: without the ACL`).toBe(c.denied);
    expect(await c.state?.(), `${label}: unchanged when denied`).toEqual(before);
    await grant([c.needs]);
    const allowed = c.outcome(await send(c.api, c.version, await c.request()));
    expect(allowed, `${label}: with the ACL`).toBe(c.allowed ?? 'NONE');
    checked.add(label);
    apis.add(c.api);
  }
  // ApiVersions, SaslHandshake and SaslAuthenticate need no ACL: answered to anyone.
  await mb.broker.services.metadata.acls.delete([ALL_ACLS]);
  const versions = await send('ApiVersions', 3, { clientSoftwareName: 'matrix',
    clientSoftwareVersion: '1' });
  expect(name(versions.errorCode)).toBe('NONE');
  const implemented = mb.broker.services.apiVersions().length;
  console.log(`authorization matrix as ${principal} (${transport}): ${checked.size} (API, `
    + `resource, operation) cases over ${apis.size} APIs (+ ApiVersions, SASL's two: no ACL `
    + `needed) of the ${implemented} the broker implements`);
  expect(apis.size + 3).toBe(implemented);
}

async function denyAllowPatterns(f: Fixture): Promise<void> {
  const { mb, send, grant, produceReq } = f;
  const acls = mb.broker.services.metadata.acls;
  const produce = async (topic: string) =>
    topicErr(await send('Produce', 9, await produceReq(topic)));
  await grant([[R.TOPIC, 't', Op.WRITE]]);
  expect(await produce('t')).toBe('NONE');
  await grant([[R.TOPIC, 't', Op.WRITE]], { permissionType: AclPermission.DENY });
  expect(await produce('t')).toBe('TOPIC_AUTHORIZATION_FAILED');

  await acls.delete([ALL_ACLS]);
  await grant([[R.TOPIC, 't', Op.ALL]], { patternType: PatternType.PREFIXED });
  expect(await produce('t')).toBe('NONE');
  await grant([[R.TOPIC, '*', Op.WRITE]], { permissionType: AclPermission.DENY });
  expect(await produce('t')).toBe('TOPIC_AUTHORIZATION_FAILED'); // wildcard DENY

  await acls.delete([ALL_ACLS]);
  await acls.create([acl('User:*', R.TOPIC, '*', Op.WRITE)]);
  expect(await produce('t')).toBe('NONE'); // wildcard resource and principal

  // Without DESCRIBE a missing topic and an existing one answer alike.
  await acls.delete([ALL_ACLS]);
  const metadata = async (topic: string) => (await send('Metadata', 9, {
    topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: topic }], allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  })).topics[0];
  const missing = await metadata('never-created');
  expect(await metadata('t')).toEqual({ ...missing, name: 't' });
  expect(await produce('never-created')).toBe(await produce('t'));
  expect(await mb.broker.services.metadata.topics.get('never-created')).toBeNull();
}

async function superUserBypasses(f: Fixture): Promise<void> {
  const { mb, admin, produceReq } = f;
  const res = await admin('CreateTopics', 5, { topics: [{ name: 'by-admin', numPartitions: 1,
    replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
  expect(name(res.topics[0].errorCode)).toBe('NONE');
  await mb.broker.services.metadata.acls.create([acl(ADMIN, R.TOPIC, '*', Op.ALL,
    { permissionType: AclPermission.DENY })]);
  expect(topicErr(await admin('Produce', 9, await produceReq('by-admin')))).toBe('NONE');
}

const ALICE_LOGIN = { mechanism: 'SCRAM-SHA-512' as const, user: 'alice',
  password: 'alice-secret' };
/** A broker whose one listener is SASL_PLAINTEXT, alice a SCRAM-SHA-512 user. */
const SASL_BROKER = { listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
  saslEnabledMechanisms: 'SCRAM-SHA-512',
  scramBootstrapUsers: `SCRAM-SHA-512=[name=alice,password=${ALICE_LOGIN.password}]` };

describe.each([
  { principal: 'User:ANONYMOUS', transport: 'wire', settings: {}, login: undefined },
  { principal: 'User:alice', transport: 'dispatcher', settings: {}, login: undefined },
  { principal: 'User:alice', transport: 'SCRAM-SHA-512 login over SASL_PLAINTEXT',
    settings: SASL_BROKER, login: ALICE_LOGIN },
])('authorization matrix as $principal ($transport)', ({ principal, transport, settings,
  login }) => {
  let mb: MatrixBroker;
  let f: Fixture;
  let close = () => {};

  beforeAll(async () => {
    mb = await startMatrixBroker(ADMIN, settings);
    let send = mb.as(principal);
    if (transport !== 'dispatcher') {
      const w = await mb.wire(login);
      [send, close] = [w.send, w.close];
    }
    f = makeFixture(mb, principal, send);
    for (const t of ['t', 'to-delete', 'to-grow']) {
      await mb.broker.services.partitions.createTopic(t, 1, {});
    }
  }, 60_000);
  afterAll(async () => {
    close();
    await mb?.stop();
  });
  beforeEach(async () => {
    await mb.broker.services.metadata.acls.delete([ALL_ACLS]);
  });

  it('denies each API without its ACL with Kafka\'s error, changing nothing, and allows it with',
    () => runMatrix(f, transport), 120_000);
  it('lets a DENY beat an ALLOW, matches PREFIXED and wildcard patterns, hides missing topics',
    () => denyAllowPatterns(f), 60_000);
  it('lets a super user do everything without any ACL', () => superUserBypasses(f));
});

const R_NAMES = new Map(Object.entries(R).map(([k, v]) => [v as number, k]));
const OP_NAMES = new Map(Object.entries(Op).map(([k, v]) => [v as number, k]));
