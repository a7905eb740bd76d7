/**
 * The side-by-side table: one row per figure, one column per system, and the ratio
 * Ledgerstream ÷ Kafka for the single Ledgerstream broker against both Kafka durability modes.
 * Each row says which direction is better; a ratio that is more than 2x worse is bold.
 */
import { SYSTEM_IDS, SYSTEM_NAMES, type SystemId } from './systems.js';
import type { TxnRun } from './transactions.js';
import { ACKS, type Acks, PARTITION_COUNTS, type ProduceRun, type SystemResults } from './workloads.js';

export interface Row {
  /** Section heading the row belongs to. */
  section: string;
  label: string;
  better: 'higher' | 'lower';
  get(r: SystemResults): number;
  /** A scenario's row (TLS, transactions): left out of the table when no system ran it. */
  scenario?: true;
}

/** A figure of a run that ran; throws when it failed, which the table shows as n/a. */
export function measured<T>(x: T | undefined): T {
  if (x === undefined) throw new Error('not measured');
  return x;
}

const run = (r: SystemResults, mode: 'fixed' | 'max', partitions: number, acks: Acks): ProduceRun => {
  const hit = r.produce.find((p) => p.mode === mode && p.partitions === partitions && p.acks === acks);
  if (!hit) throw new Error(`no ${mode} run for ${partitions} partitions acks=${acks}`);
  return hit;
};

const combos = PARTITION_COUNTS.flatMap((partitions) => ACKS.map((acks) => ({ partitions, acks })));
const comboLabel = ({ partitions, acks }: { partitions: number; acks: Acks }) =>
  `${partitions} partition${partitions === 1 ? '' : 's'}, acks=${acks === 'all' ? '-1' : acks}`;

export function rows(rate: number, txnRecords: number): Row[] {
  const out: Row[] = [];
  const maxS = 'Produce at max throughput (Kafka ProducerPerformance)';
  for (const c of combos) out.push({ section: maxS, label: `MB/s, ${comboLabel(c)}`, better: 'higher', get: (r) => run(r, 'max', c.partitions, c.acks).mbPerS });
  for (const c of combos) out.push({ section: maxS, label: `records/s, ${comboLabel(c)}`, better: 'higher', get: (r) => run(r, 'max', c.partitions, c.acks).recordsPerS });
  for (const c of combos) out.push({ section: maxS, label: `p99 latency ms (queueing included), ${comboLabel(c)}`, better: 'lower', get: (r) => run(r, 'max', c.partitions, c.acks).p99Ms });
  const fixedS = `Produce latency at a fixed ${rate.toLocaleString('en-US')} records/s (per record, send to ack)`;
  for (const c of combos) {
    for (const [q, key] of [['p50', 'p50Ms'], ['p99', 'p99Ms'], ['p99.9', 'p999Ms']] as const) {
      out.push({ section: fixedS, label: `${q} ms, ${comboLabel(c)}`, better: 'lower', get: (r) => run(r, 'fixed', c.partitions, c.acks)[key] });
    }
  }
  const add = (section: string, label: string, better: Row['better'], get: Row['get']) =>
    out.push({ section, label, better, get });
  const e2e = (r: SystemResults) => measured(r.e2e);
  const consume = (r: SystemResults) => measured(r.consume);
  const catchUp = (r: SystemResults) => measured(r.catchUp);
  const kafkajs = (r: SystemResults) => measured(r.kafkajs);
  const e2eS = 'End-to-end latency (EndToEndLatency: produce acks=-1 → consumer receives; one record at a time)';
  add(e2eS, 'p50 ms', 'lower', (r) => e2e(r).p50Ms);
  add(e2eS, 'p99 ms', 'lower', (r) => e2e(r).p99Ms);
  add(e2eS, 'p99.9 ms', 'lower', (r) => e2e(r).p999Ms);
  add(e2eS, 'mean ms', 'lower', (r) => e2e(r).avgMs);
  const readS = 'Consume (Kafka ConsumerPerformance, 16 partitions)';
  add(readS, 'MB/s, just written (Kafka: page cache; Ledgerstream: in-memory tail)', 'higher',
    (r) => consume(r).mbPerS);
  add(readS, 'MB/s, catch-up after restart (Ledgerstream: object storage)', 'higher',
    (r) => catchUp(r).mbPerS);
  add(readS, 'records/s, just written', 'higher', (r) => consume(r).recordsPerS);
  add(readS, 'records/s, catch-up after restart', 'higher', (r) => catchUp(r).recordsPerS);
  const jsS = 'kafkajs (the Node path): 8 producers × 8 sends in flight × 16 records, acks=-1, 16 partitions';
  add(jsS, 'produce MB/s', 'higher', (r) => kafkajs(r).produceMbPerS);
  add(jsS, 'produce p99 ms per send() (queueing included)', 'lower',
    (r) => kafkajs(r).produceP99Ms);
  add(jsS, 'consume MB/s (group consumer, from the beginning)', 'higher',
    (r) => kafkajs(r).consumeMbPerS);
  const costS = 'Broker resources';
  out.push({ section: costS, label: 'CPU s per GB, produce at max (16 partitions, acks=-1)', better: 'lower', get: (r) => run(r, 'max', 16, 'all').brokerCpuSPerGb });
  out.push({ section: costS, label: 'CPU s per GB, produce at max (1 partition, acks=1)', better: 'lower', get: (r) => run(r, 'max', 1, '1').brokerCpuSPerGb });
  add(costS, 'CPU s per GB, consume just written', 'lower', (r) => consume(r).brokerCpuSPerGb);
  add(costS, 'CPU s per GB, catch-up read', 'lower', (r) => catchUp(r).brokerCpuSPerGb);
  add(costS, 'peak RSS MiB, whole run (sum over brokers)', 'lower',
    (r) => measured(r.peakRssMiB));
  return [...out, ...fleetRows(), ...brokerMetricRows(), ...s3Rows(), ...tlsRows(rate),
    ...txnRows(txnRecords)];
}

