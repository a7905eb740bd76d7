/**
 * The administrative handlers, called directly (no sockets) against real services: an embedded
 * coordinator in memory, a real PartitionManager, a real Uploader writing to a local-folder
 * object store. The WAL is a double that is durable at once with increasing LSNs, and the history
 * reader a double that returns nothing: neither is under test here.
 *
 * Every call goes through the wire: the request is encoded and decoded at the version under test
 * with the generated codec, and the response is encoded and decoded back, so a field that does not
 * exist at a version and is not ignorable fails the test. Each handler is also swept over every
 * version it registers.
 */
import { ClientQuotas } from '../../src/quota/client-quotas.js';
import { ALLOW_ALL } from '../../src/security/authorizer.js';
import { MemoryBudget } from '../../src/broker/memory-budget.js';
import { SingleNodeView } from '../../src/cluster/cluster-view.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_SPECS } from '../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as AC from '../../protocol/generated/messages/alter-configs.js';
import * as CA from '../../protocol/generated/messages/create-acls.js';
import * as CP from '../../protocol/generated/messages/create-partitions.js';
import * as DA from '../../protocol/generated/messages/delete-acls.js';
import * as DR from '../../protocol/generated/messages/delete-records.js';
import * as DSA from '../../protocol/generated/messages/describe-acls.js';
import * as DC from '../../protocol/generated/messages/describe-cluster.js';
import * as DCF from '../../protocol/generated/messages/describe-configs.js';
import * as DP from '../../protocol/generated/messages/describe-producers.js';
import * as IAC from '../../protocol/generated/messages/incremental-alter-configs.js';
import * as OLE from '../../protocol/generated/messages/offset-for-leader-epoch.js';
import * as SH from '../../protocol/generated/messages/sasl-handshake.js';
import { decodeResponseFrame, encodeRequestFrame } from '../../protocol/frame.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { readBatchHeader } from '../../protocol/records/batch-header.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { CloseConnection, Dispatcher } from '../../src/broker/dispatch.js';
import type { ApiHandler, RequestContext } from '../../src/broker/handler.js';
import { handler as saslHandshake } from '../../src/broker/handlers/17-sasl-handshake.js';
import { handler as deleteRecords } from '../../src/broker/handlers/21-delete-records.js';
import { handler as offsetForLeaderEpoch } from '../../src/broker/handlers/23-offset-for-leader-epoch.js';
import { handler as describeAcls } from '../../src/broker/handlers/29-describe-acls.js';
import { handler as createAcls } from '../../src/broker/handlers/30-create-acls.js';
import { handler as deleteAcls } from '../../src/broker/handlers/31-delete-acls.js';
import { handler as describeConfigs } from '../../src/broker/handlers/32-describe-configs.js';
import { handler as alterConfigs } from '../../src/broker/handlers/33-alter-configs.js';
import { handler as createPartitions } from '../../src/broker/handlers/37-create-partitions.js';
import {
  handler as incrementalAlterConfigs,
} from '../../src/broker/handlers/44-incremental-alter-configs.js';
import { handler as describeCluster } from '../../src/broker/handlers/60-describe-cluster.js';
import { handler as describeProducers } from '../../src/broker/handlers/61-describe-producers.js';
import { adminHandlers } from '../../src/broker/handlers/admin-handlers.js';
import type { BrokerServices } from '../../src/broker/services.js';
import { type BrokerConfig, loadConfig } from '../../src/config/config.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { createMetrics } from '../../src/metrics.js';
import type { HistoryReader, PartitionLog } from '../../src/partition/partition-log.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';
import { TailMemory } from '../../src/partition/tail-memory.js';
import { Uploader } from '../../src/partition/uploader.js';
import { memoryDurability } from '../helpers/memory-wal.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { anonymousSession } from '../../src/security/principal.js';

const NODE_ID = 7;
const log = pino({ level: 'silent' });

const emptyHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};

interface Fixture {
  services: BrokerServices;
  metadata: SqliteMetadata;
  partitions: PartitionManager;
  deleted: string[];
  dir: string;
}

let fx: Fixture;

async function setUp(): Promise<Fixture> {
  const config: BrokerConfig = { ...loadConfig([], {}), nodeId: NODE_ID, defaultPartitions: 3 };
  const dir = await mkdtemp(path.join(tmpdir(), 'admin-handlers-'));
  const metadata = new SqliteMetadata(':memory:');
  const wal = memoryDurability();
  const partitions = new PartitionManager(metadata, config, wal, emptyHistory, NODE_ID, log,
    Date.now);
  await partitions.load();
  const metrics = createMetrics();
  const store = await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') });
  const uploader = new Uploader(partitions, wal, store, metadata, new TailMemory(config.tailBytesMax, config.tailBatchesMax),
    { nodeId: NODE_ID, uploadIntervalMs: 60_000, putGapMs: 0, uploadBytesMax: config.uploadBytesMax,
      turnWaitMsMax: 60_000,
      partitionsPerObjectMax: 100, objectBytesMax: config.uploadObjectBytesMax,
      nowMs: Date.now, monotonicNowMs: () => performance.now() }, metrics, log);
  const deleted: string[] = [];
  const services: BrokerServices = {
    config, nodeId: NODE_ID, clusterId: metadata.clusterId(),
    advertised: { host: 'broker.example', port: 19092 },
    cluster: new SingleNodeView({ nodeId: NODE_ID, host: 'broker.example', port: 19092, rack: null }),
    metadata, partitions, uploader, metrics, history: emptyHistory, authorizer: ALLOW_ALL,
    memory: new MemoryBudget(config.clientMemoryBytesMax),
    groups: {} as BrokerServices['groups'], // not used by these handlers
    quotas: new ClientQuotas({ samples: config.quotaWindowNum,
      sampleMs: config.quotaWindowSizeSeconds * 1000 }),
    transactions: {} as BrokerServices['transactions'], // nor this
    fetchSessions: {} as BrokerServices['fetchSessions'], // nor this
    apiVersions: () => [],
    deleteObjects: (keys) => { deleted.push(...keys); },
    nowMs: () => 1_700_000_000_000,
  };
  return { services, metadata, partitions, deleted, dir };
}

