/**
 * The chaos run's oracle (chaos.ts): what was sent, with how each send ended, and the check of a
 * whole read-back against it. Every record value is unique (`<stream>:<seq>`, e.g. `p3:41`), so
 * a value names one send. The check reports, each as a list of lines naming the records:
 *  - lost: acknowledged, and not read back;
 *  - duplicated: read back at more than one place;
 *  - reordered: a stream's records read back out of order within a partition;
 *  - unacknowledged reads: read back, but neither acknowledged nor in doubt;
 *  - offset anomalies: an offset read with two values, offsets delivered backwards, a gap, or a
 *    partition read up to somewhere else than its high watermark;
 *  - offset mismatches: read back at another place than the offset it was acknowledged at.
 * It is tested on its own with known-bad read-backs (chaos-ledger.test.ts).
 */

export interface SentRecord {
  partition: number;
  status: 'pending' | 'acked' | 'doubt';
  ackOffset: number;
  sentAtMs: number;
  doneAtMs: number;
}

export interface ReadRecord {
  partition: number;
  offset: number;
  value: string;
  /** Its record batch: producer id, first sequence, leader epoch ("pid 7 seq 40 epoch 3"). */
  batch: string;
}

export interface LedgerCheck {
  /** Distinct (partition, offset) places read. */
  read: number;
  lost: string[];
  duplicated: string[];
  reordered: string[];
  unacknowledgedRead: string[];
  offsetAnomalies: string[];
  offsetMismatches: string[];
}

interface Place {
  partition: number;
  offset: number;
  batch: string;
}

/** Milliseconds since the run started. */
export interface RunClock {
  now(): number;
}

export class Ledger {
  private readonly records = new Map<string, SentRecord>();
  readonly clientErrors: Record<string, number> = {};

  constructor(private readonly clock: RunClock) {}

  sending(id: string, partition: number): void {
    this.records.set(id, { partition, status: 'pending', ackOffset: -1, sentAtMs: this.clock.now(),
      doneAtMs: -1 });
  }

  acked(id: string, offset: number): void {
    Object.assign(this.records.get(id)!,
      { status: 'acked', ackOffset: offset, doneAtMs: this.clock.now() });
  }

  inDoubt(id: string): void {
    Object.assign(this.records.get(id)!, { status: 'doubt', doneAtMs: this.clock.now() });
  }

  error(where: string, err: unknown): void {
    const key = `${where}: ${errorName(err)}`;
    this.clientErrors[key] = (this.clientErrors[key] ?? 0) + 1;
  }

  count(status: SentRecord['status']): number {
    let n = 0;
    for (const r of this.records.values()) if (r.status === status) n++;
    return n;
  }

  /** Compares what was read back (every partition up to `highs`) with what was sent. */
  check(readBack: ReadRecord[], highs: number[]): LedgerCheck {
    const result: LedgerCheck = { read: 0, lost: [], duplicated: [], reordered: [],
      unacknowledgedRead: [], offsetAnomalies: [], offsetMismatches: [] };
    const byPartition = placeByOffset(readBack, highs, result.offsetAnomalies);
    const batchOf = new Map(readBack.map((r) => [`${r.partition}/${r.offset}`, r.batch]));
    const where = new Map<string, Place[]>();
    byPartition.forEach((records, partition) => {
      const offsets = [...records.keys()].sort((a, b) => a - b);
      result.read += offsets.length;
      checkContiguous(partition, offsets, highs[partition]!, result.offsetAnomalies);
      for (const offset of offsets) {
        const value = records.get(offset)!;
        const place = { partition, offset, batch: batchOf.get(`${partition}/${offset}`)! };
        where.set(value, [...(where.get(value) ?? []), place]);
      }
      checkStreamOrder(partition, offsets.map((o) => [o, records.get(o)!]), result.reordered);
    });
    this.compareWithSent(where, result);
    return result;
  }

