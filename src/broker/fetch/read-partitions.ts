/**
 * Fetch, one pass over the requested partitions: reads each from its log within the per-partition
 * and the response-wide byte budgets. Kafka's rule (KIP-74): the first partition that has data
 * returns at least one whole batch even if it is larger than both budgets, so a consumer can
 * never get stuck behind a large batch. The response-wide budget is also capped by the broker's
 * fetch.max.bytes and by the room left in its memory budget.
 *
 * The pass is ordered (each partition's budget depends on what the ones before it returned), but
 * object-storage GETs need not be: before it, every partition the budget can reach starts its
 * reads as cache prefetches, which the ordered pass then joins. A 16-partition catch-up Fetch so
 * waits for about one GET, not sixteen in a row.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type FetchRequest, type FetchResponseFetchableTopicResponse as TopicOut,
  type FetchResponsePartitionData as PartitionOut, defaultFetchResponseFetchableTopicResponse,
  defaultFetchResponsePartitionData, defaultFetchResponseAbortedTransaction,
} from '../../../protocol/generated/messages/fetch.js';
import { RecordParts } from '../../../protocol/primitives/record-set.js';
import { EMPTY_BYTES } from '../../../protocol/primitives/uuid.js';
import type { PartitionLog } from '../../partition/partition-log.js';
import { type TopicEntry, missingPartitionError } from '../../partition/partition-manager.js';
import type { BrokerServices } from '../services.js';
import type { RequestedPartition } from '../await-opening.js';

export interface FetchPass {
  topics: TopicOut[];
  sizeBytes: number;
  /** Logs read, to wait on for new data when the pass returned too little. */
  logs: PartitionLog[];
  /** A partition reported an error: answer at once rather than wait. */
  hasError: boolean;
  /** Answer bytes this pass holds in the broker's memory budget (its data): the caller releases them. */
  heldBytes: number;
}

/** Fetch's isolation_level 1: only committed transactional data, up to the last stable offset. */
const READ_COMMITTED = 1;

/** The aborted transactions a read_committed consumer skips in what it was sent. */
function abortedIn(log: PartitionLog, fromOffset: number, toOffset: number) {
  return log.txns.abortedBetween(fromOffset, toOffset).map((a) => ({
    ...defaultFetchResponseAbortedTransaction(), producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) }));
}

function partitionError(partitionIndex: number, errorCode: number, log?: PartitionLog): PartitionOut {
  return { ...defaultFetchResponsePartitionData(), partitionIndex, errorCode,
    highWatermark: BigInt(log?.highWatermark ?? -1),
    lastStableOffset: BigInt(log === undefined ? -1 : log.txns.lastStableOffset(log.highWatermark)),
    // Empty records, never null: librdkafka refuses a record-set size of -1 ("invalid
    // MessageSetSize"), and Kafka itself always sends an empty set with a partition error.
    logStartOffset: BigInt(log?.logStartOffset ?? -1), records: EMPTY_BYTES };
}

function lookupTopic(s: BrokerServices, t: FetchRequest['topics'][number], version: number):
  TopicEntry | undefined {
  return version >= 13 ? s.partitions.topicById(t.topicId) : s.partitions.topic(t.topic);
}

/** The partitions of readable topics the request names, for broker/await-opening.ts. */
export function requestedPartitions(s: BrokerServices, req: FetchRequest, version: number,
  readable: ReadonlySet<string>): RequestedPartition[] {
  return req.topics.flatMap((t) => {
    const entry = lookupTopic(s, t, version);
    if (entry === undefined || !readable.has(entry.record.name)) return [];
    return t.partitions.map((p) => ({ entry, partition: p.partition }));
  });
}

/** Reads every partition asked for; a topic not in `readable` (by name) is
 *  TOPIC_AUTHORIZATION_FAILED, asked before whether it exists, as Kafka does. */
export async function readPartitions(s: BrokerServices, req: FetchRequest, version: number,
  readable: ReadonlySet<string>): Promise<FetchPass> {
  const pass: FetchPass = { topics: [], sizeBytes: 0, logs: [], hasError: false, heldBytes: 0 };
  // The broker's own cap (fetch.max.bytes) bounds the answer too.
  const responseBytesMax = Math.min(version >= 3 ? req.maxBytes : Number.MAX_SAFE_INTEGER, s.config.fetchMaxBytes);
  try {
    prefetchPartitions(s, req, version, responseBytesMax, readable);
    await readInto(pass, s, req, version, responseBytesMax, readable);
  } catch (err) {
    s.memory.releaseAnswer(pass.heldBytes);
    throw err;
  }
  s.metrics.bytesFetched.add('any', { source: 'any' }, pass.sizeBytes);
  return pass;
}

/**
 * Starts the object-store reads of the partitions the ordered pass may reach: those whose
 * partition budgets, summed in request order, stay within the response's. Reads nothing itself.
 */
