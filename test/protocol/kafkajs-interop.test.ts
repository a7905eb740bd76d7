/**
 * Interoperability with a codec nobody here wrote: kafkajs 2.2.4's own request encoders and
 * response decoders, called directly (no sockets, no broker).
 *
 * - Requests: kafkajs frames a request (header included) from the arguments its client would
 *   pass; decodeRequestFrame and the generated decoder must return those values, and consume the
 *   frame exactly.
 * - Responses: we encode a response frame; kafkajs's decode (then parse, as its Connection does)
 *   must return the values we put in, must read every byte we wrote (kafkajs ignores trailing
 *   bytes, so this is checked separately), and must raise the error kafkajs maps our error codes to.
 *
 * Record data is real: Produce requests carry kafkajs RecordBatches (plain, gzip, transactional,
 * and legacy message sets before v3), which our batch validator must accept; the Fetch test serves
 * batches kafkajs produced, as the broker would (offsets assigned in place), back to kafkajs's
 * consumer decoder.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRequestFrame, encodeResponseFrame } from '../../protocol/frame.js';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as ApiVersions from '../../protocol/generated/messages/api-versions.js';
import * as Fetch from '../../protocol/generated/messages/fetch.js';
import * as JoinGroup from '../../protocol/generated/messages/join-group.js';
import * as Metadata from '../../protocol/generated/messages/metadata.js';
import * as OffsetCommit from '../../protocol/generated/messages/offset-commit.js';
import * as OffsetFetch from '../../protocol/generated/messages/offset-fetch.js';
import * as Produce from '../../protocol/generated/messages/produce.js';
import * as SyncGroup from '../../protocol/generated/messages/sync-group.js';
import { API_CODECS } from '../../protocol/generated/registry.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import { CompressionCodec, patchBaseOffset, validateBatch } from '../../protocol/records/batch-header.js';
import { decodedRecords } from '../../protocol/primitives/record-set.js';

// ---------------------------------------------------------------------------------------------
// kafkajs, loaded from its sources. It ships no types for its protocol layer: these interfaces
// cover only what the tests touch.

const require = createRequire(import.meta.url);
function kafkajs<T>(path: string): T {
  return require(`kafkajs/src/${path}`) as T;
}

interface KjsEncoder {
  readonly buffer: Buffer;
}
interface KjsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<KjsEncoder>;
}
interface KjsResponse {
  decode(payload: Buffer): Promise<unknown>;
  parse(decoded: unknown): Promise<unknown>;
}
interface KjsDecoderInstance {
  buffer: Buffer;
  offset: number;
}
type KjsHeaders = Record<string, Buffer | Buffer[]>;
interface KjsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KjsHeaders;
}
interface KjsMessage {
  magicByte: number;
  key: Buffer | null;
  value: Buffer | null;
}

const createRequest = kafkajs<(args: { correlationId: number; clientId: string; request: KjsRequest })
  => Promise<KjsEncoder>>('protocol/request.js');
const KjsDecoder = kafkajs<new (buffer: Buffer) => KjsDecoderInstance>('protocol/decoder.js');
const decodeKjsRecordBatch = kafkajs<(d: KjsDecoderInstance) => Promise<{ records: KjsRecord[] }>>(
  'protocol/recordBatch/v0/decoder.js');
const decodeKjsMessageSet = kafkajs<(d: KjsDecoderInstance, size: number) => Promise<KjsMessage[]>>(
  'protocol/messageSet/decoder.js');
const { Types: KjsCompression } = kafkajs<{ Types: { None: number; GZIP: number } }>(
  'protocol/message/compression/index.js');
const { MemberMetadata, MemberAssignment } = kafkajs<{
  MemberMetadata: {
    encode(m: { version: number; topics: string[]; userData?: Buffer }): Buffer;
    decode(b: Buffer): { version: number; topics: string[]; userData: Buffer };
  };
  MemberAssignment: {
    encode(m: { version: number; assignment: Record<string, number[]>; userData?: Buffer }): Buffer;
    decode(b: Buffer): { version: number; assignment: Record<string, number[]>; userData: Buffer };
  };
}>('consumer/assignerProtocol.js');

/** kafkajs's builder for one API version, e.g. kjsRequest('produce', 7)({ acks, ... }). */
function kjsRequest(api: string, version: number): (args: object) => KjsRequest {
  return kafkajs(`protocol/requests/${api}/v${version}/request.js`);
}

function kjsResponse(api: string, version: number): KjsResponse {
  return kafkajs(`protocol/requests/${api}/v${version}/response.js`);
}

/**
 * kafkajs's decoders never check that they reached the end of a payload, so a response carrying
 * a field kafkajs does not expect (one from another version, say) would still decode. kafkajs
 * builds its Decoder over the very payload Buffer it is given; an accessor on the prototype's
 * `offset` (assigned in the constructor and by every read) shows how far that decoder got.
 */
