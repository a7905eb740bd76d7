/**
 * Idempotent-producer state of one partition: per producer id, its epoch and its last few
 * batches' sequence ranges, so a retried batch is recognised and answered with the offsets it
 * already got, and a gap in sequence numbers is refused (Kafka's ProducerStateManager).
 *
 * The state persisted with each segment commit is a snapshot as of the end of the uploaded range,
 * never beyond it: a batch that was not durable must not be remembered, or a retry of it would be
 * acknowledged as a duplicate of data that does not exist.
 */
import assert from 'node:assert/strict';
import type { ProducerPartitionState } from '../metadata/records.js';
import { partitionLimits } from '../limits.js';

const SEQUENCE_MAX = 0x7fffffff;

export interface BatchIdentity {
  producerId: number;
  producerEpoch: number;
  firstSequence: number;
  lastSequence: number;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  | { kind: 'error'; error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'INVALID_PRODUCER_EPOCH'; detail: string };

/** The sequence after `seq`, wrapping at Int32.MAX as Kafka's DefaultRecordBatch does. */
export function nextSequence(seq: number, delta = 1): number {
  return seq + delta > SEQUENCE_MAX ? seq + delta - SEQUENCE_MAX - 1 : seq + delta;
}

export class ProducerStates {
  private readonly states = new Map<number, ProducerPartitionState>();

  constructor(initial: readonly ProducerPartitionState[] = []) {
    for (const s of initial) this.states.set(s.producerId, structuredClone(s));
  }

  get size(): number {
    return this.states.size;
  }

  /** Every producer known here, in no particular order (DescribeProducers); read-only views. */
  list(): readonly Readonly<ProducerPartitionState>[] {
    return [...this.states.values()];
  }

  /** Decides what to do with a batch, without changing any state. */
  check(batch: BatchIdentity): SequenceCheck {
    const state = this.states.get(batch.producerId);
    // A producer this partition does not know starts wherever it is, as on Kafka (its
    // ProducerAppendInfo accepts any sequence when there is no current epoch): its state was
    // expired (producer.id.expiration.ms) or deleted with its records, and the producer goes on
    // from its last sequence. Refusing it OUT_OF_ORDER_SEQUENCE_NUMBER is fatal to librdkafka's
    // idempotent producer, so an agent idle past the expiration could never send again.
    if (state === undefined) return { kind: 'append' };
    if (batch.producerEpoch < state.producerEpoch) {
      return { kind: 'error', error: 'INVALID_PRODUCER_EPOCH',
        detail: `epoch ${batch.producerEpoch} < current ${state.producerEpoch}` };
    }
    if (batch.producerEpoch > state.producerEpoch) {
      if (batch.firstSequence === 0) return { kind: 'append' };
      return outOfOrder(`new epoch ${batch.producerEpoch} starts at sequence ${batch.firstSequence}`);
    }
    for (const b of state.recentBatches) {
      if (b.firstSequence === batch.firstSequence && b.lastSequence === batch.lastSequence) {
        return { kind: 'duplicate', baseOffset: b.baseOffset, lastOffset: b.lastOffset };
      }
    }
    const last = state.recentBatches.at(-1);
    if (last === undefined || batch.firstSequence === nextSequence(last.lastSequence)) {
      return { kind: 'append' };
    }
    return outOfOrder(`expected sequence ${nextSequence(last.lastSequence)}, got ${batch.firstSequence}`);
  }

  /** Records an appended batch. Idempotent, so WAL replay can apply a batch twice. */
  record(batch: BatchIdentity, baseOffset: number, lastOffset: number, timestampMs: number): void {
    assert.ok(lastOffset >= baseOffset, 'batch offsets ascend');
    let state = this.states.get(batch.producerId);
    if (state === undefined || batch.producerEpoch > state.producerEpoch) {
      state = { producerId: batch.producerId, producerEpoch: batch.producerEpoch, recentBatches: [],
        lastTimestampMs: timestampMs };
      this.states.set(batch.producerId, state);
    }
    if (state.recentBatches.some((b) => b.baseOffset === baseOffset)) return;
    state.recentBatches.push({ firstSequence: batch.firstSequence, lastSequence: batch.lastSequence,
      baseOffset, lastOffset });
    if (state.recentBatches.length > partitionLimits.producerRecentBatchesMax) state.recentBatches.shift();
    state.lastTimestampMs = Math.max(state.lastTimestampMs, timestampMs);
    assert.ok(state.recentBatches.length <= partitionLimits.producerRecentBatchesMax);
  }

  /**
   * Forgets batches at or past `offset`, which were rolled back (never written): the state is
   * then what a restart would rebuild, up to that the producer's epoch if a rolled-back batch
   * was the first of a new one (the producer is then forgotten, and starts again at sequence 0).
   */
  rollBack(offset: number): void {
    for (const [id, s] of this.states) {
      s.recentBatches = s.recentBatches.filter((b) => b.lastOffset < offset);
      if (s.recentBatches.length === 0) this.states.delete(id);
    }
  }

  /** State as of `endOffset` (exclusive): what may be persisted once offsets below it are. */
  snapshot(endOffset: number): ProducerPartitionState[] {
    const out: ProducerPartitionState[] = [];
    for (const s of this.states.values()) {
      const recent = s.recentBatches.filter((b) => b.lastOffset < endOffset);
      if (recent.length === 0) continue;
      out.push({ ...s, recentBatches: recent.map((b) => ({ ...b })) });
    }
    return out;
  }

  /**
   * Forgets producers idle since before `cutoffMs` (Kafka's producer.id.expiration.ms), except
   * those `keep` names (a transaction open: Kafka never expires one); returns how many.
   */
  expire(cutoffMs: number, keep: (producerId: number) => boolean = () => false): number {
    let expired = 0;
    for (const [id, s] of this.states) {
      if (s.lastTimestampMs >= cutoffMs || keep(id)) continue;
      this.states.delete(id);
      expired++;
    }
    return expired;
  }
}

function outOfOrder(detail: string): SequenceCheck {
  return { kind: 'error', error: 'OUT_OF_ORDER_SEQUENCE_NUMBER', detail };
}