/**
 * Issue 10: the TLS scenario (tls.ts), each figure beside the plaintext run of the same workload
 * on the same broker and their quotient; n/a on systems that did not run it.
 */
function tlsRows(rate: number): Row[] {
  const section = 'TLS: the same broker\'s SSL listener beside its plaintext one, same ' +
    'certificates (Kafka ProducerPerformance/ConsumerPerformance, 16 partitions, acks=-1)';
  const tls = (r: SystemResults) => {
    if (!r.tls) throw new Error('no TLS runs');
    return r.tls;
  };
  const out: Row[] = [];
  const triple = (what: string, better: Row['better'], plain: (r: SystemResults) => number,
    secure: (r: SystemResults) => number) => {
    out.push({ section, label: `${what}, plaintext`, better, scenario: true, get: (r) => {
      tls(r); // n/a where the TLS scenario did not run
      return plain(r);
    } });
    out.push({ section, label: `${what}, TLS`, better, scenario: true, get: secure });
    out.push({ section, label: `${what}, TLS ÷ plaintext`, better, scenario: true,
      get: (r) => secure(r) / plain(r) });
  };
  triple('produce MB/s at max throughput', 'higher', (r) => run(r, 'max', 16, 'all').mbPerS,
    (r) => tls(r).produceMax.mbPerS);
  triple(`produce p99 ms at a fixed ${rate.toLocaleString('en-US')} records/s`, 'lower',
    (r) => run(r, 'fixed', 16, 'all').p99Ms, (r) => tls(r).produceFixed.p99Ms);
  triple('consume MB/s, just written', 'higher', (r) => measured(r.consume).mbPerS,
    (r) => tls(r).consume.mbPerS);
  triple('broker CPU s per GB, produce at max', 'lower',
    (r) => run(r, 'max', 16, 'all').brokerCpuSPerGb, (r) => tls(r).produceMax.brokerCpuSPerGb);
  triple('broker CPU s per GB, consume just written', 'lower',
    (r) => measured(r.consume).brokerCpuSPerGb,
    (r) => tls(r).consume.brokerCpuSPerGb);
  return out;
}