const decoderWatch = {
  payload: null as Buffer | null,
  reached: -1,
  install(): void {
    Object.defineProperty(KjsDecoder.prototype, 'offset', {
      configurable: true,
      get(this: { watchedOffset: number }) {
        return this.watchedOffset;
      },
      set(this: { watchedOffset: number; buffer: Buffer }, value: number) {
        this.watchedOffset = value;
        if (this.buffer === decoderWatch.payload) decoderWatch.reached = value;
      },
    });
  },
  uninstall(): void {
    delete (KjsDecoder.prototype as { offset?: number }).offset;
  },
};

beforeAll(() => decoderWatch.install());
afterAll(() => decoderWatch.uninstall());

// ---------------------------------------------------------------------------------------------
// The two directions.

const CORRELATION_ID = 0x1234_5678;
const CLIENT_ID = 'ledgerstream-interop';

/** What the broker does with a kafkajs request: frame header, then the body, to the last byte. */
async function brokerDecodes<T>(request: KjsRequest, decode: (r: Reader, version: number) => T): Promise<T> {
  const sized = (await createRequest({ correlationId: CORRELATION_ID, clientId: CLIENT_ID, request })).buffer;
  expect(sized.readInt32BE(0)).toBe(sized.length - 4);
  const { header, body } = decodeRequestFrame(sized.subarray(4));
  expect(header).toMatchObject({
    requestApiKey: request.apiKey,
    requestApiVersion: request.apiVersion,
    correlationId: CORRELATION_ID,
    clientId: CLIENT_ID,
  });
  const message = decode(body, header.requestApiVersion);
  expect(body.remaining()).toBe(0);
  return message;
}

/** What kafkajs's Connection does with our response frame: size, correlation id, decode, parse. */
async function clientDecodes(apiKey: number, api: string, version: number,
  encodeBody: (w: Writer) => void): Promise<unknown> {
  const wire = Buffer.concat(encodeResponseFrame(apiKey, version, CORRELATION_ID, encodeBody));
  expect(wire.readInt32BE(0)).toBe(wire.length - 4);
  expect(wire.readInt32BE(4)).toBe(CORRELATION_ID);
  const payload = wire.subarray(8);
  const response = kjsResponse(api, version);
  decoderWatch.payload = payload;
  decoderWatch.reached = -1;
  const decoded = await response.decode(payload);
  decoderWatch.payload = null;
  expect(decoderWatch.reached, 'bytes kafkajs did not read').toBe(payload.length);
  return response.parse(decoded);
}

/** A generated message: the given fields over the generated defaults, as the broker builds them. */
function make<T>(defaults: () => T, fields: Partial<T>): T {
  return { ...defaults(), ...fields };
}

/** `fields` if the version has them, else nothing (encoders refuse values a version lacks). */
function since<T extends object>(version: number, first: number, fields: T): Partial<T> {
  return version >= first ? fields : {};
}

// ---------------------------------------------------------------------------------------------
// Fixtures: what a payments service might produce and consume.

/** A fixed CreateTime, so batches are reproducible. */
const T0 = 1_718_000_000_000;

interface KjsProduceMessage {
  key: Buffer | null;
  value: Buffer;
  timestamp: number;
  headers?: Record<string, string | string[]>;
}

const ORDERS: KjsProduceMessage[] = [
  {
    key: Buffer.from('order-1001'),
    value: Buffer.from(JSON.stringify({ id: 1001, total: '19.99', currency: 'EUR' })),
    timestamp: T0,
    headers: { 'trace-id': '4bf92f3577b34da6', source: ['web', 'retry'] },
  },
  { key: null, value: Buffer.from('keyless, partitioned round-robin'), timestamp: T0 + 5 },
  { key: Buffer.from('order-1002'), value: Buffer.alloc(3000, 'x'), timestamp: T0 + 17, headers: { 'trace-id': 'e7ad6b7169203331' } },
];

const REFUNDS: KjsProduceMessage[] = [
  { key: Buffer.from('refund-77'), value: Buffer.from('{"order":1001}'), timestamp: T0 + 100, headers: { reason: 'damaged' } },
  { key: Buffer.from('refund-78'), value: Buffer.from('{"order":998}'), timestamp: T0 + 101 },
];

/** The headers kafkajs's consumer hands back for a produced message: values as Buffers. */
function kjsHeaders(headers: KjsProduceMessage['headers']): KjsHeaders {
  const out: KjsHeaders = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    out[k] = Array.isArray(v) ? v.map((s) => Buffer.from(s)) : Buffer.from(v);
  }
  return out;
}

/** The records a kafkajs consumer should see for `messages` stored from `baseOffset` on. */
function expectedRecords(messages: KjsProduceMessage[], baseOffset: number): Partial<KjsRecord>[] {
  return messages.map((m, i) => ({
    offset: String(baseOffset + i),
    timestamp: String(m.timestamp),
    key: m.key,
    value: m.value,
    headers: kjsHeaders(m.headers),
  }));
}

