/**
 * Produce: v3-11.
 * Behavior: one record batch per partition, validated by header and CRC32C, and its records
 * walked (decompressed within a per-request budget) to check they match the header, as Kafka's
 * LogValidator does; the batch is stored as sent, offsets assigned by patching it in place.
 * acks=1 and acks=-1 are answered only once the batch is fsynced in the WAL (a single node has
 * no replicas to wait for, so they mean the same); acks=0 gets no response. Idempotent
 * producers: duplicates are answered with their original offsets, sequence gaps with
 * OUT_OF_ORDER_SEQUENCE_NUMBER; a producer the partition does not know (never seen, or expired
 * by producer.id.expiration.ms) is taken at any sequence, as Kafka takes it. A request for a partition
 * this broker was just named leader of but has not opened yet (cluster mode: it waits out the
 * old leader's acknowledgement window and replays its WAL) waits for it, up to 5 s, rather than
 * being refused (broker/await-opening.ts).
 * Version notes: v0-2 carry the old message format (magic 0/1) and are refused, yet advertised,
 * as Kafka 4 does: old librdkafka compresses only if Produce v0 is advertised. v10+: a partition
 * answered NOT_LEADER_OR_FOLLOWER names its current leader and that broker's endpoint (KIP-951,
 * produce/current-leader.ts).
 * Transactional batches: the leader first checks that the partition is in the producer's ongoing
 * transaction (produce/verify-txn.ts); the batch then opens or continues the transaction in the
 * partition's index, which holds the last stable offset back until its marker.
 * Authorization (Kafka's handleProduceRequest): if any partition's batch is transactional, the
 * request must carry a transactional id the requester may WRITE, else every partition gets
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED — also with no authorizer, when the id is missing. A
 * forged control batch is transactional too: with an id (and no authorizer, or WRITE on it) it
 * reaches the append and gets INVALID_RECORD, as Kafka's LogValidator answers. Then WRITE on each
 * topic (TOPIC_AUTHORIZATION_FAILED before any existence check).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type ProduceResponse, type ProduceResponsePartitionProduceResponse as PartitionOut,
  type ProduceRequest, decodeProduceRequest,
  defaultProduceResponse, defaultProduceResponsePartitionProduceResponse,
  defaultProduceResponseTopicProduceResponse, encodeProduceResponse,
} from '../../../protocol/generated/messages/produce.js';
import { type RequestContext, defineHandler } from '../handler.js';
import { appendPartition, batchesMayStayInFrame, type InflateBudget,
  type PartitionAppendResult } from '../produce/append-partition.js';
import { PartitionFencedError } from '../../partition/partition-log.js';
import { limits } from '../../../storage/limits.js';
import { WalNoSpaceError } from '../../../storage/wal/errors.js';
import { decodedRecords } from '../../../protocol/primitives/record-set.js';
import { verifyTransactionalBatch } from '../produce/verify-txn.js';
import { awaitOpening } from '../await-opening.js';
import { nameCurrentLeaders } from '../produce/current-leader.js';
import {
  ATTR_CONTROL, ATTR_TRANSACTIONAL, ATTRIBUTES_OFFSET, BATCH_HEADER_BYTES, readBatchHeader,
} from '../../../protocol/records/batch-header.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize, authorizedNames } from '../authorize.js';
import { ProducerTurns } from '../produce/producer-turns.js';

/** One broker process's turns: transactional producers' pipelined requests in arrival order. */
const producerTurns = new ProducerTurns();

/** What one pass over the request's first batches found about transactions. */
interface TransactionalScan {
  /** Kafka's RequestUtils.hasTransactionalRecords: any partition's first batch is transactional. */
  transactional: boolean;
  /** The producer id of the first transactional data batch (not a marker); null: none. */
  producerId: bigint | null;
}

