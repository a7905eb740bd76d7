/**
 * Produce, transactional: one producer's requests are handled one at a time, in the order they
 * arrived. Kafka's broker reads one request per connection at a time, and a producer's sequence
 * numbers (up to five requests in flight) rely on that order. Here requests are pipelined, and a
 * transactional batch may await its verification (verify-txn.ts): without turns, a later
 * request's batch could be appended while an earlier one's check was still awaited, and be
 * refused OUT_OF_ORDER_SEQUENCE_NUMBER (the bench's transactional producer hit it: "expected
 * sequence 600, got 615"). A request holds its turn until its batches are appended, not until
 * they are durable, so group commit still gathers pipelined requests.
 */
export interface ProducerTurn {
  /** Resolves when the producer's earlier requests have appended; null: none is pending. */
  ready: Promise<void> | null;
  /** Hands the turn on, when this request's appends are made (or refused); again: nothing. */
  done: () => void;
}

export class ProducerTurns {
  /** Per producer id, the turn of its newest request; an entry only while one is pending. */
  private readonly tails = new Map<bigint, Promise<void>>();

  take(producerId: bigint): ProducerTurn {
    const ready = this.tails.get(producerId) ?? null;
    let release: () => void = () => {};
    const mine = new Promise<void>((resolve) => { release = resolve; });
    this.tails.set(producerId, mine);
    let released = false;
    return {
      ready,
      done: () => {
        if (released) return;
        released = true;
        release();
        if (this.tails.get(producerId) === mine) this.tails.delete(producerId);
      },
    };
  }

  /** Producers with a request pending: bounded by the requests in flight. */
  get pending(): number {
    return this.tails.size;
  }
}