// ---------------------------------------------------------------------------------------------

describe('ApiVersions', () => {
  it.each([0, 1, 2])('v%i request (empty body) decodes', async (v) => {
    const message = await brokerDecodes(kjsRequest('apiVersions', v)({}), ApiVersions.decodeApiVersionsRequest);
    expect(message).toEqual(ApiVersions.defaultApiVersionsRequest());
  });

  /** What the broker advertises: every API in the registry. */
  const advertised = [...API_CODECS.values()].map((c) =>
    ({ apiKey: c.apiKey, minVersion: c.minVersion, maxVersion: c.maxVersion }));

  it.each([0, 1, 2])('v%i response: kafkajs reads every advertised API version', async (v) => {
    const response = make(ApiVersions.defaultApiVersionsResponse, {
      errorCode: ErrorCode.NONE,
      apiKeys: advertised.map((a) => make(ApiVersions.defaultApiVersionsResponseApiVersion, a)),
      ...since(v, 1, { throttleTimeMs: 12 }),
    });
    const parsed = await clientDecodes(ApiKey.ApiVersions, 'apiVersions', v,
      (w) => ApiVersions.encodeApiVersionsResponse(w, v, response));
    // v2 is the first version where kafkajs treats the throttle time as the client's to honour.
    const throttle = v === 0 ? {} : v === 1 ? { throttleTime: 12 } : { throttleTime: 0, clientSideThrottleTime: 12 };
    expect(parsed).toEqual({ errorCode: 0, apiVersions: advertised, ...throttle });
  });

  it('v0 response with UNSUPPORTED_VERSION makes kafkajs fall back, as it does with Kafka', async () => {
    const response = make(ApiVersions.defaultApiVersionsResponse, {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: [make(ApiVersions.defaultApiVersionsResponseApiVersion, { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 })],
    });
    await expect(clientDecodes(ApiKey.ApiVersions, 'apiVersions', 0,
      (w) => ApiVersions.encodeApiVersionsResponse(w, 0, response)))
      .rejects.toMatchObject({ name: 'KafkaJSProtocolError', type: 'UNSUPPORTED_VERSION' });
  });
});

describe('Metadata', () => {
  it.each([0, 1, 4, 5, 6])('v%i request for two topics', async (v) => {
    const message = await brokerDecodes(
      kjsRequest('metadata', v)({ topics: ['orders', 'payments.refunds'], allowAutoTopicCreation: false }),
      Metadata.decodeMetadataRequest);
    expect(message).toMatchObject({
      topics: [{ name: 'orders' }, { name: 'payments.refunds' }],
      allowAutoTopicCreation: v >= 4 ? false : true,
    });
  });

  it.each([1, 4, 6])('v%i request for all topics is a null array', async (v) => {
    const message = await brokerDecodes(kjsRequest('metadata', v)({ topics: [] }), Metadata.decodeMetadataRequest);
    expect(message.topics).toBeNull();
  });

  it.each([0, 1, 2, 5, 6])('v%i response: brokers, controller, topics and replicas', async (v) => {
    const response = make(Metadata.defaultMetadataResponse, {
      ...since(v, 3, { throttleTimeMs: 7 }),
      brokers: [
        make(Metadata.defaultMetadataResponseMetadataResponseBroker,
          { nodeId: 1, host: 'broker-1.ledgerstream.internal', port: 9092, ...since(v, 1, { rack: 'use1-az1' }) }),
        make(Metadata.defaultMetadataResponseMetadataResponseBroker,
          { nodeId: 2, host: 'broker-2.ledgerstream.internal', port: 19092, rack: null }),
      ],
      ...since(v, 2, { clusterId: 'lsc-9f3e2a' }),
      ...since(v, 1, { controllerId: 2 }),
      topics: [
        make(Metadata.defaultMetadataResponseMetadataResponseTopic, {
          name: 'orders',
          ...since(v, 1, { isInternal: false }),
          partitions: [0, 1].map((p) => make(Metadata.defaultMetadataResponseMetadataResponsePartition, {
            partitionIndex: p,
            leaderId: p + 1,
            replicaNodes: [p + 1, 2 - p],
            isrNodes: [p + 1],
            ...since(v, 5, { offlineReplicas: [2 - p] }),
          })),
        }),
        make(Metadata.defaultMetadataResponseMetadataResponseTopic, { name: '__consumer_offsets', ...since(v, 1, { isInternal: true }) }),
      ],
    });
    const parsed = await clientDecodes(ApiKey.Metadata, 'metadata', v, (w) => Metadata.encodeMetadataResponse(w, v, response));

    const rack = (r: string | null) => (v >= 1 ? { rack: r } : {});
    const partition = (p: number) => ({
      partitionErrorCode: 0, partitionId: p, leader: p + 1, replicas: [p + 1, 2 - p], isr: [p + 1],
      ...since(v, 5, { offlineReplicas: [2 - p] }),
    });
    expect(parsed).toEqual({
      ...(v === 5 ? { throttleTime: 7 } : v === 6 ? { throttleTime: 0, clientSideThrottleTime: 7 } : {}),
      brokers: [
        { nodeId: 1, host: 'broker-1.ledgerstream.internal', port: 9092, ...rack('use1-az1') },
        { nodeId: 2, host: 'broker-2.ledgerstream.internal', port: 19092, ...rack(null) },
      ],
      ...since(v, 2, { clusterId: 'lsc-9f3e2a' }),
      ...since(v, 1, { controllerId: 2 }),
      topicMetadata: [
        { topicErrorCode: 0, topic: 'orders', ...since(v, 1, { isInternal: false }), partitionMetadata: [partition(0), partition(1)] },
        { topicErrorCode: 0, topic: '__consumer_offsets', ...since(v, 1, { isInternal: true }), partitionMetadata: [] },
      ],
    });
  });

  it('v1 response with UNKNOWN_TOPIC_OR_PARTITION reaches kafkajs as that error', async () => {
    const response = make(Metadata.defaultMetadataResponse, {
      topics: [make(Metadata.defaultMetadataResponseMetadataResponseTopic,
        { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: 'no-such-topic' })],
    });
    await expect(clientDecodes(ApiKey.Metadata, 'metadata', 1, (w) => Metadata.encodeMetadataResponse(w, 1, response)))
      .rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true });
  });
});