function scanTransactional(req: ProduceRequest): TransactionalScan {
  let transactional = false;
  for (const t of req.topicData) {
    for (const p of t.partitionData) {
      const records = decodedRecords(p.records);
      if (records === null || records.length < ATTRIBUTES_OFFSET + 2) continue;
      const attributes = records.readInt16BE(ATTRIBUTES_OFFSET);
      if ((attributes & ATTR_TRANSACTIONAL) === 0) continue;
      transactional = true;
      if ((attributes & ATTR_CONTROL) === 0 && records.length >= BATCH_HEADER_BYTES) {
        return { transactional, producerId: readBatchHeader(records, 0).producerId };
      }
    }
  }
  return { transactional, producerId: null };
}

function failTopic(t: ProduceRequest['topicData'][number], errorCode: number) {
  return { ...defaultProduceResponseTopicProduceResponse(), name: t.name,
    partitionResponses: t.partitionData.map((p) => ({
      ...defaultProduceResponsePartitionProduceResponse(), index: p.index, errorCode,
      baseOffset: -1n })) };
}

function errorResponse(req: ProduceRequest, _version: number, errorCode: number) {
  return req.acks === 0 ? null
    : { ...defaultProduceResponse(), responses: req.topicData.map((t) => failTopic(t, errorCode)) };
}