function prefetchPartitions(s: BrokerServices, req: FetchRequest, version: number,
  responseBytesMax: number, readable: ReadonlySet<string>): void {
  let budgetBytes = 0;
  for (const t of req.topics) {
    const entry = lookupTopic(s, t, version);
    if (entry === undefined || !readable.has(entry.record.name)) continue;
    for (const p of t.partitions) {
      if (budgetBytes >= responseBytesMax) return;
      const log = entry.logs[p.partition];
      if (log === undefined) continue;
      const maxBytes = Math.max(0, Math.min(p.partitionMaxBytes, responseBytesMax - budgetBytes));
      const endOffset = req.isolationLevel === READ_COMMITTED
        ? log.txns.lastStableOffset(log.highWatermark) : Infinity;
      log.prefetch(Number(p.fetchOffset), maxBytes, endOffset);
      budgetBytes += maxBytes;
    }
  }
}

async function readInto(pass: FetchPass, s: BrokerServices, req: FetchRequest, version: number,
  responseBytesMax: number, readable: ReadonlySet<string>): Promise<void> {
  for (const t of req.topics) {
    const entry = lookupTopic(s, t, version);
    const out: TopicOut = { ...defaultFetchResponseFetchableTopicResponse(), topic: t.topic,
      topicId: t.topicId, partitions: [] };
    pass.topics.push(out);
    const name = version >= 13 ? entry?.record.name : t.topic;
    if (name !== undefined && !readable.has(name)) {
      pass.hasError = true;
      out.partitions = t.partitions.map((p) =>
        partitionError(p.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      continue;
    }
    for (const p of t.partitions) {
      const log = entry?.logs[p.partition];
      if (log === undefined) {
        pass.hasError = true;
        out.partitions.push(partitionError(p.partition, entry === undefined && version >= 13
          ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode[missingPartitionError(entry, p.partition)]));
        continue;
      }
      pass.logs.push(log);
      if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch !== log.leaderEpoch) {
        pass.hasError = true;
        out.partitions.push(partitionError(p.partition, p.currentLeaderEpoch < log.leaderEpoch
          ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH, log));
        continue;
      }
      // Room in the memory budget is taken before the read, so concurrent fetches cannot all see
      // the same room; the KIP-74 rule still sends one batch when none is left.
      const maxBytes = Math.max(0, Math.min(p.partitionMaxBytes, responseBytesMax - pass.sizeBytes,
        s.memory.answerRoomBytes));
      s.memory.addAnswer(maxBytes);
      pass.heldBytes += maxBytes;
      // The LSO as of before the read: a marker noted during it can only raise it.
      const lastStable = log.txns.lastStableOffset(log.highWatermark);
      const readCommitted = req.isolationLevel === READ_COMMITTED;
      const read = await log.read(Number(p.fetchOffset), maxBytes, pass.sizeBytes === 0,
        readCommitted ? lastStable : Infinity).catch(() => ({ kind: 'unreadable' as const }));
      if (read.kind === 'unreadable') {
        s.memory.releaseAnswer(maxBytes);
        pass.heldBytes -= maxBytes;
        // Older data needs the segment index (etcd) and object storage; with either unreachable
        // this partition answers a retriable error, the others (and the in-memory tail) are served.
        pass.hasError = true;
        out.partitions.push(partitionError(p.partition, ErrorCode.KAFKA_STORAGE_ERROR, log));
        continue;
      }
      // Hold what was read, no more.
      const readBytes = read.kind === 'offset-out-of-range' ? 0 : read.sizeBytes;
      if (readBytes > maxBytes) s.memory.addAnswer(readBytes - maxBytes);
      else s.memory.releaseAnswer(maxBytes - readBytes);
      pass.heldBytes += readBytes - maxBytes;
      if (read.kind === 'offset-out-of-range') {
        pass.hasError = true;
        out.partitions.push(partitionError(p.partition, ErrorCode.OFFSET_OUT_OF_RANGE, log));
        continue;
      }
      pass.sizeBytes += read.sizeBytes;
      if (read.sizeBytes > 0) {
        const topic = entry!.record.name;
        s.metrics.topicBytesOut.add(topic, { topic }, read.sizeBytes);
      }
      out.partitions.push({ ...defaultFetchResponsePartitionData(), partitionIndex: p.partition,
        highWatermark: BigInt(read.highWatermark), lastStableOffset: BigInt(lastStable),
        logStartOffset: BigInt(read.logStartOffset),
        abortedTransactions: readCommitted ? abortedIn(log, Number(p.fetchOffset), lastStable) : [],
        // Several batches go to the socket as they are (one writev), never joined by a copy.
        records: read.batches.length === 1 ? read.batches[0]! : new RecordParts(read.batches) });
    }
  }
}