describe('Produce', () => {
  /** A kafkajs Produce request to orders/0 and orders/2 and payments.refunds/1. */
  function produceArgs(compression: number, transactional: boolean): object {
    return {
      acks: -1,
      timeout: 30_000,
      compression,
      ...(transactional ? { transactionalId: 'payments-tx-1', producerId: '4242', producerEpoch: 3 } : {}),
      topicData: [
        { topic: 'orders', partitions: [{ partition: 0, firstSequence: 10, messages: ORDERS }, { partition: 2, firstSequence: 0, messages: ORDERS.slice(0, 1) }] },
        { topic: 'payments.refunds', partitions: [{ partition: 1, firstSequence: 0, messages: REFUNDS }] },
      ],
    };
  }

  const produced = [['orders', 0, ORDERS], ['orders', 2, ORDERS.slice(0, 1)], ['payments.refunds', 1, REFUNDS]] as const;

  it.each([
    [3, 'plain', false],
    [5, 'plain', true],
    [7, 'plain', false],
    [7, 'gzip', true],
  ] as const)('v%i request with %s record batches (transactional: %s)', async (v, compression, transactional) => {
    const codec = compression === 'gzip' ? KjsCompression.GZIP : KjsCompression.None;
    const message = await brokerDecodes(kjsRequest('produce', v)(produceArgs(codec, transactional)), Produce.decodeProduceRequest);
    expect(message).toMatchObject({
      transactionalId: transactional ? 'payments-tx-1' : null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [
        { name: 'orders', partitionData: [{ index: 0 }, { index: 2 }] },
        { name: 'payments.refunds', partitionData: [{ index: 1 }] },
      ],
    });
    const partitions = message.topicData.flatMap((t) => t.partitionData);
    for (const [i, [, , messages]] of produced.entries()) {
      const records = decodedRecords(partitions[i]!.records)!;
      // Exactly one whole, CRC-valid batch: the records field was cut at the right bytes.
      const check = validateBatch(records, 0, 'client');
      expect(check).toMatchObject({ ok: true, sizeBytes: records.length });
      if (!check.ok) continue;
      expect(check.header).toMatchObject({
        recordCount: messages.length,
        compression: compression === 'gzip' ? CompressionCodec.gzip : CompressionCodec.none,
        isTransactional: transactional,
        producerId: transactional ? 4242n : -1n,
        baseTimestamp: T0 + (messages === REFUNDS ? 100 : 0),
      });
      const batch = await decodeKjsRecordBatch(new KjsDecoder(records));
      expect(batch.records).toMatchObject(expectedRecords(messages, 0));
    }
  });

  it.each([0, 2])('v%i request with a legacy message set', async (v) => {
    const message = await brokerDecodes(kjsRequest('produce', v)(produceArgs(KjsCompression.None, false)), Produce.decodeProduceRequest);
    expect(message).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30_000 });
    const records = decodedRecords(message.topicData[0]!.partitionData[0]!.records)!;
    const messages = await decodeKjsMessageSet(new KjsDecoder(records), records.length);
    expect(messages).toMatchObject(ORDERS.map((m) => ({ magicByte: v === 0 ? 0 : 1, key: m.key, value: m.value })));
  });

  const partitionResponse = (v: number, index: number, errorCode: number, baseOffset: bigint) =>
    make(Produce.defaultProduceResponsePartitionProduceResponse, {
      index, errorCode, baseOffset, logAppendTimeMs: -1n, ...since(v, 5, { logStartOffset: 100n }),
    });

  it.each([3, 5, 7])('v%i response: base offsets per partition', async (v) => {
    const response = make(Produce.defaultProduceResponse, {
      responses: [
        make(Produce.defaultProduceResponseTopicProduceResponse, {
          name: 'orders',
          partitionResponses: [partitionResponse(v, 0, 0, 1000n), partitionResponse(v, 2, 0, 9_007_199_254_740_993n)],
        }),
      ],
      throttleTimeMs: 25,
    });
    const parsed = await clientDecodes(ApiKey.Produce, 'produce', v, (w) => Produce.encodeProduceResponse(w, v, response));
    const partition = (p: number, baseOffset: string) =>
      ({ partition: p, errorCode: 0, baseOffset, logAppendTime: '-1', ...since(v, 5, { logStartOffset: '100' }) });
    expect(parsed).toEqual({
      topics: [{ topicName: 'orders', partitions: [partition(0, '1000'), partition(2, '9007199254740993')] }],
      ...(v >= 6 ? { throttleTime: 0, clientSideThrottleTime: 25 } : { throttleTime: 25 }),
    });
  });

  it('v7 response with NOT_LEADER_OR_FOLLOWER is retriable in kafkajs', async () => {
    const response = make(Produce.defaultProduceResponse, {
      responses: [make(Produce.defaultProduceResponseTopicProduceResponse, {
        name: 'orders', partitionResponses: [partitionResponse(7, 0, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n)],
      })],
    });
    await expect(clientDecodes(ApiKey.Produce, 'produce', 7, (w) => Produce.encodeProduceResponse(w, 7, response)))
      .rejects.toMatchObject({ type: 'NOT_LEADER_FOR_PARTITION', retriable: true });
  });
});