/** Issue 11: the transactional produce scenario (transactions.ts); n/a where it did not run. */
function txnRows(txnRecords: number): Row[] {
  const section = 'Transactional produce (Java producer, transactions of ' +
    `${txnRecords.toLocaleString('en-US')} records back to back, 16 partitions)`;
  const txn = (r: SystemResults) => {
    if (!r.txn) throw new Error('no transactional run');
    return r.txn;
  };
  const row = (label: string, better: Row['better'], get: (t: TxnRun) => number): Row =>
    ({ section, label, better, scenario: true, get: (r) => get(txn(r)) });
  return [
    row('commit latency p50 ms (commitTransaction() call to return)', 'lower',
      (t) => t.commitP50Ms),
    row('commit latency p99 ms', 'lower', (t) => t.commitP99Ms),
    row('records/s', 'higher', (t) => t.recordsPerS),
    row('MB/s', 'higher', (t) => t.mbPerS),
    row('broker CPU s per GB', 'lower', (t) => t.brokerCpuSPerGb),
  ];
}

/** Issue 13 target 6: the agent fleet. */
function fleetRows(): Row[] {
  const section = 'Agent fleet (franz-go: producers × ~10 keyed JSON records/s, acks=-1, ' +
    'idempotent; consumer groups)';
  const row = (label: string, better: Row['better'], get: Row['get']): Row =>
    ({ section, label, better, get });
  return [
    row('produce p50 ms per record', 'lower', (r) => measured(r.fleet).produce.p50Ms ?? NaN),
    row('produce p99 ms per record', 'lower', (r) => measured(r.fleet).produce.p99Ms ?? NaN),
    row('end-to-end p99 ms (create time → consumer poll, every group)', 'lower',
      (r) => measured(r.fleet).endToEnd.p99Ms ?? NaN),
    row('records/s acknowledged', 'higher', (r) => measured(r.fleet).recordsPerS),
    row('broker CPU, cores busy (whole run)', 'lower',
      (r) => measured(r.fleet).brokerCpuS / measured(r.fleet).wallS),
    row('broker peak RSS MiB', 'lower', (r) => measured(r.fleet).peakRssMiB),
    row('producer connections open at peak', 'higher',
      (r) => measured(r.fleet).producerConnectionsPeak),
  ];
}

const worstBroker = (xs: number[]): number => (xs.length === 0 ? NaN : Math.max(...xs));

/**
 * From the Ledgerstream brokers' own /metrics (n/a for Kafka): the event-loop delay at the fixed
 * rate (issue 13 target 3) and object-store requests (target 4: PUTs/s per broker).
 */
function brokerMetricRows(): Row[] {
  const section = 'Ledgerstream brokers\' own metrics (worst broker)';
  const out: Row[] = [];
  for (const c of combos) {
    const fixed = (r: SystemResults) => run(r, 'fixed', c.partitions, c.acks);
    out.push({ section, label: `event-loop delay p99 ms (≤), fixed rate, ${comboLabel(c)}`,
      better: 'lower', get: (r) => fixed(r).eventLoopP99Ms });
    out.push({ section, label: `event-loop delay max ms (≤), fixed rate, ${comboLabel(c)}`,
      better: 'lower', get: (r) => fixed(r).eventLoopMaxMs });
  }
  for (const mode of ['fixed', 'max'] as const) {
    out.push({ section, label: `PUTs/s per broker, produce ${mode}, 16 partitions, acks=-1`,
      better: 'lower', get: (r) => worstBroker(run(r, mode, 16, 'all').putsPerS) });
  }
  // The disk's share of produce latency: an acknowledged produce waits for its fsync.
  for (const q of ['p50', 'p99'] as const) {
    const key = q === 'p50' ? 'walFsyncP50Ms' : 'walFsyncP99Ms';
    for (const mode of ['fixed', 'max'] as const) {
      out.push({ section, label: `WAL fsync ${q} ms (≤), produce ${mode}, 16 partitions, acks=-1`,
        better: 'lower', get: (r) => run(r, mode, 16, 'all')[key] });
    }
    out.push({ section, label: `WAL fsync ${q} ms (≤), agent fleet`, better: 'lower',
      get: (r) => measured(r.fleet)[key] });
  }
  out.push({ section, label: 'PUTs/s per broker, agent fleet', better: 'lower',
    get: (r) => worstBroker(measured(r.fleet).putsPerS) });
  out.push({ section, label: 'GETs/s per broker, catch-up read', better: 'higher',
    get: (r) => worstBroker(measured(r.catchUp).getsPerS) });
  return out;
}