beforeEach(async () => {
  fx = await setUp();
});

afterEach(async () => {
  await fx.metadata.close();
  await rm(fx.dir, { recursive: true, force: true });
});

function context(): RequestContext {
  return { services: fx.services, clientId: 'test', ...anonymousSession('127.0.0.1'),
    correlationId: 1, api: 'test', log };
}

/**
 * One request through the wire at `version`: encoded and decoded as a client would send it,
 * handled, and the response encoded and decoded back as the client would read it.
 */
async function call<Req, Res>(h: ApiHandler<Req, Res>, codec: {
  encodeRequest: (w: Writer, v: number, m: Req) => void; decodeResponse: (r: Reader, v: number) => Res;
}, request: Req, version: number): Promise<Res> {
  expect(version).toBeGreaterThanOrEqual(h.minVersion);
  expect(version).toBeLessThanOrEqual(h.maxVersion);
  const w = new Writer();
  codec.encodeRequest(w, version, request);
  const r = new Reader(w.toBuffer());
  const decoded = h.decodeRequest(r, version);
  expect(r.remaining()).toBe(0);
  const response = await h.handle(context(), decoded, version);
  expect(response).not.toBeNull();
  const out = new Writer();
  h.encodeResponse(out, version, response!); // throws on a non-ignorable field absent at `version`
  const back = new Reader(out.toBuffer());
  const result = codec.decodeResponse(back, version);
  expect(back.remaining()).toBe(0);
  return result;
}

function versions(h: ApiHandler): number[] {
  return Array.from({ length: h.maxVersion - h.minVersion + 1 }, (_, i) => h.minVersion + i);
}

async function createTopic(name: string, partitionCount = 1, configs: Record<string, string> = {}):
  Promise<PartitionLog[]> {
  // A single node leads every partition it creates.
  return (await fx.partitions.createTopic(name, partitionCount, configs)).logs.map((l) => l!);
}

/** Appends one batch of `count` records at the log's current leader epoch; waits until durable. */
async function produce(target: PartitionLog, count: number,
  producer?: { producerId: bigint; producerEpoch: number; baseSequence: number }): Promise<number> {
  const batch = await encodeBatch({ baseTimestamp: 1_700_000_000_000, ...producer,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })) });
  const outcome = target.append(batch, readBatchHeader(batch, 0),
    { messageBytesMax: 1 << 20, logAppendTime: false }, fx.services.nowMs());
  if (outcome.kind !== 'appended') throw new Error(`append failed: ${JSON.stringify(outcome)}`);
  await outcome.durable;
  return outcome.baseOffset;
}

/** A new leader epoch for the partition, in the coordinator and in the log (a leader change). */
async function bumpEpoch(target: PartitionLog): Promise<number> {
  const state = await fx.metadata.leadership.setLeader(target.topicId, target.partition, NODE_ID);
  target.leaderEpoch = state.leaderEpoch;
  return state.leaderEpoch;
}

describe('registry', () => {
  it('lists the admin handlers in key order, each inside its spec range', () => {
    const keys = adminHandlers.map((h) => h.apiKey);
    expect(keys).toEqual([17, 21, 23, 29, 30, 31, 32, 33, 37, 44, 48, 49, 60, 61]);
    for (const h of adminHandlers) {
      const spec = API_SPECS.get(h.apiKey)!;
      expect(h.name).toBe(spec.name);
      expect(h.minVersion).toBeGreaterThanOrEqual(spec.minVersion);
      expect(h.maxVersion).toBeLessThanOrEqual(spec.maxVersion);
    }
  });
});