describe('Fetch', () => {
  const kjsFetchArgs = {
    replicaId: -1,
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: 52_428_800,
    isolationLevel: 1,
    sessionId: 17,
    sessionEpoch: 3,
    rackId: 'use1-az2',
    forgottenTopics: [{ topic: 'retired', partitions: [4, 5] }],
    topics: [
      { topic: 'orders', partitions: [
        { partition: 0, fetchOffset: '1234567890123', logStartOffset: '42', currentLeaderEpoch: 7, maxBytes: 1_048_576 },
        { partition: 3, fetchOffset: '0', logStartOffset: '0', currentLeaderEpoch: 7, maxBytes: 1_048_576 },
      ] },
      { topic: 'payments.refunds', partitions: [{ partition: 1, fetchOffset: '9007199254740993', maxBytes: 65_536 }] },
    ],
  };

  it.each([0, 4, 7, 11])('v%i request', async (v) => {
    const message = await brokerDecodes(kjsRequest('fetch', v)(kjsFetchArgs), Fetch.decodeFetchRequest);
    const partition = (p: number, fetchOffset: bigint, partitionMaxBytes: number, logStartOffset: bigint, epoch: number) => ({
      partition: p, fetchOffset, partitionMaxBytes,
      ...since(v, 5, { logStartOffset }),
      ...since(v, 9, { currentLeaderEpoch: epoch }),
    });
    expect(message).toMatchObject({
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      ...since(v, 3, { maxBytes: 52_428_800 }),
      ...since(v, 4, { isolationLevel: 1 }),
      ...since(v, 7, { sessionId: 17, sessionEpoch: 3, forgottenTopicsData: [{ topic: 'retired', partitions: [4, 5] }] }),
      ...since(v, 11, { rackId: 'use1-az2' }),
      topics: [
        { topic: 'orders', partitions: [partition(0, 1_234_567_890_123n, 1_048_576, 42n, 7), partition(3, 0n, 1_048_576, 0n, 7)] },
        // kafkajs's defaults for the fields this partition leaves out: logStartOffset and epoch -1.
        { topic: 'payments.refunds', partitions: [partition(1, 9_007_199_254_740_993n, 65_536, -1n, -1)] },
      ],
    });
  });

  /** The batch a kafkajs producer sends for `messages`, as the broker receives and stores it. */
  async function producedBatch(messages: KjsProduceMessage[], compression: number): Promise<Buffer> {
    const request = kjsRequest('produce', 7)({
      acks: 1, timeout: 1000, compression, topicData: [{ topic: 'orders', partitions: [{ partition: 0, messages }] }],
    });
    const message = await brokerDecodes(request, Produce.decodeProduceRequest);
    // Copied, as the log keeps it past the request buffer's life.
    return Buffer.from(decodedRecords(message.topicData[0]!.partitionData[0]!.records)!);
  }

  it.each([4, 7, 11])('v%i response: batches kafkajs produced come back to its consumer', async (v) => {
    // Two appends to orders/0 (one gzip), offsets assigned in place as the log does on append.
    const first = await producedBatch(ORDERS, KjsCompression.None);
    const second = await producedBatch(REFUNDS, KjsCompression.GZIP);
    patchBaseOffset(first, 0, 1000);
    patchBaseOffset(second, 0, 1000 + ORDERS.length);
    for (const batch of [first, second]) expect(validateBatch(batch, 0, 'log')).toMatchObject({ ok: true });
    // A fetch cut at maxBytes ends in a partial batch, which consumers must skip.
    const partial = first.subarray(0, 70);
    const log = Buffer.concat([first, second, partial]);

    const partitionData = (fields: Partial<Fetch.FetchResponsePartitionData>) =>
      make(Fetch.defaultFetchResponsePartitionData, {
        ...since(v, 4, { lastStableOffset: fields.highWatermark ?? 0n, abortedTransactions: [] }),
        ...since(v, 5, { logStartOffset: 0n }),
        ...fields,
      });
    const response = make(Fetch.defaultFetchResponse, {
      throttleTimeMs: 3,
      ...since(v, 7, { errorCode: 0, sessionId: 17 }),
      responses: [make(Fetch.defaultFetchResponseFetchableTopicResponse, {
        topic: 'orders',
        partitions: [
          partitionData({
            partitionIndex: 0,
            highWatermark: 1005n,
            abortedTransactions: [make(Fetch.defaultFetchResponseAbortedTransaction, { producerId: 4242n, firstOffset: 990n })],
            ...since(v, 11, { preferredReadReplica: -1 }),
            records: log,
          }),
          partitionData({ partitionIndex: 1, highWatermark: 0n, records: null }),
        ],
      })],
    });
    const parsed = await clientDecodes(ApiKey.Fetch, 'fetch', v, (w) => Fetch.encodeFetchResponse(w, v, response));

    expect(parsed).toMatchObject({
      ...(v >= 11 ? { throttleTime: 0, clientSideThrottleTime: 3 } : { throttleTime: 3 }),
      ...since(v, 7, { errorCode: 0, sessionId: 17 }),
      responses: [{
        topicName: 'orders',
        partitions: [
          {
            partition: 0,
            errorCode: 0,
            highWatermark: '1005',
            lastStableOffset: '1005',
            ...since(v, 5, { lastStartOffset: '0' }),
            abortedTransactions: [{ producerId: '4242', firstOffset: '990' }],
            ...since(v, 11, { preferredReadReplica: -1 }),
            messages: [...expectedRecords(ORDERS, 1000), ...expectedRecords(REFUNDS, 1003)],
          },
          { partition: 1, errorCode: 0, highWatermark: '0', abortedTransactions: [], messages: [] },
        ],
      }],
    });
    // toMatchObject lets longer arrays pass only element by element; pin the count too.
    const messages = (parsed as { responses: { partitions: { messages: unknown[] }[] }[] }).responses[0]!.partitions[0]!.messages;
    expect(messages).toHaveLength(ORDERS.length + REFUNDS.length);
  });

  it('v11 response with OFFSET_OUT_OF_RANGE names the partition in kafkajs', async () => {
    const response = make(Fetch.defaultFetchResponse, {
      responses: [make(Fetch.defaultFetchResponseFetchableTopicResponse, {
        topic: 'orders',
        partitions: [make(Fetch.defaultFetchResponsePartitionData,
          { partitionIndex: 3, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, abortedTransactions: null })],
      })],
    });
    await expect(clientDecodes(ApiKey.Fetch, 'fetch', 11, (w) => Fetch.encodeFetchResponse(w, 11, response)))
      .rejects.toMatchObject({ name: 'KafkaJSOffsetOutOfRange', type: 'OFFSET_OUT_OF_RANGE', topic: 'orders', partition: 3 });
  });
});

