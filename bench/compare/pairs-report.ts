/**
 * The report of `npm run bench:pairs` (pairs.ts): a summary with, per figure, each system's median
 * over the rounds and the median and range of Ledgerstream ÷ Kafka taken within each round, then
 * every round's figures.
 */
import { machineSummary, revision } from '../lib/run-info.js';
import { failureProblem, type RunFailure } from './failures.js';
import type { FleetResult } from './fleet.js';
import { fmt } from './report.js';
import { SYSTEM_NAMES } from './systems.js';
import { type Acks, type AllWorkloadSettings, type BrokerUse, coresBusyElsewhere,
  type ProduceRun, produceWhat } from './workloads.js';

export type PairSystem = 'kafka' | 'kafka-fsync' | 'ledgerstream';
export const PAIR_SYSTEMS: readonly PairSystem[] = ['kafka', 'kafka-fsync', 'ledgerstream'];
/** Target 6 compares the fleet with Kafka's default only; a fleet run takes over two minutes. */
export const PAIR_FLEET_SYSTEMS: readonly PairSystem[] = ['kafka', 'ledgerstream'];

/** The max-throughput produce runs of every round: partitions × acks. */
export const PAIR_PRODUCE: readonly (readonly [number, Acks])[] =
  [[1, '1'], [1, 'all'], [16, '1'], [16, 'all']];

export interface PairRound {
  round: number;
  order: PairSystem[];
  /** By produceWhat('max', partitions, acks), then by system. */
  produce: Record<string, Partial<Record<PairSystem, ProduceRun>>>;
  fleet: Partial<Record<PairSystem, FleetResult & BrokerUse>>;
}

interface Figure {
  label: string;
  better: 'higher' | 'lower';
  /** The figure of one system in one round, undefined where that run failed. */
  get(r: PairRound, id: PairSystem): number | undefined;
  /** The run it comes from, to flag a disturbed one. */
  use(r: PairRound, id: PairSystem): BrokerUse | undefined;
}

function produceFigures(): Figure[] {
  return PAIR_PRODUCE.flatMap(([partitions, acks]) => {
    const key = produceWhat('max', partitions, acks);
    const run = (r: PairRound, id: PairSystem) => r.produce[key]?.[id];
    const what = `produce ${partitions}p acks=${acks}`;
    return [
      { label: `${what}: MB/s`, better: 'higher' as const, use: run,
        get: (r: PairRound, id: PairSystem) => run(r, id)?.mbPerS },
      { label: `${what}: p99 ms`, better: 'lower' as const, use: run,
        get: (r: PairRound, id: PairSystem) => run(r, id)?.p99Ms },
      { label: `${what}: broker CPU s per GB`, better: 'lower' as const, use: run,
        get: (r: PairRound, id: PairSystem) => run(r, id)?.brokerCpuSPerGb },
    ];
  });
}

const FLEET_FIGURES: Figure[] = [
  { label: 'agent fleet: produce p50 ms', better: 'lower',
    get: (r, id) => r.fleet[id]?.produce.p50Ms ?? undefined, use: (r, id) => r.fleet[id] },
  { label: 'agent fleet: produce p99 ms', better: 'lower',
    get: (r, id) => r.fleet[id]?.produce.p99Ms ?? undefined, use: (r, id) => r.fleet[id] },
  { label: 'agent fleet: end-to-end p99 ms', better: 'lower',
    get: (r, id) => r.fleet[id]?.endToEnd.p99Ms ?? undefined, use: (r, id) => r.fleet[id] },
  { label: 'agent fleet: broker CPU s', better: 'lower',
    get: (r, id) => r.fleet[id]?.brokerCpuS, use: (r, id) => r.fleet[id] },
];

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

/** Ledgerstream ÷ `base` within each round where both ran. */
function ratios(f: Figure, rounds: PairRound[], base: PairSystem): number[] {
  return rounds.flatMap((r) => {
    const ls = f.get(r, 'ledgerstream');
    const b = f.get(r, base);
    return finite(ls) && finite(b) && b > 0 ? [ls / b] : [];
  });
}

/** "0.92× (0.85–1.01×, 3 of 5 better)", or n/a. */
function ratioCell(f: Figure, xs: number[]): string {
  if (xs.length === 0) return 'n/a';
  const won = xs.filter((x) => (f.better === 'higher' ? x > 1 : x < 1)).length;
  const range = `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}×`;
  return `${median(xs).toFixed(2)}× (${range}, ${won} of ${xs.length} better)`;
}

