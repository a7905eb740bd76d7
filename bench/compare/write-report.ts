/**
 * The report of one `npm run bench` (main.ts): bench/results/compare-<time>.md (the table with
 * Ledgerstream ÷ Kafka ratios, Problems, setup notes, the resource table, CPU profiles),
 * compare-<time>.svg (chart), raw/compare-<time>.json, and copies of the first two as
 * compare-latest.{md,svg}; with `readme` it also replaces the table in README.md.
 * Runs that failed (failures.ts) are listed under Problems with their errors; their figures read
 * n/a.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { summarizeProfile } from '../lib/cpu-profile.js';
import { machineSummary, revision } from '../lib/run-info.js';
import { chart } from './chart.js';
import { failureProblem, type RunFailure } from './failures.js';
import type { FleetResult } from './fleet.js';
import { bigGaps, fmt, table } from './report.js';
import { SYSTEM_NAMES, type SystemId } from './systems.js';
import { type AllWorkloadSettings, type BrokerUse, coresBusyElsewhere,
  type SystemResults } from './workloads.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const README = path.join(REPO, 'README.md');
const CORES = cpus().length;
const README_START = '<!-- bench:compare:start -->';
const README_END = '<!-- bench:compare:end -->';
/** Runs whose profiles the report summarizes (all are kept in the profile folder). */
const PROFILED_IN_REPORT = ['produce max 16p acks=all', 'produce max 1p acks=1',
  'produce fixed 16p acks=all', 'consume just written', 'catch-up'];
const KAFKAJS_VERSION = (createRequire(import.meta.url)('kafkajs/package.json') as
  { version: string }).version;

/** The settings the report describes. */
export interface ReportSettings extends AllWorkloadSettings {
  /** Systems that also ran the TLS scenario, and the transactional one. */
  tlsSystems: SystemId[];
  txnSystems: SystemId[];
  /** Where reports go (bench/results by default). */
  outDir: string;
  readme: boolean;
}

/** One benchmark run, measured: what the report is made of. */
export interface BenchRun {
  s: ReportSettings;
  /** The run's start: its time stamp (in file names) and Date.now(). */
  stamp: string;
  startedMs: number;
  results: Partial<Record<SystemId, SystemResults>>;
  /** One line on each system that started. */
  descriptions: Map<SystemId, string>;
  /** Problems noticed outside the results (a busy machine before the start). */
  problems: string[];
  failures: RunFailure[];
  kafkaVersion: string;
  javaVersion: string;
}

type Entries = [SystemId, SystemResults][];
const entries = (results: BenchRun['results']): Entries => Object.entries(results) as Entries;