describe('SaslHandshake', () => {
  const codec = {
    encodeRequest: SH.encodeSaslHandshakeRequest, decodeResponse: SH.decodeSaslHandshakeResponse,
  };

  /**
   * SaslHandshake is not flexible at any version ("flexibleVersions": "none"), so Kafka clients
   * send request header v1 and read response header v0. Built by hand here, as kafkajs sends it.
   * KNOWN BUG, outside this file: protocol/codegen (emit-index.ts, emit-message.ts) turns "none"
   * into flexibleMin 0, so the broker reads a v2 header and closes the connection; the same hits
   * OffsetDelete (47). Once the generator is fixed, this test passes: drop `.fails`.
   */
  it('answers a real client frame (header v1) with a clear error', async () => {
    const mechanism = Buffer.from('PLAIN');
    const frame = Buffer.alloc(8 + 2 + 4 + 2 + mechanism.length);
    frame.writeInt16BE(17, 0); // apiKey
    frame.writeInt16BE(1, 2); // apiVersion
    frame.writeInt32BE(42, 4); // correlationId
    frame.writeInt16BE(4, 8); // clientId "test", no tagged fields in header v1
    frame.write('test', 10);
    frame.writeInt16BE(mechanism.length, 14);
    mechanism.copy(frame, 16);
    const dispatcher = new Dispatcher(adminHandlers, fx.services, log);
    const out = await dispatcher.dispatch(frame, anonymousSession('/127.0.0.1'));
    expect(out).not.toBeInstanceOf(CloseConnection);
    const bytes = Buffer.concat(out as Buffer[]);
    // size, correlationId (header v0), errorCode, empty mechanisms array
    expect([...bytes]).toEqual(
      [0, 0, 0, 10, 0, 0, 0, 42, 0, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 0, 0, 0, 0]);
  });

  it.each(versions(saslHandshake))('refuses every mechanism at v%i', async (v) => {
    const request = { ...SH.defaultSaslHandshakeRequest(), mechanism: 'PLAIN' };
    const res = await call(saslHandshake, codec, request, v);
    expect(res.errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    expect(res.mechanisms).toEqual([]);
  });
});

describe('DeleteRecords', () => {
  const codec = {
    encodeRequest: DR.encodeDeleteRecordsRequest, decodeResponse: DR.decodeDeleteRecordsResponse,
  };
  const request = (topics: [string, [number, bigint][]][]) => ({
    ...DR.defaultDeleteRecordsRequest(), timeoutMs: 1000,
    topics: topics.map(([name, parts]) => ({ ...DR.defaultDeleteRecordsRequestDeleteRecordsTopic(), name,
      partitions: parts.map(([partitionIndex, offset]) => ({
        ...DR.defaultDeleteRecordsRequestDeleteRecordsPartition(), partitionIndex, offset })) })),
  });
  const results = (res: DR.DeleteRecordsResponse) =>
    res.topics.flatMap((t) => t.partitions.map((p) =>
      [t.name, p.partitionIndex, p.errorCode, p.lowWatermark]));

  it('flushes data that is only in the WAL, then advances the log start (mid-batch too)', async () => {
    const [p0] = await createTopic('dr');
    await produce(p0!, 5);
    await produce(p0!, 5);
    expect(p0!.uploadedEndOffset).toBe(0); // only in the WAL and the tail
    const res = await call(deleteRecords, codec, request([['dr', [[0, 7n]]]]), 2);
    expect(results(res)).toEqual([['dr', 0, ErrorCode.NONE, 7n]]);
    expect(p0!.uploadedEndOffset).toBe(10);
    expect(p0!.logStartOffset).toBe(7);
    const [state] = await fx.metadata.leadership.states(p0!.topicId);
    expect(state!.logStartOffset).toBe(7);
    expect(fx.deleted).toEqual([]); // the object still holds offsets 7..9
    const read = await p0!.read(5, 1 << 20, true);
    expect(read.kind).toBe('offset-out-of-range');
  });

  it('treats -1 as the high watermark and deletes objects left without live data', async () => {
    const [p0] = await createTopic('dr');
    await produce(p0!, 4);
    await fx.services.uploader.flush();
    const [entry] = await fx.metadata.segments.list(p0!.topicId, 0, 0, 10);
    const res = await call(deleteRecords, codec, request([['dr', [[0, -1n]]]]), 1);
    expect(results(res)).toEqual([['dr', 0, ErrorCode.NONE, 4n]]);
    expect(fx.deleted).toEqual([entry!.objectKey]);
    expect(await fx.metadata.segments.list(p0!.topicId, 0, 0, 10)).toEqual([]);
  });

  it('refuses offsets past the high watermark or below -1, and unknown partitions', async () => {
    const [p0] = await createTopic('dr', 2);
    await produce(p0!, 3);
    const res = await call(deleteRecords, codec,
      request([['dr', [[0, 4n], [1, -2n], [2, 0n]]], ['nope', [[0, 0n]]]]), 0);
    expect(results(res)).toEqual([
      ['dr', 0, ErrorCode.OFFSET_OUT_OF_RANGE, -1n], ['dr', 1, ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
      ['dr', 2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
      ['nope', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ]);
    expect(p0!.logStartOffset).toBe(0);
  });

  it('never moves the log start backwards', async () => {
    const [p0] = await createTopic('dr');
    await produce(p0!, 6);
    await call(deleteRecords, codec, request([['dr', [[0, 5n]]]]), 2);
    const res = await call(deleteRecords, codec, request([['dr', [[0, 2n]]]]), 2);
    expect(results(res)).toEqual([['dr', 0, ErrorCode.NONE, 5n]]);
    expect(p0!.logStartOffset).toBe(5);
  });

  it('answers KAFKA_STORAGE_ERROR when the upload fails', async () => {
    const [p0] = await createTopic('dr');
    await produce(p0!, 3);
    fx.services.uploader = { flush: () => Promise.reject(new Error('store down')) } as unknown as Uploader;
    const res = await call(deleteRecords, codec, request([['dr', [[0, 2n]]]]), 2);
    expect(results(res)).toEqual([['dr', 0, ErrorCode.KAFKA_STORAGE_ERROR, -1n]]);
    expect(p0!.logStartOffset).toBe(0);
  });

  it.each(versions(deleteRecords))('encodes at v%i', async (v) => {
    const [p0] = await createTopic('dr');
    await produce(p0!, 2);
    const res = await call(deleteRecords, codec, request([['dr', [[0, 1n], [1, 0n]]]]), v);
    expect(results(res)).toEqual([['dr', 0, 0, 1n], ['dr', 1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n]]);
  });
});

describe('OffsetForLeaderEpoch', () => {
  const codec = {
    encodeRequest: OLE.encodeOffsetForLeaderEpochRequest,
    decodeResponse: OLE.decodeOffsetForLeaderEpochResponse,
  };
  const request = (topic: string, parts: [partition: number, epoch: number, current?: number][]) => ({
    ...OLE.defaultOffsetForLeaderEpochRequest(), replicaId: -1,
    topics: [{ ...OLE.defaultOffsetForLeaderEpochRequestOffsetForLeaderTopic(), topic,
      partitions: parts.map(([partition, leaderEpoch, currentLeaderEpoch = -1]) => ({
        ...OLE.defaultOffsetForLeaderEpochRequestOffsetForLeaderPartition(), partition, leaderEpoch,
        currentLeaderEpoch })) }],
  });
  const answers = (res: OLE.OffsetForLeaderEpochResponse) => res.topics[0]!.partitions
    .map((p) => [p.errorCode, p.leaderEpoch, p.endOffset]);

  /**
   * Epoch 0: offsets 0-2, epoch 1: 3-4 (each uploaded, then evicted: only in the segment index),
   * epoch 2 (current): 5-6, in the tail.
   */
  async function threeEpochs(): Promise<PartitionLog> {
    const [p0] = await createTopic('ole');
    expect(p0!.leaderEpoch).toBe(0);
    await produce(p0!, 3);
    await fx.services.uploader.flush();
    await bumpEpoch(p0!);
    await produce(p0!, 2);
    await fx.services.uploader.flush();
    p0!.evictUploaded(5);
    await bumpEpoch(p0!);
    await produce(p0!, 2);
    expect(p0!.tailStartOffset).toBe(5);
    return p0!;
  }

  it('answers the end of each epoch from the index, the tail, and the high watermark', async () => {
    await threeEpochs();
    const res = await call(offsetForLeaderEpoch, codec,
      request('ole', [[0, 0], [0, 1], [0, 2], [0, 3], [0, -1]]), 4);
    expect(answers(res)).toEqual([
      [0, 0, 3n], // first offset of epoch 1, from the segment index
      [0, 1, 5n], // first offset of epoch 2, from the tail
      [0, 2, 7n], // current epoch: the high watermark
      [0, -1, -1n], // newer than any epoch
      [0, -1, -1n], // undefined epoch
    ]);
  });

  it('answers from the index by binary search over many entries', async () => {
    const [p0] = await createTopic('ole');
    for (let epoch = 0; epoch < 6; epoch++) {
      for (let i = 0; i < 5; i++) {
        await produce(p0!, 2);
        await fx.services.uploader.flush(); // one index entry per batch
      }
      await bumpEpoch(p0!);
    }
    p0!.evictUploaded(p0!.uploadedEndOffset);
    expect(p0!.tailStartOffset).toBe(60);
    const res = await call(offsetForLeaderEpoch, codec,
      request('ole', [0, 1, 2, 3, 4, 5, 6].map((epoch) => [0, epoch])), 4);
    expect(answers(res)).toEqual([
      [0, 0, 10n], [0, 1, 20n], [0, 2, 30n], [0, 3, 40n], [0, 4, 50n], [0, 5, 60n], [0, 6, 60n]]);
  });

  it('answers the base of an index entry that spans a leader change (documented lower bound)', async () => {
    const [p0] = await createTopic('ole');
    await produce(p0!, 3);
    await bumpEpoch(p0!);
    await produce(p0!, 2);
    await fx.services.uploader.flush(); // one entry, 0-4, carrying epoch 1
    p0!.evictUploaded(5);
    await bumpEpoch(p0!);
    const res = await call(offsetForLeaderEpoch, codec, request('ole', [[0, 0], [0, 1]]), 4);
    expect(answers(res)).toEqual([[0, 0, 0n], [0, 1, 5n]]);
  });

  it('answers the log start for an epoch older than all retained data', async () => {
    const p0 = await threeEpochs();
    await call(deleteRecords, { encodeRequest: DR.encodeDeleteRecordsRequest,
      decodeResponse: DR.decodeDeleteRecordsResponse }, { ...DR.defaultDeleteRecordsRequest(),
      topics: [{ ...DR.defaultDeleteRecordsRequestDeleteRecordsTopic(), name: 'ole',
        partitions: [{ ...DR.defaultDeleteRecordsRequestDeleteRecordsPartition(), offset: 4n }] }] }, 2);
    expect(p0.logStartOffset).toBe(4);
    const res = await call(offsetForLeaderEpoch, codec, request('ole', [[0, 0]]), 3);
    expect(answers(res)).toEqual([[0, 0, 4n]]);
  });

  it('answers the high watermark for an old epoch when nothing was written since', async () => {
    const [p0] = await createTopic('ole');
    await produce(p0!, 4);
    await bumpEpoch(p0!);
    const res = await call(offsetForLeaderEpoch, codec, request('ole', [[0, 0]]), 4);
    expect(answers(res)).toEqual([[0, 0, 4n]]);
  });

  it('checks currentLeaderEpoch from v2 and reports unknown partitions', async () => {
    await threeEpochs();
    const parts: [number, number, number][] = [[0, 1, 1], [0, 1, 9], [0, 1, 2], [3, 0, -1]];
    expect(answers(await call(offsetForLeaderEpoch, codec, request('ole', parts), 2))).toEqual([
      [ErrorCode.FENCED_LEADER_EPOCH, -1, -1n], [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n],
      [0, 1, 5n], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n],
    ]);
    // Below v2 currentLeaderEpoch is not on the wire: no check.
    expect(answers(await call(offsetForLeaderEpoch, codec, request('ole', parts), 1))).toEqual([
      [0, 1, 5n], [0, 1, 5n], [0, 1, 5n], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n],
    ]);
  });

  it.each(versions(offsetForLeaderEpoch))('encodes at v%i', async (v) => {
    await threeEpochs();
    const res = await call(offsetForLeaderEpoch, codec, request('ole', [[0, 1, 2], [1, 0]]), v);
    // v0 has no leaderEpoch in the response: it decodes as -1.
    expect(answers(res)).toEqual([[0, v >= 1 ? 1 : -1, 5n], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1n]]);
  });
});

describe('ACLs without an authorizer', () => {
  const message = 'No Authorizer is configured on the broker';

  it.each(versions(describeAcls))('DescribeAcls v%i: SECURITY_DISABLED', async (v) => {
    const res = await call(describeAcls, { encodeRequest: DSA.encodeDescribeAclsRequest,
      decodeResponse: DSA.decodeDescribeAclsResponse }, { ...DSA.defaultDescribeAclsRequest(),
      resourceTypeFilter: 1, operation: 1, permissionType: 1,
      ...(v >= 1 ? { patternTypeFilter: 1 } : {}) }, v);
    expect(res).toMatchObject(
      { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: message, resources: [] });
  });

  it.each(versions(createAcls))('CreateAcls v%i: SECURITY_DISABLED for each creation', async (v) => {
    const creation = { ...CA.defaultCreateAclsRequestAclCreation(), resourceType: 2, resourceName: 't',
      principal: 'User:alice', host: '*', operation: 3, permissionType: 3 };
    const res = await call(createAcls, { encodeRequest: CA.encodeCreateAclsRequest,
      decodeResponse: CA.decodeCreateAclsResponse }, { ...CA.defaultCreateAclsRequest(),
      creations: [creation, { ...creation, resourceName: 'u' }] }, v);
    expect(res.results.map((r) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.SECURITY_DISABLED, message], [ErrorCode.SECURITY_DISABLED, message]]);
  });

  it.each(versions(deleteAcls))('DeleteAcls v%i: SECURITY_DISABLED for each filter', async (v) => {
    const res = await call(deleteAcls, { encodeRequest: DA.encodeDeleteAclsRequest,
      decodeResponse: DA.decodeDeleteAclsResponse }, { ...DA.defaultDeleteAclsRequest(),
      filters: [{ ...DA.defaultDeleteAclsRequestDeleteAclsFilter(), resourceTypeFilter: 1, operation: 1,
        permissionType: 1 }] }, v);
    expect(res.filterResults.map((r) => [r.errorCode, r.errorMessage, r.matchingAcls])).toEqual([
      [ErrorCode.SECURITY_DISABLED, message, []]]);
  });
});