function summaryRow(f: Figure, rounds: PairRound[], fsync: boolean): string {
  const med = (id: PairSystem) => fmt(median(rounds.map((r) => f.get(r, id)).filter(finite)));
  const cells = [f.label, med('kafka'), fsync ? med('kafka-fsync') : 'n/a', med('ledgerstream'),
    ratioCell(f, ratios(f, rounds, 'kafka')),
    fsync ? ratioCell(f, ratios(f, rounds, 'kafka-fsync')) : 'n/a'];
  return `| ${cells.join(' | ')} |`;
}

/** One round's figure for every system, `*` marking a disturbed run. */
function roundRow(r: PairRound, figures: Figure[], systems: readonly PairSystem[]): string {
  const cells = figures.flatMap((f) => systems.map((id) => {
    const u = f.use(r, id);
    const flag = u !== undefined && coresBusyElsewhere(u) > 0.5 ? '*' : '';
    return `${fmt(f.get(r, id))}${flag}`;
  }));
  const order = r.order.map((id) => SYSTEM_NAMES[id]).join(', ');
  return `| ${r.round} | ${order} | ${cells.join(' | ')} |`;
}

function roundTable(title: string, figures: Figure[], systems: readonly PairSystem[],
  rounds: PairRound[]): string[] {
  const heads = figures.flatMap((f) =>
    systems.map((id) => `${f.label.split(': ')[1]}, ${SYSTEM_NAMES[id]}`));
  return [`### ${title}`, '', `| Round | Order | ${heads.join(' | ')} |`,
    `|---|---|${heads.map(() => '---').join('|')}|`,
    ...rounds.map((r) => roundRow(r, figures, systems)), ''];
}

export interface PairsReport {
  s: AllWorkloadSettings & { rounds: number };
  stamp: string;
  startedMs: number;
  kafkaVersion: string;
  rounds: PairRound[];
  failures: RunFailure[];
}

export function renderPairs(p: PairsReport): string {
  const { s, rounds } = p;
  const produce = produceFigures();
  const fleet = s.fleetS > 0 ? FLEET_FIGURES : [];
  const minutes = ((Date.now() - p.startedMs) / 60_000).toFixed(1);
  const fleetSetup = s.fleetS === 0 ? '' : `; agent fleet ${s.fleetProducers} producers × ` +
    `${s.fleetRate} records/s, ${s.fleetGroups} groups × ${s.fleetConsumersPerGroup} consumers, ` +
    `${s.fleetS} s`;
  const out = [
    `# Paired benchmark ${p.stamp}`, '',
    `Revision ${revision()}; ${machineSummary()}; Apache Kafka ${p.kafkaVersion}; ` +
      `${rounds.length} rounds in ${minutes} min; ${s.maxRecords} records of ${s.recordBytes} ` +
      `bytes per produce run${fleetSetup}.`,
    '', 'Every workload runs on every system before the next one, the order reversed every ' +
      'other round (bench/compare/pairs.ts). Ratios are Ledgerstream ÷ Kafka within each ' +
      'round; "better" counts the rounds in which Ledgerstream was ahead.', '',
    '| Figure | Kafka (median) | Kafka fsync (median) | Ledgerstream (median) | ' +
      'Ledgerstream ÷ Kafka | Ledgerstream ÷ Kafka fsync |',
    '|---|---|---|---|---|---|',
    ...produce.map((f) => summaryRow(f, rounds, true)),
    ...fleet.map((f) => summaryRow(f, rounds, false)), '',
    ...PAIR_PRODUCE.flatMap(([partitions, acks]) => roundTable(
      `Produce at max throughput, ${partitions} partition(s), acks=${acks}`,
      produce.filter((f) => f.label.startsWith(`produce ${partitions}p acks=${acks}:`)),
      PAIR_SYSTEMS, rounds)),
    ...(fleet.length > 0 ? roundTable('Agent fleet', fleet, PAIR_FLEET_SYSTEMS, rounds)
      : []),
    '`*`: the machine kept more than 0.5 cores busy outside the broker and the load generator ' +
      'during that run (disturbed).', '',
  ];
  if (p.failures.length > 0) {
    out.push('## Problems', '', ...p.failures.map((f) => `- ${failureProblem(f)}`), '');
  }
  return out.join('\n');
}