  private compareWithSent(where: Map<string, Place[]>, result: LedgerCheck): void {
    const when = (r: SentRecord) =>
      `sent +${seconds(r.sentAtMs)}, ${r.status} +${seconds(r.doneAtMs)}`;
    for (const [id, record] of this.records) {
      const places = where.get(id);
      if (record.status === 'acked') {
        if (places === undefined) {
          result.lost.push(`${id} (p${record.partition}, acknowledged at offset `
            + `${record.ackOffset}; ${when(record)})`);
          continue;
        }
        const at = places[0]!;
        const elsewhere = at.partition !== record.partition || at.offset !== record.ackOffset;
        if (places.length === 1 && elsewhere) {
          result.offsetMismatches.push(`${id}: acknowledged at `
            + `p${record.partition}/${record.ackOffset}, read at p${at.partition}/${at.offset}`);
        }
      }
      if (places !== undefined && places.length > 1) {
        const ack = record.status === 'acked'
          ? `acknowledged at ${record.ackOffset}` : record.status;
        const at = places.map((p) => `p${p.partition}/${p.offset} (${p.batch})`).join(' and ');
        result.duplicated.push(`${id} at ${at} ` +
          `(${ack}; ${when(record)})`);
      }
    }
    for (const [value, places] of where) {
      const record = this.records.get(value);
      if (record === undefined || (record.status !== 'acked' && record.status !== 'doubt')) {
        const at = `p${places[0]!.partition}/${places[0]!.offset}`;
        result.unacknowledgedRead.push(`${value} (${record?.status ?? 'never sent'}) at ${at}`);
      }
    }
  }
}

/** One record per (partition, offset): a reader may be handed an offset twice. */
function placeByOffset(readBack: ReadRecord[], highs: number[], anomalies: string[]):
  Map<number, string>[] {
  const byPartition = highs.map(() => new Map<number, string>());
  const deliveredLast = highs.map(() => -1);
  for (const r of readBack) {
    const seen = byPartition[r.partition];
    if (seen === undefined) {
      anomalies.push(`record in unknown partition ${r.partition}`);
      continue;
    }
    const before = seen.get(r.offset);
    if (before !== undefined && before !== r.value) {
      anomalies.push(`p${r.partition} offset ${r.offset} read as ${before} and as ${r.value}`);
    }
    if (r.offset <= deliveredLast[r.partition]! && before === undefined) {
      const last = deliveredLast[r.partition];
      anomalies.push(`p${r.partition} offset ${r.offset} delivered after ${last}`);
    }
    deliveredLast[r.partition] = Math.max(deliveredLast[r.partition]!, r.offset);
    seen.set(r.offset, r.value);
  }
  return byPartition;
}

/** Offsets from 0 up to the high watermark, none missing. */
function checkContiguous(partition: number, offsets: number[], high: number,
  anomalies: string[]): void {
  let expect = 0;
  for (const o of offsets) {
    if (o !== expect) anomalies.push(`p${partition}: offsets ${expect}..${o - 1} missing`);
    expect = o + 1;
  }
  if (expect !== high) {
    anomalies.push(`p${partition}: read up to ${expect}, high watermark ${high}`);
  }
}

/** Within a partition, each stream's sequence numbers ascend with the offsets. */
function checkStreamOrder(partition: number, records: [number, string][],
  reordered: string[]): void {
  const lastOfStream = new Map<string, { seq: number; offset: number }>();
  for (const [offset, value] of records) {
    const colon = value.lastIndexOf(':');
    const stream = value.slice(0, colon);
    const seq = Number(value.slice(colon + 1));
    const prev = lastOfStream.get(stream);
    if (prev !== undefined && seq < prev.seq) {
      reordered.push(
        `p${partition}: ${value} at ${offset} after ${stream}:${prev.seq} at ${prev.offset}`);
    }
    lastOfStream.set(stream, { seq, offset });
  }
}

/** A client error's name, its kafkajs type and its causes, short enough to count by. */
export function errorName(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const type = (err as { type?: string }).type;
  const cause = (err as { originalError?: unknown }).originalError;
  const what = err.name === 'Error' ? `Error(${err.message.slice(0, 100)})` : err.name;
  const causedBy = cause instanceof Error ? ` <- ${errorName(cause)}` : '';
  return `${what}${type ? `:${type}` : ''}${causedBy}`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