describe('JoinGroup', () => {
  const subscription = MemberMetadata.encode({ version: 1, topics: ['orders', 'payments.refunds'], userData: Buffer.from('az=use1-az1') });
  const legacySubscription = MemberMetadata.encode({ version: 0, topics: ['orders'] });

  const assignedId = 'payments-svc-8c1d3f0e-6a2b-4f7e-9d55-0b7c2a9e4d11';
  it.each([
    [0, 'a new member', ''],
    [1, 'a new member', ''],
    [2, 'a member rejoining', assignedId],
    [5, 'a static member rejoining', assignedId],
  ])('v%i request from %s', async (v, _who, memberId) => {
    const request = kjsRequest('joinGroup', v)({
      groupId: 'payments-consumers',
      sessionTimeout: 30_000,
      rebalanceTimeout: 60_000,
      memberId,
      groupInstanceId: 'payments-host-7',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: subscription }, { name: 'LegacyAssigner', metadata: legacySubscription }],
    });
    const message = await brokerDecodes(request, JoinGroup.decodeJoinGroupRequest);
    expect(message).toMatchObject({
      groupId: 'payments-consumers',
      sessionTimeoutMs: 30_000,
      ...since(v, 1, { rebalanceTimeoutMs: 60_000 }),
      memberId,
      groupInstanceId: v >= 5 ? 'payments-host-7' : null,
      protocolType: 'consumer',
      protocols: [{ name: 'RoundRobinAssigner', metadata: subscription }, { name: 'LegacyAssigner', metadata: legacySubscription }],
    });
    expect(MemberMetadata.decode(message.protocols[0]!.metadata).topics).toEqual(['orders', 'payments.refunds']);
  });

  const members = (v: number) => [
    make(JoinGroup.defaultJoinGroupResponseJoinGroupResponseMember,
      { memberId: 'm-1', ...since(v, 5, { groupInstanceId: 'payments-host-7' }), metadata: subscription }),
    make(JoinGroup.defaultJoinGroupResponseJoinGroupResponseMember, { memberId: 'm-2', metadata: legacySubscription }),
  ];

  it.each([0, 2, 5])('v%i response: the leader gets every member subscription', async (v) => {
    const response = make(JoinGroup.defaultJoinGroupResponse, {
      ...since(v, 2, { throttleTimeMs: 4 }),
      generationId: 5,
      protocolName: 'RoundRobinAssigner',
      leader: 'm-1',
      memberId: 'm-1',
      members: members(v),
    });
    const parsed = await clientDecodes(ApiKey.JoinGroup, 'joinGroup', v, (w) => JoinGroup.encodeJoinGroupResponse(w, v, response));
    expect(parsed).toEqual({
      ...(v >= 3 ? { throttleTime: 0, clientSideThrottleTime: 4 } : v === 2 ? { throttleTime: 4 } : {}),
      errorCode: 0,
      generationId: 5,
      groupProtocol: 'RoundRobinAssigner',
      leaderId: 'm-1',
      memberId: 'm-1',
      members: [
        { memberId: 'm-1', ...since(v, 5, { groupInstanceId: 'payments-host-7' }), memberMetadata: subscription },
        { memberId: 'm-2', ...since(v, 5, { groupInstanceId: null }), memberMetadata: legacySubscription },
      ],
    });
  });

  it('v5 response with MEMBER_ID_REQUIRED hands kafkajs the member id to rejoin with (KIP-394)', async () => {
    const response = make(JoinGroup.defaultJoinGroupResponse, {
      errorCode: ErrorCode.MEMBER_ID_REQUIRED, generationId: -1, memberId: 'payments-svc-0b7c2a9e', leader: '',
    });
    await expect(clientDecodes(ApiKey.JoinGroup, 'joinGroup', 5, (w) => JoinGroup.encodeJoinGroupResponse(w, 5, response)))
      .rejects.toMatchObject({ name: 'KafkaJSMemberIdRequired', type: 'MEMBER_ID_REQUIRED', memberId: 'payments-svc-0b7c2a9e' });
  });
});

