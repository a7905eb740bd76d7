/**
 * What one partition knows of transactions (Kafka's ProducerStateManager ongoing transactions and
 * its .txnindex): the transactions open here (producer id → first offset), the aborted ones a
 * read_committed consumer must skip, and per producer the coordinator epoch of its last marker.
 *
 *   lastStableOffset = min(highWatermark, first offset of every open transaction)
 *
 * A transaction opens with its first transactional data batch and ends with its marker, both
 * noted when they get offsets; but a transaction whose marker is not yet below the high watermark
 * (not durable) still holds the LSO back, so a marker lost with a crash exposes nothing (the
 * coordinator resends it), and a marker rolled back (WAL disk full) reopens its transaction.
 *
 * Persistence: the index rides in the partition's producer list as a reserved entry (producer id
 * -1), written by every segment commit as of the end of the uploaded range, so a new leader, a
 * restart and a recovery of a dead broker's WAL all rebuild it: from that snapshot, then from the
 * batches after it (data batch headers and the 4-byte key of each marker; records are never
 * decoded). Fetch reads the aborted list from memory: the read path decodes nothing.
 */
import assert from 'node:assert/strict';
import type { BatchHeaderView } from '../../protocol/records/batch-header.js';
import { type MarkerType, readMarker } from '../../protocol/records/control-batch.js';
import type { ProducerPartitionState } from '../metadata/records.js';
import { transactionLimits } from '../limits.js';

/** The producer id of the reserved entry that carries the index in a producer list. */
export const TXN_INDEX_PRODUCER_ID = -1;

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** Offset of the abort marker. */
  lastOffset: number;
}

/**
 * A transaction whose marker got offsets but may not be durable or in object storage yet: it
 * holds the LSO until its marker is durable, and snapshots before its marker see it open.
 */
interface EndedTxn {
  producerId: number;
  firstOffset: number;
  markerOffset: number;
}

/** Whether a batch carries producer sequence numbers (markers have a producer id but none). */
export function isSequenced(h: BatchHeaderView): boolean {
  return h.hasProducerId && !h.isControl;
}

export class PartitionTxns {
  private readonly open = new Map<number, number>();
  private ended: EndedTxn[] = [];
  /** Sorted by lastOffset (markers are appended in offset order). */
  private aborted: AbortedTxn[] = [];
  private readonly markerEpochs = new Map<number, number>();
  /** The producer epoch each open transaction was verified under (since this broker loaded it). */
  private readonly openEpochs = new Map<number, number>();
  /** Markers noted per producer, so a produce verified before a marker is not appended after it. */
  private readonly markerCounts = new Map<number, number>();
  /** Aborted transactions forgotten because the index was full (a warning each). */
  forgotten = 0;

  /** Splits a loaded producer list into the producers and this index. */
  /** Whether `producerId` has a transaction open in this partition. */
  isOpen(producerId: number): boolean {
    return this.open.has(producerId);
  }

  static fromProducerList(states: readonly ProducerPartitionState[]):
    { producers: ProducerPartitionState[]; txns: PartitionTxns } {
    const txns = new PartitionTxns();
    const index = states.find((s) => s.producerId === TXN_INDEX_PRODUCER_ID)?.txnIndex;
    if (index !== undefined) {
      for (const [pid, first] of index.open) txns.open.set(pid, first);
      txns.aborted = index.aborted.map(([producerId, firstOffset, lastOffset]) =>
        ({ producerId, firstOffset, lastOffset }));
      for (const [pid, epoch] of index.markers) txns.markerEpochs.set(pid, epoch);
    }
    return { producers: states.filter((s) => s.producerId !== TXN_INDEX_PRODUCER_ID), txns };
  }

  /** Notes one batch that got offsets (append, WAL replay, recovery of a dead broker's WAL). */
  apply(batch: Buffer, h: BatchHeaderView): void {
    if (!h.isTransactional) return;
    const pid = Number(h.producerId);
    if (!h.isControl) {
      this.noteData(pid, h.baseOffset, h.producerEpoch);
      return;
    }
    const marker = readMarker(batch, h);
    if (marker !== null) this.noteMarker(pid, h.baseOffset, marker.type, marker.coordinatorEpoch);
  }

  /** A transactional data batch of `producerId` got offsets from `baseOffset`. */
  noteData(producerId: number, baseOffset: number, producerEpoch: number): void {
    if (!this.open.has(producerId)) this.open.set(producerId, baseOffset);
    this.openEpochs.set(producerId, producerEpoch);
  }

  /**
   * Whether a batch of this producer and epoch continues a transaction open here that its first
   * batch's verification admitted (then it need not be verified again).
   */
  continuesOpenTxn(producerId: number, producerEpoch: number): boolean {
    return this.open.has(producerId) && this.openEpochs.get(producerId) === producerEpoch;
  }