describe('DescribeConfigs', () => {
  const codec = {
    encodeRequest: DCF.encodeDescribeConfigsRequest, decodeResponse: DCF.decodeDescribeConfigsResponse,
  };
  const request = (v: number, resources: [type: number, name: string, keys?: string[]][],
    synonyms = false) => ({
    ...DCF.defaultDescribeConfigsRequest(), includeSynonyms: v >= 1 && synonyms,
    resources: resources.map(([resourceType, resourceName, keys]) => ({
      ...DCF.defaultDescribeConfigsRequestDescribeConfigsResource(), resourceType, resourceName,
      configurationKeys: keys ?? null })),
  });
  const byName = (r: DCF.DescribeConfigsResponseDescribeConfigsResult) =>
    Object.fromEntries(r.configs.map((c) => [c.name, c]));

  it('describes a topic: effective values with their sources, and stored no-effect overrides', async () => {
    await createTopic('dc', 1, { 'retention.ms': '1000', 'segment.bytes': '1048576' });
    const [result] = (await call(describeConfigs, codec, request(1, [[2, 'dc']], true), 1)).results;
    expect(result).toMatchObject({ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'dc' });
    const configs = byName(result!);
    expect(Object.keys(configs).sort()).toEqual(['cleanup.policy', 'max.message.bytes',
      'message.timestamp.type', 'retention.bytes', 'retention.ms', 'segment.bytes']);
    expect(configs['retention.ms']).toMatchObject({ value: '1000', configSource: 1, readOnly: false,
      isSensitive: false, synonyms: [{ name: 'retention.ms', value: '1000', source: 1 }] });
    expect(configs['segment.bytes']).toMatchObject({ value: '1048576', configSource: 1 });
    expect(configs['max.message.bytes']).toMatchObject({
      value: String(fx.services.config.messageBytesMax), configSource: 5 });
    expect(configs['cleanup.policy']).toMatchObject({ value: 'delete', configSource: 5 });
  });

  it('marks defaults with isDefault at v0', async () => {
    await createTopic('dc', 1, { 'retention.ms': '1000' });
    const configs = byName((await call(describeConfigs, codec, request(0, [[2, 'dc']]), 0)).results[0]!);
    expect(configs['retention.ms']!.isDefault).toBe(false);
    expect(configs['retention.bytes']!.isDefault).toBe(true);
  });

  it('returns only the requested keys (unknown ones are left out)', async () => {
    await createTopic('dc');
    const res = await call(describeConfigs, codec, request(4, [[2, 'dc', ['retention.ms', 'nope']]]), 4);
    expect(res.results[0]!.configs.map((c) => [c.name, c.value])).toEqual([
      ['retention.ms', String(fx.services.config.retentionMs)]]);
  });

  it('describes this broker read-only, and refuses other brokers, unknown topics and types', async () => {
    const res = await call(describeConfigs, codec,
      request(3, [[4, String(NODE_ID)], [4, ''], [4, '99'], [2, 'missing'], [8, String(NODE_ID)]]), 3);
    const [mine, clusterDefault, other, missing, logger] = res.results;
    const configs = byName(mine!);
    expect(configs['num.partitions']).toMatchObject({ value: '3', readOnly: true, configSource: 4 });
    expect(configs['auto.create.topics.enable']!.value).toBe('true');
    expect(configs['message.max.bytes']!.value).toBe(String(fx.services.config.messageBytesMax));
    expect(configs['log.retention.ms']!.value).toBe(String(fx.services.config.retentionMs));
    expect(configs['socket.request.max.bytes']!.value).toBe(String(fx.services.config.requestBytesMax));
    expect(clusterDefault!.configs.length).toBe(mine!.configs.length);
    expect(other!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(missing!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(logger!.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(missing!.configs).toEqual([]);
  });

  it.each(versions(describeConfigs))('encodes at v%i', async (v) => {
    await createTopic('dc', 1, { 'retention.ms': '1000' });
    const res = await call(describeConfigs, codec,
      request(v, [[2, 'dc'], [4, String(NODE_ID)], [2, 'missing']], true), v);
    expect(res.results.map((r) => r.errorCode)).toEqual([0, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const retention = byName(res.results[0]!)['retention.ms']!;
    expect(retention.configSource).toBe(v >= 1 ? 1 : -1);
    expect(retention.synonyms.length).toBe(v >= 1 ? 1 : 0);
  });
});

describe('AlterConfigs', () => {
  const codec = {
    encodeRequest: AC.encodeAlterConfigsRequest, decodeResponse: AC.decodeAlterConfigsResponse,
  };
  const request = (resources: [type: number, name: string, configs: [string, string | null][]][],
    validateOnly = false) => ({
    ...AC.defaultAlterConfigsRequest(), validateOnly,
    resources: resources.map(([resourceType, resourceName, configs]) => ({
      ...AC.defaultAlterConfigsRequestAlterConfigsResource(), resourceType, resourceName,
      configs: configs.map(([name, value]) => ({
        ...AC.defaultAlterConfigsRequestAlterableConfig(), name, value })),
    })),
  });
  const outcomes = (res: AC.AlterConfigsResponse) =>
    res.responses.map((r) => [r.resourceType, r.resourceName, r.errorCode]);

  it('replaces the whole override set, in memory and in the coordinator', async () => {
    await createTopic('ac', 1, { 'retention.ms': '1000' });
    const res = await call(alterConfigs, codec,
      request([[2, 'ac', [['max.message.bytes', '2000'], ['flush.ms', null]]]]), 1);
    expect(res.responses[0]).toMatchObject({ errorCode: 0, errorMessage: null, resourceName: 'ac' });
    const topic = fx.partitions.topic('ac')!;
    expect(topic.record.configs).toEqual({ 'max.message.bytes': '2000' });
    expect(topic.config.messageBytesMax).toBe(2000);
    expect(topic.config.retentionMs).toBe(fx.services.config.retentionMs); // back to the default
    expect((await fx.metadata.topics.get('ac'))!.configs).toEqual({ 'max.message.bytes': '2000' });
  });

  it('validates every key and value and changes nothing on error or with validateOnly', async () => {
    await createTopic('ac', 1, { 'retention.ms': '1000' });
    const res = await call(alterConfigs, codec, request([
      [2, 'ac', [['retention.ms', '5'], ['cleanup.policy', 'compact']]],
      [2, 'ac', [['no.such.config', '1']]],
      [2, 'ac', [['retention.ms', '5'], ['retention.ms', '6']]],
      [2, 'missing', [['retention.ms', '5']]],
      [4, String(NODE_ID), [['num.partitions', '5']]],
      [2, 'ac', [['retention.ms', '5']]],
    ], true), 2);
    expect(outcomes(res)).toEqual([
      [2, 'ac', ErrorCode.INVALID_CONFIG], [2, 'ac', ErrorCode.INVALID_CONFIG],
      [2, 'ac', ErrorCode.INVALID_REQUEST], [2, 'missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [4, String(NODE_ID), ErrorCode.INVALID_REQUEST], [2, 'ac', ErrorCode.NONE],
    ]);
    expect(res.responses[0]!.errorMessage).toContain('cleanup.policy');
    expect(fx.partitions.topic('ac')!.record.configs).toEqual({ 'retention.ms': '1000' });
  });

  it.each(versions(alterConfigs))('encodes at v%i', async (v) => {
    await createTopic('ac');
    const res = await call(alterConfigs, codec,
      request([[2, 'ac', [['retention.ms', '60000']]], [2, 'ac', [['retention.ms', 'x']]]]), v);
    expect(outcomes(res)).toEqual([[2, 'ac', 0], [2, 'ac', ErrorCode.INVALID_CONFIG]]);
  });
});

describe('IncrementalAlterConfigs', () => {
  const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3];
  const codec = {
    encodeRequest: IAC.encodeIncrementalAlterConfigsRequest,
    decodeResponse: IAC.decodeIncrementalAlterConfigsResponse,
  };
  const request = (resources: [type: number, name: string, ops: [string, number, string | null][]][],
    validateOnly = false) => ({
    ...IAC.defaultIncrementalAlterConfigsRequest(), validateOnly,
    resources: resources.map(([resourceType, resourceName, ops]) => ({
      ...IAC.defaultIncrementalAlterConfigsRequestAlterConfigsResource(), resourceType, resourceName,
      configs: ops.map(([name, configOperation, value]) => ({
        ...IAC.defaultIncrementalAlterConfigsRequestAlterableConfig(), name, configOperation, value })),
    })),
  });
  const codes = (res: IAC.IncrementalAlterConfigsResponse) => res.responses.map((r) => r.errorCode);

  it('sets and deletes single keys, keeping the other overrides', async () => {
    await createTopic('iac', 1, { 'retention.ms': '1000', 'retention.bytes': '4096' });
    const res = await call(incrementalAlterConfigs, codec, request([[2, 'iac', [
      ['max.message.bytes', SET, '3000'], ['retention.ms', DELETE, null], ['flush.ms', DELETE, null]]]]), 1);
    expect(codes(res)).toEqual([0]);
    const topic = fx.partitions.topic('iac')!;
    expect(topic.record.configs).toEqual({ 'retention.bytes': '4096', 'max.message.bytes': '3000' });
    expect(topic.config.messageBytesMax).toBe(3000);
    expect((await fx.metadata.topics.get('iac'))!.configs).toEqual(topic.record.configs);
  });

  it('appends to and subtracts from list configs, validating the result', async () => {
    await createTopic('iac');
    const res = await call(incrementalAlterConfigs, codec, request([
      [2, 'iac', [['cleanup.policy', APPEND, 'delete']]],
      [2, 'iac', [['cleanup.policy', APPEND, 'compact']]],
      [2, 'iac', [['cleanup.policy', SUBTRACT, 'delete']]],
      [2, 'iac', [['retention.ms', APPEND, '5']]],
      [2, 'iac', [['leader.replication.throttled.replicas', APPEND, '0:1,1:1']]],
    ]), 0);
    expect(codes(res)).toEqual([0, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_CONFIG, 0]);
    expect(res.responses[3]!.errorMessage)
      .toBe('Config value append is not allowed for config key: retention.ms');
    expect(fx.partitions.topic('iac')!.record.configs).toEqual({
      'cleanup.policy': 'delete', 'leader.replication.throttled.replicas': '0:1,1:1' });
  });

  it('refuses null values, unknown operations, duplicates, brokers and unknown topics', async () => {
    await createTopic('iac');
    const res = await call(incrementalAlterConfigs, codec, request([
      [2, 'iac', [['retention.ms', SET, null]]],
      [2, 'iac', [['retention.ms', 9, '5']]],
      [2, 'iac', [['retention.ms', SET, '5'], ['retention.ms', DELETE, null]]],
      [4, String(NODE_ID), [['num.partitions', SET, '5']]],
      [2, 'missing', [['retention.ms', SET, '5']]],
      [2, 'iac', [['retention.ms', SET, '-7']]],
      [2, 'iac', [['constructor', SET, '1']]],
      [2, 'iac', [['__proto__', APPEND, '1']]],
    ]), 1);
    expect(codes(res)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG]);
    expect(fx.partitions.topic('iac')!.record.configs).toEqual({});
  });

  it('changes nothing with validateOnly', async () => {
    await createTopic('iac');
    const res = await call(incrementalAlterConfigs, codec,
      request([[2, 'iac', [['retention.ms', SET, '5']]]], true), 1);
    expect(codes(res)).toEqual([0]);
    expect(fx.partitions.topic('iac')!.record.configs).toEqual({});
  });

  it.each(versions(incrementalAlterConfigs))('encodes at v%i', async (v) => {
    await createTopic('iac');
    const res = await call(incrementalAlterConfigs, codec,
      request([[2, 'iac', [['retention.ms', SET, '5']]], [2, 'zz', [['retention.ms', SET, '5']]]]), v);
    expect(res.responses.map((r) => [r.resourceName, r.errorCode])).toEqual([
      ['iac', 0], ['zz', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
  });
});

describe('CreatePartitions', () => {
  const codec = {
    encodeRequest: CP.encodeCreatePartitionsRequest, decodeResponse: CP.decodeCreatePartitionsResponse,
  };
  const request = (topics: [string, number][], validateOnly = false) => ({
    ...CP.defaultCreatePartitionsRequest(), timeoutMs: 1000, validateOnly,
    topics: topics.map(([name, count]) => ({
      ...CP.defaultCreatePartitionsRequestCreatePartitionsTopic(), name, count, assignments: null })),
  });
  const outcomes = (res: CP.CreatePartitionsResponse) =>
    res.results.map((r) => [r.name, r.errorCode, r.errorMessage]);

  it('raises the partition count, keeping existing data, and updates the gauge', async () => {
    const [p0] = await createTopic('cp');
    await produce(p0!, 3);
    const res = await call(createPartitions, codec, request([['cp', 3]]), 1);
    expect(outcomes(res)).toEqual([['cp', 0, null]]);
    const topic = fx.partitions.topic('cp')!;
    expect(topic.logs.map((l) => [l!.partition, l!.highWatermark])).toEqual([[0, 3], [1, 0], [2, 0]]);
    expect(topic.logs[0]).toBe(p0);
    expect((await fx.metadata.leadership.states(topic.record.topicId)).length).toBe(3);
    expect((await fx.services.metrics.partitions.get()).values[0]!.value).toBe(3);
  });

  it('refuses counts that do not raise it, unknown topics and duplicates; validateOnly', async () => {
    await createTopic('cp', 2);
    await createTopic('other', 1);
    const res = await call(createPartitions, codec, request([['cp', 3], ['missing', 4], ['cp', 4]]), 3);
    expect(outcomes(res)).toEqual([
      ['cp', ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.'],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The topic 'missing' does not exist."],
      ['cp', ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.'],
    ]);
    const single = await call(createPartitions, codec, request([['cp', 2]]), 0);
    expect(outcomes(single))
      .toEqual([['cp', ErrorCode.INVALID_PARTITIONS, 'Topic already has 2 partitions.']]);
    const lower = await call(createPartitions, codec, request([['cp', 1]]), 0);
    expect(outcomes(lower)).toEqual([['cp', ErrorCode.INVALID_PARTITIONS,
      'Topic currently has 2 partitions, which is higher than the requested 1.']]);
    const huge = await call(createPartitions, codec, request([['cp', 1_000_000]]), 0);
    expect(huge.results[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    const dry = await call(createPartitions, codec, request([['cp', 5], ['other', 4]], true), 2);
    expect(outcomes(dry)).toEqual([['cp', 0, null], ['other', 0, null]]);
    expect(fx.partitions.topic('cp')!.logs.length).toBe(2);
    expect(fx.partitions.topic('other')!.logs.length).toBe(1);
  });

  it.each(versions(createPartitions))('encodes at v%i', async (v) => {
    await createTopic('cp');
    const res = await call(createPartitions, codec, request([['cp', 2], ['missing', 2]]), v);
    expect(res.results.map((r) => r.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  });

  const assigned = (count: number, assignments: readonly (readonly number[])[], validateOnly: boolean) => ({
    ...request([['cp', count]], validateOnly), topics: [{ ...request([['cp', count]]).topics[0]!,
      assignments: assignments.map((brokerIds) =>
        ({ ...CP.defaultCreatePartitionsRequestCreatePartitionsAssignment(), brokerIds: [...brokerIds] })) }] });

  it('refuses replica assignments Kafka refuses (INVALID_REPLICA_ASSIGNMENT), and honours a valid one', async () => {
    await createTopic('cp', 1);
    const refused = [
      [[[NODE_ID + 1]], `The manual partition assignment includes broker ${NODE_ID + 1}, but no such broker is registered.`],
      [[[NODE_ID], [NODE_ID]], 'Attempted to add 1 additional partition(s), but only 2 assignment(s) were specified.'],
      [[[]], 'The manual partition assignment includes an empty replica list.'],
      [[[NODE_ID, NODE_ID]], `The manual partition assignment includes the broker ${NODE_ID} more than once.`],
    ] as const;
    for (const [assignments, message] of refused) {
      for (const validateOnly of [true, false]) {
        const res = await call(createPartitions, codec, assigned(2, assignments, validateOnly), 1);
        expect(outcomes(res)).toEqual([['cp', ErrorCode.INVALID_REPLICA_ASSIGNMENT, message]]);
      }
    }
    expect(fx.partitions.topic('cp')!.logs.length).toBe(1);
    const res = await call(createPartitions, codec, assigned(3, [[NODE_ID], [NODE_ID]], false), 1);
    expect(outcomes(res)).toEqual([['cp', ErrorCode.NONE, null]]);
    expect(fx.partitions.topic('cp')!.logs.map((l) => l?.partition)).toEqual([0, 1, 2]);
  });
});

describe('Dispatcher: a handler that fails', () => {
  const request = { ...CP.defaultCreatePartitionsRequest(), timeoutMs: 1000,
    topics: ['a', 'b'].map((name) => ({ ...CP.defaultCreatePartitionsRequestCreatePartitionsTopic(), name, count: 2 })) };

  async function dispatchWith(handler: ApiHandler, version: number): Promise<CP.CreatePartitionsResponse> {
    const dispatcher = new Dispatcher([handler], fx.services, log);
    const frame = encodeRequestFrame(37, version, 42, 'test', (w) => CP.encodeCreatePartitionsRequest(w, version, request));
    const out = await dispatcher.dispatch(frame.subarray(4), anonymousSession('/127.0.0.1'));
    expect(out).not.toBeInstanceOf(CloseConnection);
    const { correlationId, body } = decodeResponseFrame(37, version, Buffer.concat(out as Buffer[]).subarray(4));
    expect(correlationId).toBe(42);
    return CP.decodeCreatePartitionsResponse(body, version);
  }

  it.each(versions(createPartitions))('answers UNKNOWN_SERVER_ERROR for what was asked when it throws (v%i)', async (v) => {
    const res = await dispatchWith({ ...createPartitions, handle: () => { throw new Error('a bug'); } }, v);
    expect(res.results.map((r) => [r.name, r.errorCode])).toEqual(
      [['a', ErrorCode.UNKNOWN_SERVER_ERROR], ['b', ErrorCode.UNKNOWN_SERVER_ERROR]]);
  });

  it('answers from the request when its response cannot be encoded (a hole in a list)', async () => {
    const holed = { ...CP.defaultCreatePartitionsResponse(), results: new Array(2) };
    const res = await dispatchWith({ ...createPartitions, handle: () => holed }, 2);
    expect(res.results.map((r) => [r.name, r.errorCode])).toEqual(
      [['a', ErrorCode.UNKNOWN_SERVER_ERROR], ['b', ErrorCode.UNKNOWN_SERVER_ERROR]]);
  });

  it('closes the connection for an API with no error response', async () => {
    const { errorResponse: _none, ...bare } = createPartitions;
    const dispatcher = new Dispatcher([{ ...bare, handle: () => { throw new Error('a bug'); } }], fx.services, log);
    const frame = encodeRequestFrame(37, 0, 1, 'test', (w) => CP.encodeCreatePartitionsRequest(w, 0, request));
    expect(await dispatcher.dispatch(frame.subarray(4), anonymousSession('/127.0.0.1'))).toBeInstanceOf(CloseConnection);
  });
});

describe('DescribeCluster', () => {
  const codec = {
    encodeRequest: DC.encodeDescribeClusterRequest, decodeResponse: DC.decodeDescribeClusterResponse,
  };

  it.each(versions(describeCluster))('describes this broker as the cluster at v%i', async (v) => {
    const res = await call(describeCluster, codec, DC.defaultDescribeClusterRequest(), v);
    expect(res).toMatchObject({ errorCode: 0, errorMessage: null, clusterId: fx.metadata.clusterId(),
      controllerId: NODE_ID, endpointType: 1, clusterAuthorizedOperations: -2147483648,
      brokers: [{ brokerId: NODE_ID, host: 'broker.example', port: 19092, rack: null }] });
  });

  it('reports all cluster operations when asked (no authorizer)', async () => {
    const res = await call(describeCluster, codec,
      { ...DC.defaultDescribeClusterRequest(), includeClusterAuthorizedOperations: true }, 0);
    // Kafka's AclEntry.supportedOperations(CLUSTER): CREATE, ALTER, DESCRIBE, CLUSTER_ACTION,
    // DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE (not WRITE, 4, as this test said before).
    const ops = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);
    expect(res.clusterAuthorizedOperations).toBe(ops);
  });

  it('refuses the controllers endpoint type and unknown ones at v1', async () => {
    const endpoint = (endpointType: number) => ({ ...DC.defaultDescribeClusterRequest(), endpointType });
    const controllers = await call(describeCluster, codec, endpoint(2), 1);
    expect(controllers).toMatchObject({ errorCode: ErrorCode.MISMATCHED_ENDPOINT_TYPE, brokers: [] });
    const unknown = await call(describeCluster, codec, endpoint(5), 1);
    expect(unknown.errorCode).toBe(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
  });
});

describe('DescribeProducers', () => {
  const codec = {
    encodeRequest: DP.encodeDescribeProducersRequest, decodeResponse: DP.decodeDescribeProducersResponse,
  };
  const request = (name: string, partitionIndexes: number[]) => ({
    ...DP.defaultDescribeProducersRequest(),
    topics: [{ ...DP.defaultDescribeProducersRequestTopicRequest(), name, partitionIndexes }],
  });

  it.each(versions(describeProducers))('lists the idempotent producers at v%i', async (v) => {
    const [p0] = await createTopic('dp', 2);
    await produce(p0!, 5, { producerId: 42n, producerEpoch: 3, baseSequence: 0 });
    await produce(p0!, 5, { producerId: 42n, producerEpoch: 3, baseSequence: 5 });
    await produce(p0!, 2, { producerId: 43n, producerEpoch: 0, baseSequence: 0 });
    await produce(p0!, 2); // not idempotent: no producer state
    const res = await call(describeProducers, codec, request('dp', [0, 1, 2]), v);
    const [zero, one, two] = res.topics[0]!.partitions;
    expect(zero!.errorCode).toBe(0);
    expect([...zero!.activeProducers].sort((a, b) => Number(a.producerId - b.producerId))).toEqual([
      { producerId: 42n, producerEpoch: 3, lastSequence: 9, lastTimestamp: 1_700_000_000_000n,
        coordinatorEpoch: -1, currentTxnStartOffset: -1n, unknownTaggedFields: undefined },
      { producerId: 43n, producerEpoch: 0, lastSequence: 1, lastTimestamp: 1_700_000_000_000n,
        coordinatorEpoch: -1, currentTxnStartOffset: -1n, unknownTaggedFields: undefined },
    ]);
    expect(one).toMatchObject({ partitionIndex: 1, errorCode: 0, activeProducers: [] });
    expect(two).toMatchObject({ partitionIndex: 2, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    const missing = await call(describeProducers, codec, request('missing', [0]), v);
    expect(missing.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