function setupNotes(run: BenchRun): string[] {
  const { s, kafkaVersion } = run;
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    ...[...run.descriptions].map(([id, d]) => `- **${SYSTEM_NAMES[id]}**: ${d}.`),
    `- Load: Apache Kafka ${kafkaVersion}'s ProducerPerformance, ConsumerPerformance and ` +
      'EndToEndLatency (Java client defaults: linger.ms 5, batch.size 16 KiB, idempotent with ' +
      'acks=-1; JVM flags of Kafka\'s perf-test scripts), one JVM per run; kafkajs ' +
      `${KAFKAJS_VERSION} in 2 forked Node processes for the kafkajs rows. Load generator and ` +
      'brokers share this machine\'s cores.',
    `- Records: ${s.recordBytes}-byte values, no key, no compression. MB = 10^6 bytes of record ` +
      'values (framing not counted); CPU s per GB use the same bytes.',
    `- Max throughput: ${n(s.maxRecords)} records per run as fast as the producer goes ` +
      '(latency there includes the producer\'s own queueing). Fixed rate: ' +
      `${n(s.rate)} records/s for ${s.fixedS} s. End to end: ${n(s.e2eRecords)} records, one ` +
      `at a time. kafkajs: ${s.kafkajsS} s of produce. Every run writes a fresh topic after a ` +
      `${n(s.warmupRecords)}-record warm-up.`,
    '- Catch-up: every broker is restarted gracefully (Ledgerstream: SIGTERM uploads the WAL; ' +
      'the cluster restarts one broker at a time), then a fresh group reads the 16-partition ' +
      'acks=1 topic. Ledgerstream then serves it from object storage through its read cache ' +
      '(the share is measured from its metrics); Kafka reads its log segments, which the OS ' +
      'page cache likely still holds.',
    '- Broker CPU: utime+stime from /proc/<pid>/stat over each run (the cluster: the three ' +
      'brokers summed); RSS sampled every 100 ms, the cluster\'s summed per sample.',
    '- acks=1 vs acks=-1: one Kafka node and one Ledgerstream broker have no followers, so ' +
      'both wait for the same thing; only the Java producer\'s idempotence (on with acks=-1) ' +
      'differs.',
    `- Agent fleet: ${n(s.fleetProducers)} franz-go producer clients in ` +
      'one Go process (bench/load-go; each idempotent, acks=-1, its own connections) sending ' +
      `${s.fleetRate} records/s each of 300-800-byte keyed JSON to a ${s.fleetPartitions}-` +
      `partition topic, and ${s.fleetGroups} groups × ${s.fleetConsumersPerGroup} consumers ` +
      `reading it; measured for ${s.fleetS} s once every producer has sent. Produce latency ` +
      'per record (Produce call to acknowledgement); end to end from the record\'s create ' +
      'time to a consumer\'s poll, each record once per group. Broker CPU and RSS cover the ' +
      'whole run (ramp and drain included).',
    ...scenarioNotes(s),
    '- S3 rows: the raw GET baseline reads every object in the broker\'s bucket whole, 16 GETs ' +
      'in flight, with the broker\'s own S3 client (same SDK and settings), right after the ' +
      'catch-up read; its MB are object bytes (framing and footers included), the ' +
      'catch-up\'s are record values.',
    ...entries(run.results).flatMap(([id, r]) => (r.catchUp?.objectStoreShare === undefined ? []
      : [`- ${SYSTEM_NAMES[id]} catch-up read: ` +
        `${(100 * r.catchUp.objectStoreShare).toFixed(1)}% of the fetched bytes came from ` +
        'object storage (broker metrics).'])),
  ];
}

const names = (ids: SystemId[]): string => ids.map((id) => SYSTEM_NAMES[id]).join(', ');

/** The setup notes of the scenarios that ran. */
function scenarioNotes(s: ReportSettings): string[] {
  const out: string[] = [];
  if (s.tlsSystems.length > 0) {
    out.push(`- TLS (${names(s.tlsSystems)}): the broker serves an SSL listener beside ` +
      'PLAINTEXT, Kafka and Ledgerstream with the same certificates (a throwaway CA, an RSA ' +
      '2048 server key, PEM files), server authentication only (no client certificate); the ' +
      'tools connect with security.protocol=SSL and the CA as a PEM truststore. After the other ' +
      'workloads: a TLS warm-up, then the max-throughput and fixed-rate produce runs and the ' +
      'just-written consume over TLS, 16 partitions, acks=-1, the sizes above; the plaintext ' +
      'figures beside them are the same broker\'s runs of those workloads earlier in the run.');
  }
  if (s.txnSystems.length > 0) {
    out.push(`- Transactions (${names(s.txnSystems)}): one Java producer ` +
      '(bench/compare/TransactionalProducer.java, client defaults) runs transactions of ' +
      `${s.txnRecords} records back to back for ${s.txnS} s into a fresh 16-partition topic, ` +
      'after the other workloads (10 warm-up transactions not counted). Commit latency: ' +
      'commitTransaction() call to its return (the flush of the transaction\'s records, EndTxn, ' +
      'the markers); records/s and MB/s over the measured window.');
  }
  return out;
}

/**
 * An agent fleet that did not run as asked: fewer connections than producers, or fewer records
 * acknowledged than offered (the system, or the generator on a busy machine, fell behind: its
 * latencies are then queueing, not service times).
 */
function fleetProblems(name: string, f: FleetResult, s: ReportSettings): string[] {
  const out: string[] = [];
  if (f.producerConnectionsPeak < f.producers) {
    out.push(`${name}: agent fleet held ${f.producerConnectionsPeak} producer connections for ` +
      `${f.producers} producers`);
  }
  const offered = s.fleetProducers * s.fleetRate;
  if (f.recordsPerS < 0.9 * offered) {
    out.push(`${name}: agent fleet acknowledged ${fmt(f.recordsPerS)} of the ${fmt(offered)} ` +
      'records/s offered: it fell behind, so its latencies include a growing queue');
  }
  return out;
}

