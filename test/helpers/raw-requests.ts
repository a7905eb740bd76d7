/**
 * Raw requests encoded with the broker's own codecs, for tests that must read what no client
 * library shows (throttle_time_ms, a partition's error code and record bytes, the ApiVersions
 * ranges) or send what no client would (a corrupt batch). Each sends one request on a RawClient
 * and decodes its answer; the broker closing the connection instead is an error.
 */
import {
  type ApiVersionsResponse, decodeApiVersionsResponse, defaultApiVersionsRequest,
  encodeApiVersionsRequest,
} from '../../protocol/generated/messages/api-versions.js';
import {
  decodeCreateTopicsResponse, defaultCreateTopicsRequest, defaultCreateTopicsRequestCreatableTopic,
  encodeCreateTopicsRequest,
} from '../../protocol/generated/messages/create-topics.js';
import {
  decodeFetchResponse, defaultFetchRequest, defaultFetchRequestFetchPartition,
  defaultFetchRequestFetchTopic, defaultFetchRequestForgottenTopic, encodeFetchRequest,
  type FetchRequest, type FetchResponse,
} from '../../protocol/generated/messages/fetch.js';
import {
  decodeMetadataResponse, defaultMetadataRequest, defaultMetadataRequestMetadataRequestTopic,
  encodeMetadataRequest,
} from '../../protocol/generated/messages/metadata.js';
import {
  decodeProduceResponse, defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import {
  decodeWriteTxnMarkersResponse, defaultWriteTxnMarkersRequest,
  defaultWriteTxnMarkersRequestWritableTxnMarker as markerIn,
  defaultWriteTxnMarkersRequestWritableTxnMarkerTopic as markerTopicIn,
  encodeWriteTxnMarkersRequest,
} from '../../protocol/generated/messages/write-txn-markers.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { encodeBatch } from '../../protocol/records/record.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { RawClient } from './raw-client.js';

const ANSWER_MS_MAX = 60_000;
const FETCH_BYTES_MAX = 50 * 1024 * 1024;

/** The body of the next answer, which must be to `apiKey` at `version`. */
export async function answer(client: RawClient, apiKey: number, version: number):
  Promise<Reader> {
  const frame = await client.readFrame(ANSWER_MS_MAX);
  if (frame === null) {
    throw new Error(`the broker closed the connection instead of answering ${apiKey}`);
  }
  return decodeResponseFrame(apiKey, version, frame).body;
}

/** ApiVersions v3. */
export async function apiVersions(client: RawClient): Promise<ApiVersionsResponse> {
  client.send(18, 3, (w) => encodeApiVersionsRequest(w, 3, defaultApiVersionsRequest()));
  return decodeApiVersionsResponse(await answer(client, 18, 3), 3);
}

/** ApiVersions v3, answered: how long after sending it the answer came (ms). */
export async function apiVersionsAfterMs(client: RawClient): Promise<number> {
  const startMs = performance.now();
  await apiVersions(client);
  return performance.now() - startMs;
}

/** Metadata v12 of one topic (not created if missing): its topic id. */
export async function topicIdOf(client: RawClient, topic: string): Promise<string> {
  const req = { ...defaultMetadataRequest(), allowAutoTopicCreation: false,
    topics: [{ ...defaultMetadataRequestMetadataRequestTopic(), name: topic }] };
  client.send(3, 12, (w) => encodeMetadataRequest(w, 12, req));
  return decodeMetadataResponse(await answer(client, 3, 12), 12).topics[0]!.topicId;
}

/** CreateTopics v5 of one topic; returns its error code. */
export async function createTopic(client: RawClient, name: string, partitions = 1):
  Promise<number> {
  const req = defaultCreateTopicsRequest();
  req.topics = [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions: partitions }];
  client.send(19, 5, (w) => encodeCreateTopicsRequest(w, 5, req));
  return decodeCreateTopicsResponse(await answer(client, 19, 5), 5).topics[0]!.errorCode;
}

/** Produce v9 (acks=-1) of `records` (batch bytes, sent as they are) to one partition. */
export async function produceRecords(client: RawClient, topic: string, records: Buffer,
  partition = 0): Promise<{ errorCode: number; baseOffset: bigint; throttleTimeMs: number }> {
  const req = defaultProduceRequest();
  req.acks = -1;
  req.timeoutMs = 30_000;
  req.topicData = [{ name: topic, unknownTaggedFields: undefined,
    partitionData: [{ index: partition, unknownTaggedFields: undefined, records }] }];
  client.send(0, 9, (w) => encodeProduceRequest(w, 9, req));
  const res = decodeProduceResponse(await answer(client, 0, 9), 9);
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: p.baseOffset, throttleTimeMs: res.throttleTimeMs };
}