function refused(errorCode: number): PartitionAppendResult {
  return { errorCode, errorMessage: null, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

export const handler = defineHandler({
  apiKey: 0,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 11,
  advertisedMinVersion: 0,
  decodeRequest: decodeProduceRequest,
  encodeResponse: encodeProduceResponse,
  errorResponse,
  async handle(ctx, req, version) {
    const s = ctx.services;
    const scan = scanTransactional(req);
    // Kafka's order: a transactional batch needs WRITE on its transactional id (the whole request
    // fails), then each topic needs WRITE (TOPIC_AUTHORIZATION_FAILED before any existence check).
    if (scan.transactional && (req.transactionalId === null
      || !authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId))) {
      return errorResponse(req, version, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    const writable = authorizedNames(ctx, AclOperation.WRITE, ResourceType.TOPIC,
      req.topicData.map((t) => t.name));
    // Taken before appending: it judges the writes by the session they were appended in.
    const acknowledgement = s.cluster.acknowledgement?.();
    const myTurn = scan.producerId === null ? null : producerTurns.take(scan.producerId);
    let appended: Appended;
    try {
      if (myTurn?.ready) await myTurn.ready;
      // A partition this broker was just named leader of is answered once it opens (see there).
      await awaitOpening(s, req.topicData.flatMap((t) => {
        const entry = s.partitions.topic(t.name);
        return t.partitionData.map((p) => ({ entry, partition: p.index }));
      }), req.timeoutMs);
      appended = await appendAll(ctx, req, writable);
    } finally {
      // Appended (or refused): the producer's next request may go; durability is awaited below.
      myTurn?.done();
    }
    if (req.acks === 0) return null;
    // One await for every partition: their WAL entries share the same group commit.
    await Promise.all(appended.durable);
    if (acknowledgement !== undefined && !(await acknowledgement.mayAcknowledge())) {
      s.metrics.acksRefused.inc(refuseAcknowledged(appended.response));
    }
    nameCurrentLeaders(s, appended.response, version, ctx.listenerName);
    return appended.response;
  },
});

/** Paused or cut off past its lease, or fenced, this broker may have been replaced: confirm
 *  nothing.
 *  Returns how many partitions' appends it refused. */
function refuseAcknowledged(res: ProduceResponse): number {
  let refused = 0;
  for (const t of res.responses) {
    for (const p of t.partitionResponses) {
      if (p.errorCode === ErrorCode.NONE) {
        Object.assign(p, { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, baseOffset: -1n });
        refused += 1;
      }
    }
  }
  return refused;
}

/** The response as appending left it, and what must settle before it is sent. */
interface Appended {
  response: ProduceResponse;
  /** Durability (or a handoff) per partition; none rejects (failures are written into it). */
  durable: Promise<void>[];
}

/**
 * Only a batch whose leadership moved on before it was durable is answered
 * NOT_LEADER_OR_FOLLOWER: the client refreshes metadata and retries at the new leader. Anything
 * else that kept a batch from being durable (a full WAL disk, the offsets rolled back behind such
 * a batch) is KAFKA_STORAGE_ERROR (retriable): the batch was not written.
 */
function failOnFence(ctx: RequestContext, out: PartitionOut, p: Promise<void>): Promise<void> {
  return p.catch((err: unknown) => {
    if (err instanceof PartitionFencedError) {
      ctx.log.info({ err }, 'produce not acknowledged: partition fenced');
      Object.assign(out, { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, baseOffset: -1n,
        errorMessage: 'leadership moved to another broker' });
      return;
    }
    const noSpace = err instanceof WalNoSpaceError;
    if (!noSpace) ctx.log.warn({ err }, 'produce not acknowledged: batch not made durable');
    Object.assign(out, { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, baseOffset: -1n,
      errorMessage: noSpace ? 'the WAL disk is full; retry later'
        : `the batch was not made durable (${(err as Error).message}); retry later` });
  });
}

/** Appends every partition's batch; the caller waits for `durable` (acks ≠ 0). */
async function appendAll(ctx: RequestContext, req: ProduceRequest,
  writable: Set<string>): Promise<Appended> {
  const s = ctx.services;
  const appending: RequestAppend = { ctx, req, nowMs: s.nowMs(), durable: [],
    inflate: { remainingBytes: limits.produceUncompressedBytesMax },
    inFrame: batchesMayStayInFrame(req) };
  const response = defaultProduceResponse();
  for (const t of req.topicData) {
    if (!writable.has(t.name)) {
      response.responses.push(failTopic(t, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      continue;
    }
    response.responses.push(await appendTopic(appending, t));
  }
  return { response, durable: appending.durable };
}

/** One request's appends in progress. */
interface RequestAppend {
  ctx: RequestContext;
  req: ProduceRequest;
  nowMs: number;
  durable: Promise<void>[];
  inflate: InflateBudget;
  /** The batches may stay where the request frame holds them (append-partition.ts). */
  inFrame: boolean;
}

async function appendTopic(a: RequestAppend, t: ProduceRequest['topicData'][number]) {
  const { ctx, req } = a;
  const s = ctx.services;
  let topic = s.partitions.topic(t.name);
  const partitionsNamed = Math.max(0, ...t.partitionData.map((p) => p.index + 1));
  if (topic === undefined || topic.record.partitionCount < partitionsNamed) {
    // Created or grown through another broker a moment ago: learn it now, not from the watch.
    topic = await s.partitions.topicNow(t.name, partitionsNamed);
  }
  const out = { ...defaultProduceResponseTopicProduceResponse(), name: t.name,
    partitionResponses: [] as PartitionOut[] };
  for (const p of t.partitionData) {
    const records = decodedRecords(p.records);
    const verifying = verifyTransactionalBatch(s, req.transactionalId, topic, p.index, records);
    const txn = verifying instanceof Promise ? await verifying : verifying;
    const refusal = txn.errorCode !== ErrorCode.NONE ? txn.errorCode : txn.recheck();
    const r = refusal !== ErrorCode.NONE ? refused(refusal)
      : appendPartition(s, topic, p.index, records, a);
    const partitionOut: PartitionOut = {
      ...defaultProduceResponsePartitionProduceResponse(),
      index: p.index, errorCode: r.errorCode, errorMessage: r.errorMessage,
      baseOffset: BigInt(r.baseOffset), logAppendTimeMs: BigInt(r.logAppendTimeMs),
      logStartOffset: BigInt(r.logStartOffset),
    };
    if (r.durable !== undefined) a.durable.push(failOnFence(ctx, partitionOut, r.durable));
    if (r.answerAfter !== undefined) a.durable.push(r.answerAfter);
    out.partitionResponses.push(partitionOut);
    if (r.errorCode !== ErrorCode.NONE) {
      ctx.log.debug({ topic: t.name, partition: p.index, error: r.errorMessage }, 'produce refused');
    }
  }
  return out;
}