/** Every measured run of a system with its name in the resource table, in the table's order. */
function namedRuns(r: SystemResults): [string, BrokerUse][] {
  const out: [string, BrokerUse][] = r.produce.map((p) =>
    [`produce ${p.mode} ${p.partitions}p acks=${p.acks}`, p]);
  const add = (what: string, u: BrokerUse | undefined) => {
    if (u) out.push([what, u]);
  };
  add('consume just written', r.consume);
  add('kafkajs produce', r.kafkajs);
  add('agent fleet', r.fleet);
  add('catch-up', r.catchUp);
  add('TLS produce max 16p acks=all', r.tls?.produceMax);
  add('TLS produce fixed 16p acks=all', r.tls?.produceFixed);
  add('TLS consume just written', r.tls?.consume);
  add('transactional produce', r.txn);
  return out;
}

/** What the figures of a system's runs say about the run itself (a disturbed machine, …). */
function resultProblems(run: BenchRun): string[] {
  const problems: string[] = [];
  for (const [id, r] of entries(run.results)) {
    const name = SYSTEM_NAMES[id];
    for (const [, u] of namedRuns(r).filter(([what]) => what !== 'kafkajs produce')) {
      const other = coresBusyElsewhere(u);
      if (other > 0.5) {
        problems.push(`${name}: ${other.toFixed(2)} cores busy outside broker and load ` +
          'generator during a run: disturbed');
      }
    }
    const share = r.catchUp?.objectStoreShare;
    if (share !== undefined && !(share > 0.99)) {
      problems.push(`${name}: only ${(100 * (share || 0)).toFixed(0)}% of the catch-up read ` +
        'came from object storage');
    }
    if (r.kafkajs && r.kafkajs.produceErrors > 0) {
      problems.push(`${name}: ${r.kafkajs.produceErrors} kafkajs send() calls failed`);
    }
    if (r.fleet) problems.push(...fleetProblems(name, r.fleet, run.s));
  }
  return problems;
}

/** Per broker, "a / b / c" for a cluster; n/a where there are no broker metrics (Kafka). */
const perBroker = (xs: number[]): string => (xs.length === 0 ? 'n/a' : xs.map(fmt).join(' / '));

function useRow(id: SystemId, what: string, u: BrokerUse): string {
  const cells = [SYSTEM_NAMES[id], what, fmt(u.brokerCpuS), fmt(u.brokerCpuSPerGb),
    fmt(u.peakRssMiB), fmt(u.clientCpuS), fmt(u.wallS), fmt(u.machineBusy * CORES),
    perBroker(u.putsPerS), perBroker(u.getsPerS), fmt(u.eventLoopP99Ms), fmt(u.eventLoopMaxMs),
    fmt(u.walFsyncP50Ms), fmt(u.walFsyncP99Ms)];
  return `| ${cells.join(' | ')} |`;
}

const USE_COLUMNS = ['System', 'Run', 'broker CPU s', 'broker CPU s per GB',
  'broker peak RSS MiB', 'load generator CPU s', 'wall s', 'machine busy (cores)',
  'PUTs/s per broker', 'GETs/s per broker', 'event-loop delay p99 ms (≤)',
  'event-loop delay max ms (≤)', 'WAL fsync p50 ms (≤)', 'WAL fsync p99 ms (≤)'];
const USE_HEAD = [`| ${USE_COLUMNS.join(' | ')} |`,
  `|---|---|${'---:|'.repeat(USE_COLUMNS.length - 2)}`];

/** The resource table: one row per run of every system. */
function useTable(results: BenchRun['results']): string[] {
  return [
    '## Broker and load-generator CPU per run',
    '',
    'PUTs/s and GETs/s: object-store requests of each broker over the run (its own counters, ' +
      'ledgerstream_object_store_requests; GETs include ranged GETs). Event-loop delay: the ' +
      'worst broker\'s p99 and max in the run, from ledgerstream_event_loop_delay_seconds ' +
      '(bucket upper bounds). WAL fsync: the worst broker\'s p50 and p99 from ' +
      'ledgerstream_wal_fsync_seconds (bucket upper bounds; n/a with no local WAL or no writes).',
    '',
    ...USE_HEAD,
    ...entries(results).flatMap(([id, r]) => namedRuns(r).map(([what, u]) => useRow(id, what, u))),
    '',
  ];
}

