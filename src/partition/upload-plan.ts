/**
 * Splits what the uploader found pending into segment objects of bounded size, oldest first.
 * Without it, a backlog built up during an object-store outage went up as ONE object, which the
 * object-size check refused on every retry once the backlog passed it (issue 8 item 4).
 *
 * The plan keeps three rules:
 *   - an object holds at most `objectBytesMax` batch bytes, except an object of a single batch
 *     larger than that on its own (it goes alone, so an upload always makes progress);
 *   - an object holds at most `partitionsMax` partitions (one coordinator transaction);
 *   - per partition, consecutive objects take consecutive slices from its oldest pending batch
 *     on, so what each object holds is a prefix of what is still pending once the objects before
 *     it are committed. The uploader commits them in order and stops at the first failure, so the
 *     segment index of every partition stays contiguous.
 * Across partitions, batches are taken in WAL order (ascending LSN; ties by position in
 * `pending`), so each committed object frees the front of the WAL and the WAL can be trimmed
 * while a large backlog drains.
 */
import assert from 'node:assert/strict';

export interface PendingBatch {
  /** WAL sequence number (0 for every batch in object-storage WAL mode). */
  lsn: number;
  bytes: { length: number };
}

export interface PendingPart<L, B extends PendingBatch> {
  /** The partition (a PartitionLog in the uploader). */
  log: L;
  /** Oldest first, as PartitionLog.uploadable returns them. */
  batches: readonly B[];
}

export interface UploadPlanLimits {
  objectBytesMax: number;
  partitionsMax: number;
}

/** One object to build: per partition, a run of consecutive pending batches. */
export type PlannedObject<L, B extends PendingBatch> = PendingPart<L, B>[];

export function planUploadObjects<L, B extends PendingBatch>(pending: readonly PendingPart<L, B>[],
  limits: UploadPlanLimits): PlannedObject<L, B>[] {
  assert.ok(limits.objectBytesMax > 0 && limits.partitionsMax > 0, 'upload plan limits are positive');
  const cursors = new Array<number>(pending.length).fill(0);
  const lsnAt = (i: number) => pending[i]!.batches[cursors[i]!]!.lsn;
  const queue = new MinQueue((a, b) => lsnAt(a) - lsnAt(b) || a - b);
  pending.forEach((p, i) => { if (p.batches.length > 0) queue.push(i); });
  const objects: PlannedObject<L, B>[] = [];
  let current = new Map<number, B[]>();
  let currentBytes = 0;
  const close = () => {
    objects.push([...current].map(([i, batches]) => ({ log: pending[i]!.log, batches })));
    current = new Map();
    currentBytes = 0;
  };
  for (let i = queue.peek(); i !== undefined; i = queue.peek()) {
    const batch = pending[i]!.batches[cursors[i]!]!;
    const newPartition = !current.has(i);
    const full = currentBytes + batch.bytes.length > limits.objectBytesMax
      || (newPartition && current.size >= limits.partitionsMax);
    if (full && current.size > 0) close();
    const run = current.get(i) ?? [];
    if (run.length === 0) current.set(i, run);
    run.push(batch);
    currentBytes += batch.bytes.length;
    cursors[i]! += 1;
    if (cursors[i]! < pending[i]!.batches.length) queue.updateTop();
    else queue.pop();
  }
  if (current.size > 0) close();
  return objects;
}

/** A binary min-heap of indices; `updateTop` re-sorts after the top's key grew. */
class MinQueue {
  private readonly heap: number[] = [];

  constructor(private readonly compare: (a: number, b: number) => number) {}

  peek(): number | undefined {
    return this.heap[0];
  }

  push(item: number): void {
    const h = this.heap;
    h.push(item);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (this.compare(h[i]!, h[parent]!) >= 0) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): void {
    const last = this.heap.pop();
    if (last === undefined || this.heap.length === 0) return;
    this.heap[0] = last;
    this.updateTop();
  }

  updateTop(): void {
    const h = this.heap;
    for (let i = 0; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < h.length && this.compare(h[left]!, h[least]!) < 0) least = left;
      if (right < h.length && this.compare(h[right]!, h[least]!) < 0) least = right;
      if (least === i) return;
      [h[i], h[least]] = [h[least]!, h[i]!];
      i = least;
    }
  }
}