/**
 * WriteTxnMarkers v1, as a transaction coordinator sends it: one commit marker of `producerId`
 * (epoch 0, coordinator epoch 0) into `partition`. Returns the partition's error code.
 */
export async function writeCommitMarker(client: RawClient, topic: string, producerId: bigint,
  partition = 0): Promise<number> {
  const req = defaultWriteTxnMarkersRequest();
  req.markers = [{ ...markerIn(), producerId, producerEpoch: 0, transactionResult: true,
    coordinatorEpoch: 0, topics: [{ ...markerTopicIn(), name: topic,
      partitionIndexes: [partition] }] }];
  client.send(27, 1, (w) => encodeWriteTxnMarkersRequest(w, 1, req));
  const res = decodeWriteTxnMarkersResponse(await answer(client, 27, 1), 1);
  return res.markers[0]!.topics[0]!.partitions[0]!.errorCode;
}

/** One batch of one record of `valueBytes` bytes to `partition` (acks=-1). */
export async function produce(client: RawClient, topic: string, valueBytes: number,
  partition = 0): Promise<{ errorCode: number; throttleTimeMs: number }> {
  const records = await encodeBatch({ baseTimestamp: Date.now(),
    records: [{ key: null, value: Buffer.alloc(valueBytes, 7) }] });
  const { errorCode, throttleTimeMs } = await produceRecords(client, topic, records, partition);
  return { errorCode, throttleTimeMs };
}

/** Fetch v11 of one partition from `offset`, no waiting. */
export async function fetch(client: RawClient, topic: string, offset: number, partition = 0):
  Promise<FetchResponse> {
  const req = defaultFetchRequest();
  req.maxWaitMs = 0;
  req.maxBytes = FETCH_BYTES_MAX;
  req.topics = [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{
    ...defaultFetchRequestFetchPartition(), partition, fetchOffset: BigInt(offset),
    partitionMaxBytes: FETCH_BYTES_MAX }] }];
  client.send(1, 11, (w) => encodeFetchRequest(w, 11, req));
  return decodeFetchResponse(await answer(client, 1, 11), 11);
}

/** A partition a Fetch names, and the offset it asks from. */
export interface FetchAsked { partition: number; offset: number }

const SESSION_FETCH_BYTES = 1 << 20;

/**
 * Fetch (v7+) in session `sessionId` at `epoch` of `topic`'s partitions `asked` (and forgetting
 * `forgotten`), naming the topic by id from v13 (`topicId`) and by name before; 1 MiB at most a
 * partition and in all, no waiting unless `maxWaitMs`.
 */
export async function fetchInSession(client: RawClient, version: number,
  topic: { name: string; id: string }, sessionId: number, epoch: number, asked: FetchAsked[],
  options: { forgotten?: number[]; maxWaitMs?: number } = {}): Promise<FetchResponse> {
  const name = version >= 13 ? '' : topic.name;
  const topicId = topic.id;
  const bytes = SESSION_FETCH_BYTES;
  const req: FetchRequest = { ...defaultFetchRequest(), maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: 1, maxBytes: bytes, sessionId, sessionEpoch: epoch,
    topics: asked.length === 0 ? [] : [{ ...defaultFetchRequestFetchTopic(), topic: name,
      topicId, partitions: asked.map((a) => ({ ...defaultFetchRequestFetchPartition(),
        partition: a.partition, fetchOffset: BigInt(a.offset), partitionMaxBytes: bytes })) }],
    forgottenTopicsData: (options.forgotten ?? []).length === 0 ? [] : [{
      ...defaultFetchRequestForgottenTopic(), topic: name, topicId,
      partitions: options.forgotten! }] };
  client.send(1, version, (w) => encodeFetchRequest(w, version, req));
  return decodeFetchResponse(await answer(client, 1, version), version);
}

/** Fetch of partition 0 from `offset`: record bytes returned, partitions answered, throttle. */
export async function fetchOnce(client: RawClient, topic: string, offset: number):
  Promise<{ recordBytes: number; partitions: number; throttleTimeMs: number }> {
  const res = await fetch(client, topic, offset);
  const partitions = res.responses.flatMap((t) => t.partitions);
  return { partitions: partitions.length, throttleTimeMs: res.throttleTimeMs,
    recordBytes: partitions.reduce((n, p) => n + (p.records?.length ?? 0), 0) };
}