async function profileSections(results: BenchRun['results']): Promise<string[]> {
  const profiles = results.ledgerstream?.profiles ?? {};
  const out: string[] = [];
  for (const label of PROFILED_IN_REPORT) {
    const file = profiles[label];
    if (!file) continue;
    out.push(`## CPU profile of the Ledgerstream broker: ${label}`, '', `\`${file}\``, '',
      await summarizeProfile(file, 15), '');
  }
  return out;
}

/** The report's Markdown. */
async function markdown(run: BenchRun, rev: string, machine: string): Promise<string> {
  const { s, results, stamp } = run;
  const minutes = (Date.now() - run.startedMs) / 60_000;
  const problems = [...run.problems, ...run.failures.map(failureProblem),
    ...resultProblems(run)];
  return [
    `# Ledgerstream vs Apache Kafka, ${stamp}`,
    '',
    `Code: ${rev}. Machine: ${machine}; Node ${process.version}; ${run.javaVersion}; Apache ` +
      `Kafka ${run.kafkaVersion}. Brokers, load generators and this harness share the machine. ` +
      `The run took ${minutes.toFixed(1)} min.`,
    '',
    '↑ higher is better, ↓ lower is better. Ratios compare the single Ledgerstream broker with ' +
      'Kafka; **bold** marks Ledgerstream more than 2× worse.',
    '',
    table(results, s.rate, s.txnRecords),
    '',
    `![throughput and latency](compare-${stamp}.svg)`,
    '',
    ...(problems.length > 0 ? ['## Problems', '', ...problems.map((p) => `- ${p}`), ''] : []),
    '## More than 2× behind Kafka',
    '',
    ...(bigGaps(results, s.rate, s.txnRecords).map((g) => `- ${g}`)),
    '',
    '## Setup',
    '',
    ...setupNotes(run),
    '',
    ...useTable(results),
    ...await profileSections(results),
  ].join('\n');
}

async function updateReadme(summary: string): Promise<void> {
  const text = await readFile(README, 'utf8');
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) {
    throw new Error(`README.md has no ${README_START} … ${README_END} section to replace`);
  }
  const before = text.slice(0, a + README_START.length);
  await writeFile(README, `${before}\n${summary}\n${text.slice(b)}`);
}

/** Writes the report's files; returns the Markdown and where it went. */
export async function writeReport(run: BenchRun):
  Promise<{ md: string; mdFile: string; svgFile: string }> {
  const { s, results, stamp } = run;
  const rev = revision();
  const machine = machineSummary();
  const md = await markdown(run, rev, machine);
  await mkdir(path.join(s.outDir, 'raw'), { recursive: true });
  const mdFile = path.join(s.outDir, `compare-${stamp}.md`);
  const svgFile = path.join(s.outDir, `compare-${stamp}.svg`);
  await writeFile(mdFile, md);
  await writeFile(svgFile, chart(results, s.rate, `${stamp} · ${rev} · ${machine}`));
  await writeFile(path.join(s.outDir, 'raw', `compare-${stamp}.json`), JSON.stringify({ stamp,
    revision: rev, machine, settings: s, results, failures: run.failures }, null, 2));
  await copyFile(svgFile, path.join(s.outDir, 'compare-latest.svg'));
  await writeFile(path.join(s.outDir, 'compare-latest.md'),
    md.replace(`compare-${stamp}.svg`, 'compare-latest.svg'));
  if (s.readme) {
    await updateReadme([`Measured ${stamp} on ${machine} (code ${rev}; full report: ` +
      '[bench/results/compare-latest.md](bench/results/compare-latest.md)).',
    '', table(results, s.rate, s.txnRecords), '',
    '![throughput and latency](bench/results/compare-latest.svg)'].join('\n'));
  }
  return { md, mdFile, svgFile };
}
