/**
 * Transaction markers: the control batches a partition leader writes when a transaction ends
 * (Kafka's EndTransactionMarker). One record whose key is [version int16 = 0, type int16: 0 abort,
 * 1 commit] and whose value is [version int16 = 0, coordinatorEpoch int32]; the batch carries the
 * producer id and epoch of the transaction, the transactional and control attributes, sequence -1,
 * and is never compressed.
 */
import assert from 'node:assert/strict';
import { Reader } from '../primitives/reader.js';
import { BATCH_HEADER_BYTES, type BatchHeaderView } from './batch-header.js';
import { encodeUncompressedBatch } from './record.js';

export type MarkerType = 'abort' | 'commit';

const CONTROL_TYPE_ABORT = 0;
const CONTROL_TYPE_COMMIT = 1;
const MARKER_VERSION = 0;

export interface MarkerInput {
  producerId: number;
  producerEpoch: number;
  type: MarkerType;
  coordinatorEpoch: number;
  timestampMs: number;
}

export function encodeMarkerBatch(m: MarkerInput): Buffer {
  assert.ok(Number.isSafeInteger(m.producerId) && m.producerId >= 0, 'marker producer id');
  assert.ok(m.producerEpoch >= 0 && m.producerEpoch <= 0x7fff, 'marker producer epoch');
  const key = Buffer.alloc(4);
  key.writeInt16BE(MARKER_VERSION, 0);
  key.writeInt16BE(m.type === 'commit' ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(MARKER_VERSION, 0);
  value.writeInt32BE(m.coordinatorEpoch, 2);
  return encodeUncompressedBatch({ records: [{ key, value }], baseTimestamp: m.timestampMs,
    isTransactional: true, isControl: true, producerId: BigInt(m.producerId),
    producerEpoch: m.producerEpoch, baseSequence: -1 });
}

export interface Marker {
  type: MarkerType;
  coordinatorEpoch: number;
}

/**
 * The marker a control batch carries (the key and value of its one record), or null if it is not
 * a transaction marker. Reads a dozen bytes of the first record, no decompression.
 */
export function readMarker(batch: Buffer, header: BatchHeaderView): Marker | null {
  if (!header.isControl || header.compression !== 0 || header.recordCount < 1) return null;
  try {
    const r = new Reader(batch, BATCH_HEADER_BYTES, header.sizeBytes);
    r.varint(); // record length
    r.int8(); // attributes
    r.varlong(); // timestamp delta
    r.varint(); // offset delta
    if (r.varint() < 4) return null;
    if (r.int16() !== MARKER_VERSION) return null;
    const code = r.int16();
    const type = code === CONTROL_TYPE_COMMIT ? 'commit' : code === CONTROL_TYPE_ABORT ? 'abort'
      : null;
    if (type === null || r.varint() < 6) return null;
    r.int16(); // value version
    return { type, coordinatorEpoch: r.int32() };
  } catch {
    return null;
  }
}