describe('SyncGroup', () => {
  const assignment = (partitions: Record<string, number[]>) =>
    MemberAssignment.encode({ version: 1, assignment: partitions, userData: Buffer.from('gen-5') });
  const m1 = assignment({ orders: [0, 2], 'payments.refunds': [1] });
  const m2 = assignment({ orders: [1, 3] });

  it.each([0, 1, 3])('v%i request: the leader sends every assignment', async (v) => {
    const request = kjsRequest('syncGroup', v)({
      groupId: 'payments-consumers',
      generationId: 5,
      memberId: 'm-1',
      groupInstanceId: 'payments-host-7',
      groupAssignment: [{ memberId: 'm-1', memberAssignment: m1 }, { memberId: 'm-2', memberAssignment: m2 }],
    });
    const message = await brokerDecodes(request, SyncGroup.decodeSyncGroupRequest);
    expect(message).toMatchObject({
      groupId: 'payments-consumers',
      generationId: 5,
      memberId: 'm-1',
      groupInstanceId: v >= 3 ? 'payments-host-7' : null,
      assignments: [{ memberId: 'm-1', assignment: m1 }, { memberId: 'm-2', assignment: m2 }],
    });
  });

  it.each([0, 1, 3])('v%i response: the member gets its assignment', async (v) => {
    const response = make(SyncGroup.defaultSyncGroupResponse, { ...since(v, 1, { throttleTimeMs: 9 }), assignment: m2 });
    const parsed = await clientDecodes(ApiKey.SyncGroup, 'syncGroup', v, (w) => SyncGroup.encodeSyncGroupResponse(w, v, response));
    expect(parsed).toEqual({
      ...(v >= 2 ? { throttleTime: 0, clientSideThrottleTime: 9 } : v === 1 ? { throttleTime: 9 } : {}),
      errorCode: 0,
      memberAssignment: m2,
    });
    const { memberAssignment } = parsed as { memberAssignment: Buffer };
    expect(MemberAssignment.decode(memberAssignment).assignment).toEqual({ orders: [1, 3] });
  });

  it('v3 response with REBALANCE_IN_PROGRESS reaches kafkajs as that error', async () => {
    const response = make(SyncGroup.defaultSyncGroupResponse, { errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    await expect(clientDecodes(ApiKey.SyncGroup, 'syncGroup', 3, (w) => SyncGroup.encodeSyncGroupResponse(w, 3, response)))
      .rejects.toMatchObject({ type: 'REBALANCE_IN_PROGRESS' });
  });
});

describe('OffsetCommit', () => {
  it.each([0, 1, 2, 5])('v%i request', async (v) => {
    const request = kjsRequest('offsetCommit', v)({
      groupId: 'payments-consumers',
      groupGenerationId: 5,
      memberId: 'm-1',
      retentionTime: 86_400_000,
      topics: [{ topic: 'orders', partitions: [
        { partition: 0, offset: '1005', timestamp: T0 },
        { partition: 2, offset: '9007199254740993', metadata: 'checkpoint-7', timestamp: T0 + 1 },
      ] }],
    });
    const message = await brokerDecodes(request, OffsetCommit.decodeOffsetCommitRequest);
    expect(message).toMatchObject({
      groupId: 'payments-consumers',
      ...since(v, 1, { generationIdOrMemberEpoch: 5, memberId: 'm-1' }),
      ...(v >= 2 && v <= 4 ? { retentionTimeMs: 86_400_000n } : {}),
      topics: [{ name: 'orders', partitions: [
        { partitionIndex: 0, committedOffset: 1005n, committedMetadata: null, ...(v === 1 ? { commitTimestamp: BigInt(T0) } : {}) },
        { partitionIndex: 2, committedOffset: 9_007_199_254_740_993n, committedMetadata: 'checkpoint-7',
          ...(v === 1 ? { commitTimestamp: BigInt(T0 + 1) } : {}) },
      ] }],
    });
  });

  it.each([0, 2, 3, 5])('v%i response', async (v) => {
    const response = make(OffsetCommit.defaultOffsetCommitResponse, {
      ...since(v, 3, { throttleTimeMs: 2 }),
      topics: [make(OffsetCommit.defaultOffsetCommitResponseOffsetCommitResponseTopic, {
        name: 'orders',
        partitions: [0, 2].map((p) => make(OffsetCommit.defaultOffsetCommitResponseOffsetCommitResponsePartition, { partitionIndex: p })),
      })],
    });
    const parsed = await clientDecodes(ApiKey.OffsetCommit, 'offsetCommit', v,
      (w) => OffsetCommit.encodeOffsetCommitResponse(w, v, response));
    expect(parsed).toEqual({
      ...(v >= 4 ? { throttleTime: 0, clientSideThrottleTime: 2 } : v === 3 ? { throttleTime: 2 } : {}),
      responses: [{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }, { partition: 2, errorCode: 0 }] }],
    });
  });
});