  /** Changes when a marker of the producer is noted: compared across a verification's await. */
  markerCount(producerId: number): number {
    return this.markerCounts.get(producerId) ?? 0;
  }

  /** Whether a marker of this coordinator epoch for the producer was already written here. */
  markerWritten(producerId: number, coordinatorEpoch: number): boolean {
    return (this.markerEpochs.get(producerId) ?? -1) >= coordinatorEpoch;
  }

  /** The producer's marker got offset `markerOffset`: its transaction ends there. */
  noteMarker(producerId: number, markerOffset: number, type: MarkerType,
    coordinatorEpoch: number): void {
    this.markerCounts.set(producerId, this.markerCount(producerId) + 1);
    this.openEpochs.delete(producerId);
    this.markerEpochs.set(producerId, Math.max(coordinatorEpoch,
      this.markerEpochs.get(producerId) ?? -1));
    const first = this.open.get(producerId);
    if (first === undefined) return; // a transaction that wrote nothing here
    assert.ok(first < markerOffset, 'a marker follows its transaction');
    this.open.delete(producerId);
    this.ended.push({ producerId, firstOffset: first, markerOffset });
    if (type === 'abort') {
      this.aborted.push({ producerId, firstOffset: first, lastOffset: markerOffset });
      if (this.aborted.length > transactionLimits.abortedTxnsPerPartitionMax) {
        this.aborted.shift();
        this.forgotten++;
      }
    }
  }

  /**
   * Offsets at or past `offset` were rolled back (never written): forget what they opened, and
   * reopen what their markers ended (the coordinator writes those markers again).
   */
  rollBack(offset: number): void {
    for (const [pid, first] of this.open) if (first >= offset) this.open.delete(pid);
    const undone = this.ended.filter((e) => e.markerOffset >= offset);
    this.ended = this.ended.filter((e) => e.markerOffset < offset);
    this.aborted = this.aborted.filter((a) => a.lastOffset < offset);
    for (const e of undone) {
      if (e.firstOffset < offset) this.open.set(e.producerId, e.firstOffset);
      this.markerEpochs.delete(e.producerId); // a resent marker must be written, not skipped
    }
  }

  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    for (const first of this.open.values()) lso = Math.min(lso, first);
    for (const e of this.ended) if (e.markerOffset >= highWatermark) lso = Math.min(lso,
      e.firstOffset);
    return lso;
  }

  /** First offset of the producer's open transaction here, or -1. */
  openTxnStart(producerId: number): number {
    return this.open.get(producerId) ?? -1;
  }

  /** Aborted transactions overlapping [fromOffset, toOffset): what a read_committed fetch skips. */
  abortedBetween(fromOffset: number, toOffset: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = lowerBound(this.aborted, fromOffset); i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.firstOffset < toOffset) out.push(a);
    }
    return out;
  }

  /** Drops aborted transactions wholly below the log start offset (retention). */
  trimBelow(logStartOffset: number): void {
    this.aborted = this.aborted.slice(lowerBound(this.aborted, logStartOffset));
  }

  /**
   * The reserved producer-list entry as of `endOffset` (exclusive), or null when there is nothing
   * to keep. Transactions ended at or past `endOffset` are still open as of it.
   */
  snapshotEntry(endOffset: number): ProducerPartitionState | null {
    const open: [number, number][] = [];
    for (const [pid, first] of this.open) if (first < endOffset) open.push([pid, first]);
    for (const e of this.ended) {
      if (e.markerOffset >= endOffset && e.firstOffset < endOffset) open.push([e.producerId,
        e.firstOffset]);
    }
    const aborted = this.aborted.filter((a) => a.lastOffset < endOffset)
      .map((a): [number, number, number] => [a.producerId, a.firstOffset, a.lastOffset]);
    this.ended = this.ended.filter((e) => e.markerOffset >= endOffset);
    const markers = [...this.markerEpochs].sort((a, b) => a[0] - b[0]);
    if (open.length === 0 && aborted.length === 0 && markers.length === 0) return null;
    return { producerId: TXN_INDEX_PRODUCER_ID, producerEpoch: -1, recentBatches: [],
      lastTimestampMs: 0,
      txnIndex: { open: open.sort((a, b) => a[0] - b[0]), aborted, markers } };
  }
}

/** Index of the first aborted transaction with lastOffset >= offset. */
function lowerBound(list: readonly AbortedTxn[], offset: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Appends the index's reserved entry to a producer snapshot (what a segment commit stores). */
export function withTxnIndex(producers: ProducerPartitionState[], txns: PartitionTxns,
  endOffset: number): ProducerPartitionState[] {
  const entry = txns.snapshotEntry(endOffset);
  return entry === null ? producers : [...producers, entry];
}
