/**
 * The transaction kill run's view of the truth: every batch of a topic's partitions as its leader
 * stores it (raw Fetch v12, read_uncommitted, control batches included), and, for every record of
 * a transactional batch, how its transaction ended: the next marker of the same producer in the
 * partition (commit or abort), or none yet (open). A read_committed reader's records are then
 * checked against it: a record of an aborted or open transaction is "aborted-visible".
 * It also counts markers written twice for one decision (same producer, epoch and coordinator
 * epoch, no data between) and markers with no transaction before them.
 */
import { decodeResponseFrame } from '../../protocol/frame.js';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import {
  decodeFetchResponse, defaultFetchRequest, defaultFetchRequestFetchPartition,
  defaultFetchRequestFetchTopic, encodeFetchRequest,
} from '../../protocol/generated/messages/fetch.js';
import { decodedRecords } from '../../protocol/primitives/record-set.js';
import { readBatchHeader } from '../../protocol/records/batch-header.js';
import { readMarker } from '../../protocol/records/control-batch.js';
import { decodeBatch } from '../../protocol/records/record.js';
import { RawClient } from '../helpers/raw-client.js';

const FETCH_VERSION = 12;
const FETCH_BYTES_MAX = 8 * 1024 * 1024;
const FETCH_ROUNDS_MAX = 10_000;
const RECORD_BYTES_MAX = 1024 * 1024;

export type Fate = 'committed' | 'aborted' | 'open' | 'plain';

export interface AuditedPartition {
  partition: number;
  highWatermark: number;
  lastStableOffset: number;
  /** Fate of every data record, by offset. */
  fates: Map<number, { value: string; fate: Fate }>;
  markers: number;
  /** Markers repeating the previous one for the same producer decision. */
  doubledMarkers: string[];
  /** Transactions of this partition with no marker after them. */
  openTransactions: string[];
}

interface OpenTxn {
  offsets: number[];
  epoch: number;
}

/** Reads one partition from `port` (its leader) up to the high watermark. */
export async function auditPartition(port: number, topic: string,
  partition: number): Promise<AuditedPartition> {
  const client = await RawClient.connect(port, { clientId: 'txn-audit' });
  const out: AuditedPartition = { partition, highWatermark: -1, lastStableOffset: -1,
    fates: new Map(), markers: 0, doubledMarkers: [], openTransactions: [] };
  const open = new Map<bigint, OpenTxn>();
  const lastMarker = new Map<bigint, string>();
  try {
    let next = 0;
    for (let round = 0; round < FETCH_ROUNDS_MAX; round++) {
      const part = await fetchOnce(client, topic, partition, next);
      out.highWatermark = Number(part.highWatermark);
      out.lastStableOffset = Number(part.lastStableOffset);
      const buf = decodedRecords(part.records) ?? Buffer.alloc(0);
      let at = 0;
      while (at + 61 <= buf.length) {
        const header = readBatchHeader(buf, at);
        if (at + header.sizeBytes > buf.length) break;
        const batch = buf.subarray(at, at + header.sizeBytes);
        at += header.sizeBytes;
        if (header.lastOffset < next) continue;
        next = header.lastOffset + 1;
        const pid = header.producerId;
        if (header.isControl) {
          out.markers++;
          const marker = readMarker(batch, readBatchHeader(batch, 0));
          const decision = `pid ${pid} epoch ${header.producerEpoch} ${marker?.type} `
            + `coordinatorEpoch ${marker?.coordinatorEpoch}`;
          const txn = open.get(pid);
          if (txn === undefined && lastMarker.get(pid) === decision) {
            out.doubledMarkers.push(`p${partition}@${header.baseOffset}: ${decision}`);
          }
          for (const o of txn?.offsets ?? []) {
            out.fates.get(o)!.fate = marker?.type === 'commit' ? 'committed' : 'aborted';
          }
          open.delete(pid);
          lastMarker.set(pid, decision);
          continue;
        }
        const decoded = await decodeBatch(batch, { maxUncompressedBytes: RECORD_BYTES_MAX });
        const txn = open.get(pid) ?? { offsets: [], epoch: header.producerEpoch };
        for (const r of decoded.records) {
          const value = r.value?.toString() ?? '';
          out.fates.set(r.offset, { value, fate: header.isTransactional ? 'open' : 'plain' });
          if (header.isTransactional) txn.offsets.push(r.offset);
        }
        if (header.isTransactional) open.set(pid, txn);
      }
      if (next >= out.highWatermark) break;
    }
  } finally {
    client.close();
  }
  for (const [pid, txn] of open) {
    out.openTransactions.push(`p${partition}: pid ${pid} epoch ${txn.epoch} from offset `
      + `${txn.offsets[0]} (${txn.offsets.length} records)`);
  }
  return out;
}

async function fetchOnce(client: RawClient, topic: string, partition: number, offset: number) {
  const req = defaultFetchRequest();
  req.maxBytes = FETCH_BYTES_MAX;
  req.maxWaitMs = 0;
  req.isolationLevel = 0;
  const t = defaultFetchRequestFetchTopic();
  t.topic = topic;
  t.partitions = [{ ...defaultFetchRequestFetchPartition(), partition, fetchOffset: BigInt(offset),
    partitionMaxBytes: FETCH_BYTES_MAX }];
  req.topics = [t];
  client.send(ApiKey.Fetch, FETCH_VERSION, (w) => encodeFetchRequest(w, FETCH_VERSION, req));
  const frame = await client.readFrame(30_000);
  if (frame === null) {
    throw new Error(`audit: the broker closed the connection (${topic}-${partition})`);
  }
  const res = decodeFetchResponse(decodeResponseFrame(ApiKey.Fetch, FETCH_VERSION, frame).body,
    FETCH_VERSION);
  const part = res.responses[0]?.partitions[0];
  if (part === undefined || part.errorCode !== 0) {
    throw new Error(`audit: fetch ${topic}-${partition} at ${offset}: error ${part?.errorCode}`);
  }
  return part;
}

export interface ReadRecordAt {
  partition: number;
  offset: number;
  value: string;
}

/** The records a read_committed reader returned that belong to no committed transaction. */
export function abortedVisible(audit: AuditedPartition[], read: ReadRecordAt[]): string[] {
  const out: string[] = [];
  for (const r of read) {
    const at = audit.find((a) => a.partition === r.partition)?.fates.get(r.offset);
    if (at === undefined) out.push(`${r.value} at p${r.partition}/${r.offset}: not in the log`);
    else if (at.value !== r.value) {
      out.push(`${r.value} at p${r.partition}/${r.offset}: the log has ${at.value}`);
    }
    else if (at.fate === 'aborted' || at.fate === 'open') {
      out.push(`${r.value} at p${r.partition}/${r.offset}: ${at.fate} transaction`);
    }
  }
  return out;
}
