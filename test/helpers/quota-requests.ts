/**
 * Raw requests the quota tests send with the broker's own codecs, where a test must read what no
 * client library shows: throttle_time_ms, and whether a throttled Fetch came back empty.
 */
import {
  decodeAlterClientQuotasResponse, defaultAlterClientQuotasRequest, encodeAlterClientQuotasRequest,
} from '../../protocol/generated/messages/alter-client-quotas.js';
import {
  decodeDescribeClientQuotasResponse, defaultDescribeClientQuotasRequest,
  encodeDescribeClientQuotasRequest,
} from '../../protocol/generated/messages/describe-client-quotas.js';
import {
  decodeApiVersionsResponse, defaultApiVersionsRequest, encodeApiVersionsRequest,
} from '../../protocol/generated/messages/api-versions.js';
import {
  decodeCreateTopicsResponse, defaultCreateTopicsRequest, defaultCreateTopicsRequestCreatableTopic,
  encodeCreateTopicsRequest,
} from '../../protocol/generated/messages/create-topics.js';
import {
  decodeFetchResponse, defaultFetchRequest, defaultFetchRequestFetchPartition,
  defaultFetchRequestFetchTopic, encodeFetchRequest,
} from '../../protocol/generated/messages/fetch.js';
import {
  decodeProduceResponse, defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { encodeBatch } from '../../protocol/records/record.js';
import type { Reader } from '../../protocol/primitives/reader.js';
import type { RawClient } from './raw-client.js';

async function answer(client: RawClient, apiKey: number, version: number): Promise<Reader> {
  const frame = await client.readFrame(60_000);
  if (frame === null) {
    throw new Error(`the broker closed the connection instead of answering ${apiKey}`);
  }
  return decodeResponseFrame(apiKey, version, frame).body;
}

/** Sets (a number) or removes (null) quota values of one entity; returns the entry's error code. */
export async function alterQuotas(client: RawClient, entity: Record<string, string | null>,
  values: Record<string, number | null>):
  Promise<{ errorCode: number; errorMessage: string | null }> {
  const req = defaultAlterClientQuotasRequest();
  req.entries = [{ unknownTaggedFields: undefined,
    entity: Object.entries(entity).map(([entityType, entityName]) =>
      ({ entityType, entityName, unknownTaggedFields: undefined })),
    ops: Object.entries(values).map(([key, value]) =>
      ({ key, value: value ?? 0, remove: value === null, unknownTaggedFields: undefined })) }];
  client.send(49, 1, (w) => encodeAlterClientQuotasRequest(w, 1, req));
  const res = decodeAlterClientQuotasResponse(await answer(client, 49, 1), 1);
  return res.entries[0]!;
}

/** Every stored entity with its values, as DescribeClientQuotas v1 with no filter answers. */
export async function describeQuotas(client: RawClient):
  Promise<{ entity: Record<string, string | null>; values: Record<string, number> }[]> {
  const req = defaultDescribeClientQuotasRequest();
  client.send(48, 1, (w) => encodeDescribeClientQuotasRequest(w, 1, req));
  const res = decodeDescribeClientQuotasResponse(await answer(client, 48, 1), 1);
  if (res.errorCode !== 0) throw new Error(`DescribeClientQuotas: ${res.errorMessage}`);
  return (res.entries ?? []).map((e) => ({
    entity: Object.fromEntries(e.entity.map((p) => [p.entityType, p.entityName])),
    values: Object.fromEntries(e.values.map((v) => [v.key, v.value])) }));
}

export async function createTopic(client: RawClient, name: string, partitions = 1):
  Promise<number> {
  const req = defaultCreateTopicsRequest();
  req.topics = [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions: partitions }];
  client.send(19, 5, (w) => encodeCreateTopicsRequest(w, 5, req));
  return decodeCreateTopicsResponse(await answer(client, 19, 5), 5).topics[0]!.errorCode;
}

/** One batch of one record of `valueBytes` bytes to `partition` (acks=-1). */
export async function produce(client: RawClient, topic: string, valueBytes: number,
  partition = 0): Promise<{ errorCode: number; throttleTimeMs: number }> {
  const req = defaultProduceRequest();
  req.acks = -1;
  req.timeoutMs = 30_000;
  req.topicData = [{ name: topic, unknownTaggedFields: undefined, partitionData: [{
    index: partition,
    unknownTaggedFields: undefined, records: await encodeBatch({ baseTimestamp: Date.now(),
      records: [{ key: null, value: Buffer.alloc(valueBytes, 7) }] }) }] }];
  client.send(0, 9, (w) => encodeProduceRequest(w, 9, req));
  const res = decodeProduceResponse(await answer(client, 0, 9), 9);
  return { errorCode: res.responses[0]!.partitionResponses[0]!.errorCode,
    throttleTimeMs: res.throttleTimeMs };
}

/** Fetch v11 of partition 0 from `offset`, no waiting: record bytes returned and the throttle. */
export async function fetchOnce(client: RawClient, topic: string, offset: number):
  Promise<{ recordBytes: number; partitions: number; throttleTimeMs: number }> {
  const req = defaultFetchRequest();
  req.maxWaitMs = 0;
  req.maxBytes = 50 * 1024 * 1024;
  req.topics = [{ ...defaultFetchRequestFetchTopic(), topic, partitions: [{
    ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: BigInt(offset),
    partitionMaxBytes: 50 * 1024 * 1024 }] }];
  client.send(1, 11, (w) => encodeFetchRequest(w, 11, req));
  const res = decodeFetchResponse(await answer(client, 1, 11), 11);
  const partitions = res.responses.flatMap((t) => t.partitions);
  return { partitions: partitions.length, throttleTimeMs: res.throttleTimeMs,
    recordBytes: partitions.reduce((n, p) => n + (p.records?.length ?? 0), 0) };
}

/** ApiVersions v3, answered: how long after sending it the answer came (ms). */
export async function apiVersionsAfterMs(client: RawClient): Promise<number> {
  const startMs = performance.now();
  client.send(18, 3, (w) => encodeApiVersionsRequest(w, 3, defaultApiVersionsRequest()));
  decodeApiVersionsResponse(await answer(client, 18, 3), 3);
  return performance.now() - startMs;
}