/** Issue 13 target 5: systems whose objects live in S3 (MinIO). */
function s3Rows(): Row[] {
  const section = 'Reads from S3 (MinIO; systems with the S3 store only)';
  return [
    { section, label: 'MB/s, raw GET of every object, broker\'s S3 client, 16 in flight',
      better: 'higher', get: (r) => r.rawGet?.mbPerS ?? NaN },
    { section, label: 'catch-up MB/s ÷ raw GET MB/s', better: 'higher',
      get: (r) => (r.rawGet ? measured(r.catchUp).mbPerS / r.rawGet.mbPerS : NaN) },
  ];
}

/** Sections of the scenarios (tls.ts, transactions.ts): filled on the systems they ran on. */
export const SCENARIO_SECTIONS = ['TLS:', 'Transactional produce'];

/** Sections only Ledgerstream brokers can fill (Kafka has no such metrics). */
export const LEDGERSTREAM_ONLY_SECTIONS = ['Ledgerstream brokers\' own metrics', 'Reads from S3'];

export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** Ledgerstream ÷ Kafka, bold when Ledgerstream is more than 2x worse. */
function ratio(ls: number | undefined, kafka: number | undefined, better: Row['better']): string {
  if (ls === undefined || kafka === undefined || !Number.isFinite(ls) || !Number.isFinite(kafka) || kafka === 0) return 'n/a';
  const r = ls / kafka;
  const worse = better === 'higher' ? r < 0.5 : r > 2;
  const text = `${r.toFixed(2)}×`;
  return worse ? `**${text}**` : text;
}

/** Figures of one row for every system, or undefined where a system was not measured or a figure is missing. */
function cell(results: Partial<Record<SystemId, SystemResults>>, id: SystemId, row: Row): number | undefined {
  const r = results[id];
  if (!r) return undefined;
  try {
    return row.get(r);
  } catch {
    return undefined;
  }
}

export function table(results: Partial<Record<SystemId, SystemResults>>, rate: number,
  txnRecords: number): string {
  const ids = SYSTEM_IDS;
  const head = ['Figure', ...ids.map((id) => SYSTEM_NAMES[id]), 'Ledgerstream ÷ Kafka', 'Ledgerstream ÷ Kafka fsync'];
  const lines = [`| ${head.join(' | ')} |`, `|---|${ids.map(() => '---:').join('|')}|---:|---:|`];
  let section = '';
  for (const row of rows(rate, txnRecords)) {
    const v = (id: SystemId) => cell(results, id, row);
    if (row.scenario && ids.every((id) => v(id) === undefined)) continue;
    if (row.section !== section) {
      section = row.section;
      lines.push(`| **${section}** |${ids.map(() => '').join(' |')} | | |`);
    }
    lines.push(`| ${row.label} (${row.better === 'higher' ? '↑' : '↓'}) | ${ids.map((id) => fmt(v(id))).join(' | ')} | ` +
      `${ratio(v('ledgerstream'), v('kafka'), row.better)} | ${ratio(v('ledgerstream'), v('kafka-fsync'), row.better)} |`);
  }
  return lines.join('\n');
}

/** Rows where the single Ledgerstream broker is more than 2x worse than Kafka in either mode. */
export function bigGaps(results: Partial<Record<SystemId, SystemResults>>, rate: number,
  txnRecords: number): string[] {
  const out: string[] = [];
  for (const row of rows(rate, txnRecords)) {
    const ls = cell(results, 'ledgerstream', row);
    for (const k of ['kafka', 'kafka-fsync'] as const) {
      const kv = cell(results, k, row);
      if (ls === undefined || kv === undefined || !Number.isFinite(ls) || !Number.isFinite(kv) || kv === 0) continue;
      const r = ls / kv;
      if (row.better === 'higher' ? r < 0.5 : r > 2) out.push(`${row.section}: ${row.label}: Ledgerstream ${fmt(ls)} vs ${SYSTEM_NAMES[k]} ${fmt(kv)} (${r.toFixed(2)}×)`);
    }
  }
  return out;
}