describe('OffsetFetch', () => {
  it.each([1, 3, 4])('v%i request for two partitions', async (v) => {
    const request = kjsRequest('offsetFetch', v)({
      groupId: 'payments-consumers',
      topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 2 }] }],
    });
    const message = await brokerDecodes(request, OffsetFetch.decodeOffsetFetchRequest);
    expect(message).toMatchObject({ groupId: 'payments-consumers', topics: [{ name: 'orders', partitionIndexes: [0, 2] }] });
  });

  it.each([3, 4])('v%i request for all topics is a null array', async (v) => {
    const message = await brokerDecodes(kjsRequest('offsetFetch', v)({ groupId: 'g', topics: [] }),
      OffsetFetch.decodeOffsetFetchRequest);
    expect(message.topics).toBeNull();
  });

  it.each([1, 2, 3, 4])('v%i response: committed offsets and metadata', async (v) => {
    const partition = (p: number, committedOffset: bigint, metadata: string | null) =>
      make(OffsetFetch.defaultOffsetFetchResponseOffsetFetchResponsePartition, { partitionIndex: p, committedOffset, metadata });
    const response = make(OffsetFetch.defaultOffsetFetchResponse, {
      ...since(v, 3, { throttleTimeMs: 1 }),
      topics: [make(OffsetFetch.defaultOffsetFetchResponseOffsetFetchResponseTopic, {
        name: 'orders',
        // -1: nothing committed yet, which kafkajs resolves through the reset policy.
        partitions: [partition(0, 1005n, ''), partition(2, 9_007_199_254_740_993n, 'checkpoint-7'), partition(3, -1n, null)],
      })],
    });
    const parsed = await clientDecodes(ApiKey.OffsetFetch, 'offsetFetch', v,
      (w) => OffsetFetch.encodeOffsetFetchResponse(w, v, response));
    expect(parsed).toEqual({
      ...(v >= 4 ? { throttleTime: 0, clientSideThrottleTime: 1 } : v === 3 ? { throttleTime: 1 } : {}),
      responses: [{ topic: 'orders', partitions: [
        { partition: 0, offset: '1005', metadata: '', errorCode: 0 },
        { partition: 2, offset: '9007199254740993', metadata: 'checkpoint-7', errorCode: 0 },
        { partition: 3, offset: '-1', metadata: null, errorCode: 0 },
      ] }],
      ...since(v, 2, { errorCode: 0 }),
    });
  });
});
