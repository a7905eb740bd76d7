/**
 * `npm run bench`: the same workloads against Apache Kafka and Ledgerstream in one run, on this
 * machine, with Kafka's own load tools as the neutral load generator (plus kafkajs for the Node
 * path). Writes bench/results/compare-<time>.md (table with Ledgerstream ÷ Kafka ratios),
 * compare-<time>.svg (chart), raw/compare-<time>.json, and copies the first two to
 * compare-latest.{md,svg}; with --readme it also replaces the table in README.md.
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 *
 * Systems, in this order (see systems.ts): Apache Kafka (KRaft single node) with its default
 * durability, the same broker with flush.messages=1 (fsync per write), one Ledgerstream broker
 * (local folder; S3 on MinIO; object-storage WAL mode on MinIO), three Ledgerstream brokers.
 * Workloads: see workloads.ts; the agent fleet: fleet.ts; the scenarios run after them on some
 * systems: TLS (tls.ts) and transactional produce (transactions.ts).
 *
 * Flags (or BENCH_<NAME> environment variables, e.g. BENCH_MAX_RECORDS=100000):
 *   --systems kafka,kafka-fsync,ledgerstream,ledgerstream-s3,ledgerstream-object-wal,
 *             ledgerstream-cluster   which systems (default: all)
 *   --max-records 150000   records per max-throughput run (1 KiB each)
 *   --rate 5000            records/s of the fixed-rate latency runs
 *   --fixed-s 8            seconds of each fixed-rate run
 *   --e2e-records 1000     records of the end-to-end latency run
 *   --kafkajs-s 8          seconds of the kafkajs produce run
 *   --warmup-records 30000 records of the warm-up run
 *   --record-bytes 1024    record value size
 *   --fleet-producers 1000 agent fleet: producer clients (each idempotent, acks=-1)
 *   --fleet-rate 10        agent fleet: records/s per producer (300-800-byte keyed JSON)
 *   --fleet-groups 5 --fleet-consumers-per-group 10   agent fleet: consumers
 *   --fleet-partitions 64  agent fleet: partitions of its topic
 *   --fleet-s 60           agent fleet: measured seconds (after a ramp of 10 ms per producer)
 *   --tls-systems kafka,kafka-fsync,ledgerstream   the TLS scenario (tls.ts) on these systems
 *                          (of --systems; not the cluster; '' for none): the broker also serves
 *                          an SSL listener, and max-throughput produce, fixed-rate produce and a
 *                          consume (16 partitions, acks=-1) run over it after the other workloads
 *   --txn-systems kafka,kafka-fsync,ledgerstream   the transactional produce scenario
 *                          (transactions.ts) on these systems (of --systems; '' for none)
 *   --txn-s 10             transactions: seconds of back-to-back transactions
 *   --txn-records 100      transactions: records per transaction
 *   --cpu-prof             profile the single Ledgerstream broker run by run (1 ms samples); the
 *                          report gets the top functions of the main runs
 *   --readme               replace the table between the bench markers in README.md
 *   --out-dir bench/results where the reports go
 *   --help                 print this
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { cpuProfOnSignalPreload, PhaseProfiler, summarizeProfile } from '../lib/cpu-profile.js';
import { benchEnvName, flagName } from '../lib/flags.js';
import { machineJiffies } from '../lib/proc-stats.js';
import { log, machineSummary, revision } from '../lib/run-info.js';
import { chart } from './chart.js';
import { kafkaToolsVersion } from './java-perf.js';
import { bigGaps, fmt, table } from './report.js';
import { type SingleBrokerId, SYSTEM_IDS, SYSTEM_NAMES, type SystemId, type SystemUnderTest,
  startKafkaSystems, startLedgerstream, startLedgerstreamCluster, TLS_CAPABLE } from './systems.js';
import { FLEET_DEFAULTS, FLEET_LIMITS, type FleetResult } from './fleet.js';
import { type BenchTls, benchTls, tlsRuns } from './tls.js';
import { TXN_DEFAULTS, TXN_LIMITS, txnRun } from './transactions.js';
import { buildGoLoad } from '../lib/go-load.js';
import { type AllWorkloadSettings, type BrokerUse, runWorkloads, type Scenario,
  type SystemResults } from './workloads.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const RESULTS_DIR = path.join(REPO, 'bench/results');
const README = path.join(REPO, 'README.md');
const CORES = cpus().length;
const README_START = '<!-- bench:compare:start -->';
const README_END = '<!-- bench:compare:end -->';
/** Runs whose profiles the report summarizes (all are kept in the profile folder). */
const PROFILED_IN_REPORT = ['produce max 16p acks=all', 'produce max 1p acks=1', 'produce fixed 16p acks=all',
  'consume just written', 'catch-up'];
const KAFKAJS_VERSION = (createRequire(import.meta.url)('kafkajs/package.json') as { version: string }).version;

type WorkloadSettings = AllWorkloadSettings;

interface Settings extends WorkloadSettings {
  systems: SystemId[];
  /** Systems (of `systems`) that also run the TLS scenario, and the transactional one. */
  tlsSystems: SystemId[];
  txnSystems: SystemId[];
  /** Where reports go (bench/results by default). */
  outDir: string;
  cpuProf: boolean;
  readme: boolean;
}

const NUMERIC: Record<keyof WorkloadSettings, number> = {
  recordBytes: 1024, maxRecords: 150_000, rate: 5000, fixedS: 8, e2eRecords: 1000, kafkajsS: 8, warmupRecords: 30_000,
  ...FLEET_DEFAULTS, ...TXN_DEFAULTS,
};
const LIMITS: Record<keyof WorkloadSettings, [number, number]> = {
  recordBytes: [1, 1 << 20], maxRecords: [1000, 10_000_000], rate: [10, 1_000_000], fixedS: [1, 600],
  e2eRecords: [10, 1_000_000], kafkajsS: [1, 600], warmupRecords: [1000, 10_000_000],
  ...FLEET_LIMITS, ...TXN_LIMITS,
};
/** The scenarios' systems unless --tls-systems / --txn-systems say otherwise. */
const SCENARIO_SYSTEMS_DEFAULT = 'kafka,kafka-fsync,ledgerstream';

/** A comma-separated list of system ids, each checked against `allowed`. */
function systemList(flag: string, raw: string, allowed: readonly SystemId[]): SystemId[] {
  const ids = raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const id of ids) {
    if (!(allowed as readonly string[]).includes(id)) {
      throw new Error(`--${flag}: '${id}' is not one of ${allowed.join(', ')}`);
    }
  }
  return ids as SystemId[];
}


function loadSettings(argv: string[]): Settings {
  if (argv.includes('--help')) {
    // The usage is this file's header comment.
    const source = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    process.stdout.write(`${source.slice(source.indexOf('/**') + 4, source.indexOf('*/')).replace(/^ \*( |$)/gm, '')}\n`);
    process.exit(0);
  }
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'systems': { type: 'string' }, 'out-dir': { type: 'string' },
    'tls-systems': { type: 'string' }, 'txn-systems': { type: 'string' },
    'cpu-prof': { type: 'boolean' }, 'readme': { type: 'boolean' } };
  for (const k of Object.keys(NUMERIC)) options[flagName(k)] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  const numbers = {} as WorkloadSettings;
  for (const [k, d] of Object.entries(NUMERIC) as [keyof WorkloadSettings, number][]) {
    const raw = (values[flagName(k)] as string | undefined) ?? process.env[benchEnvName(k)];
    const v = raw === undefined ? d : Number(raw);
    const [lo, hi] = LIMITS[k];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`--${flagName(k)} must be an integer in ${lo}..${hi}, got ${raw}`);
    numbers[k] = v;
  }
  const systemsRaw = (values.systems as string | undefined) ?? process.env.BENCH_SYSTEMS ?? SYSTEM_IDS.join(',');
  const systems = systemList('systems', systemsRaw, SYSTEM_IDS);
  const scenarioSystems = (name: 'tlsSystems' | 'txnSystems', allowed: readonly SystemId[]) => {
    const raw = (values[flagName(name)] as string | undefined) ?? process.env[benchEnvName(name)] ??
      SCENARIO_SYSTEMS_DEFAULT;
    return systemList(flagName(name), raw, allowed).filter((id) => systems.includes(id));
  };
  const outDir = path.resolve((values['out-dir'] as string | undefined) ?? RESULTS_DIR);
  return { ...numbers, systems, tlsSystems: scenarioSystems('tlsSystems', TLS_CAPABLE),
    txnSystems: scenarioSystems('txnSystems', SYSTEM_IDS), outDir,
    cpuProf: values['cpu-prof'] === true, readme: values.readme === true };
}

/** `java -version` prints to stderr: "openjdk version "17.0.15" 2025-04-15". */
function javaVersion(): string {
  const r = spawnSync(process.env.LEDGERSTREAM_JAVA ?? 'java', ['-version'], { encoding: 'utf8', timeout: 20_000 });
  return `${r.stderr ?? ''}${r.stdout ?? ''}`.split('\n')[0]?.trim() || 'java: unknown version';
}

/** Busy cores of the machine over one second: a benchmark on a busy machine measures the other load. */
async function busyCores(): Promise<number> {
  const a = machineJiffies();
  await new Promise((r) => setTimeout(r, 1000));
  const b = machineJiffies();
  return ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * CORES;
}

/** One Ledgerstream broker (and its MinIO for the S3 systems), with an optional CPU profile. */
async function measureSingle<T>(id: SingleBrokerId, run: (system: SystemUnderTest) => Promise<T>,
  profDir: string | undefined, tls: BenchTls | undefined): Promise<T> {
  // With --cpu-prof the broker (and its restart) runs with the on-signal profiler preloaded;
  // NODE_OPTIONS stays set while it runs (the load generators drop it, Java and Go ignore it).
  const saved = process.env.NODE_OPTIONS;
  if (profDir) {
    const preload = path.join(profDir, 'preload.cjs');
    await writeFile(preload, cpuProfOnSignalPreload(profDir));
    process.env.NODE_OPTIONS = `${saved ?? ''} --require ${JSON.stringify(preload)}`.trim();
  }
  try {
    const started = await startLedgerstream(id, tls);
    if (profDir) started.system.profiler = new PhaseProfiler(profDir);
    try {
      return await run(started.system);
    } finally {
      await started.stop();
    }
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

/** The scenarios to run on this system after its workloads (tls.ts, transactions.ts). */
function scenariosOf(id: SystemId, s: Settings): Scenario[] {
  const out: Scenario[] = [];
  if (s.tlsSystems.includes(id)) out.push(async (st) => ({ tls: await tlsRuns(st) }));
  if (s.txnSystems.includes(id)) out.push(async (st) => ({ txn: await txnRun(st) }));
  return out;
}

/**
 * Runs one system's workloads and scenarios between its start and stop, with an optional CPU
 * profile; `tls` is set when the system runs the TLS scenario (its broker then serves SSL too).
 */
async function measure(id: SystemId, s: Settings, runId: string, profDir: string | undefined,
  kafka: { systems: SystemUnderTest[] } | undefined, tls: BenchTls | undefined):
  Promise<{ description: string; results: SystemResults }> {
  const run = async (system: SystemUnderTest) => ({ description: system.description,
    results: await runWorkloads(system, s, runId, log, scenariosOf(id, s)) });
  if (id === 'kafka' || id === 'kafka-fsync') return run(kafka!.systems.find((x) => x.id === id)!);
  if (id !== 'ledgerstream-cluster') return measureSingle(id, run, profDir, tls);
  const { system, cluster } = await startLedgerstreamCluster();
  try {
    return await run(system);
  } finally {
    for (const b of cluster.brokers) await b.stop();
    await cluster.destroy();
  }
}

function setupNotes(s: Settings, kafkaVersion: string, descriptions: Map<SystemId, string>): string[] {
  return [
    ...[...descriptions].map(([id, d]) => `- **${SYSTEM_NAMES[id]}**: ${d}.`),
    `- Load: Apache Kafka ${kafkaVersion}'s ProducerPerformance, ConsumerPerformance and EndToEndLatency (Java client defaults: linger.ms 5, batch.size 16 KiB, idempotent with acks=-1; JVM flags of Kafka's perf-test scripts), one JVM per run; kafkajs ${KAFKAJS_VERSION} in 2 forked Node processes for the kafkajs rows. Load generator and brokers share this machine's cores.`,
    `- Records: ${s.recordBytes}-byte values, no key, no compression. MB = 10^6 bytes of record values (framing not counted); CPU s per GB use the same bytes.`,
    `- Max throughput: ${s.maxRecords.toLocaleString('en-US')} records per run as fast as the producer goes (latency there includes the producer's own queueing). Fixed rate: ${s.rate.toLocaleString('en-US')} records/s for ${s.fixedS} s. End to end: ${s.e2eRecords.toLocaleString('en-US')} records, one at a time. kafkajs: ${s.kafkajsS} s of produce. Every run writes a fresh topic after a ${s.warmupRecords.toLocaleString('en-US')}-record warm-up.`,
    '- Catch-up: every broker is restarted gracefully (Ledgerstream: SIGTERM uploads the WAL; the cluster restarts one broker at a time), then a fresh group reads the 16-partition acks=1 topic. Ledgerstream then serves it from object storage through its read cache (the share is measured from its metrics); Kafka reads its log segments, which the OS page cache likely still holds.',
    '- Broker CPU: utime+stime from /proc/<pid>/stat over each run (the cluster: the three brokers summed); RSS sampled every 100 ms, the cluster\'s summed per sample.',
    '- acks=1 vs acks=-1: one Kafka node and one Ledgerstream broker have no followers, so both wait for the same thing; only the Java producer\'s idempotence (on with acks=-1) differs.',
    `- Agent fleet: ${s.fleetProducers.toLocaleString('en-US')} franz-go producer clients in ` +
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
  ];
}

/**
 * An agent fleet that did not run as asked: fewer connections than producers, or fewer records
 * acknowledged than offered (the system, or the generator on a busy machine, fell behind: its
 * latencies are then queueing, not service times).
 */
function fleetProblems(name: string, f: FleetResult, s: Settings): string[] {
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

/** The scenarios' runs of a system, each with its name in the resource table. */
function scenarioRuns(r: SystemResults): [string, BrokerUse][] {
  const out: [string, BrokerUse][] = [];
  if (r.tls) {
    out.push(['TLS produce max 16p acks=all', r.tls.produceMax],
      ['TLS produce fixed 16p acks=all', r.tls.produceFixed],
      ['TLS consume just written', r.tls.consume]);
  }
  if (r.txn) out.push(['transactional produce', r.txn]);
  return out;
}

const names = (ids: SystemId[]): string => ids.map((id) => SYSTEM_NAMES[id]).join(', ');

/** The setup notes of the scenarios that ran. */
function scenarioNotes(s: Settings): string[] {
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

/** Per broker, "a / b / c" for a cluster; n/a where there are no broker metrics (Kafka). */
const perBroker = (xs: number[]): string => (xs.length === 0 ? 'n/a' : xs.map(fmt).join(' / '));

function useRow(id: SystemId, what: string, u: BrokerUse): string {
  const cells = [SYSTEM_NAMES[id], what, fmt(u.brokerCpuS), fmt(u.brokerCpuSPerGb), fmt(u.peakRssMiB),
    fmt(u.clientCpuS), fmt(u.wallS), fmt(u.machineBusy * CORES), perBroker(u.putsPerS),
    perBroker(u.getsPerS), fmt(u.eventLoopP99Ms), fmt(u.eventLoopMaxMs)];
  return `| ${cells.join(' | ')} |`;
}

const USE_COLUMNS = ['System', 'Run', 'broker CPU s', 'broker CPU s per GB', 'broker peak RSS MiB',
  'load generator CPU s', 'wall s', 'machine busy (cores)', 'PUTs/s per broker', 'GETs/s per broker',
  'event-loop delay p99 ms (≤)', 'event-loop delay max ms (≤)'];
const USE_HEAD = [`| ${USE_COLUMNS.join(' | ')} |`, `|---|---|${'---:|'.repeat(USE_COLUMNS.length - 2)}`];

async function updateReadme(summary: string): Promise<void> {
  const text = await readFile(README, 'utf8');
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${README_START} … ${README_END} section to replace`);
  await writeFile(README, `${text.slice(0, a + README_START.length)}\n${summary}\n${text.slice(b)}`);
}

async function main(): Promise<void> {
  const s = loadSettings(process.argv.slice(2));
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const runId = Date.now().toString(36);
  const busy = await busyCores();
  const problems: string[] = [];
  if (busy > 0.25) problems.push(`${busy.toFixed(2)} cores were already busy before the benchmark started: every figure is disturbed`);
  log(`systems ${s.systems.join(', ')}; settings ${JSON.stringify(s)}`);
  const kafkaVersion = await kafkaToolsVersion();
  await buildGoLoad(); // the agent fleet's generator, built before anything is measured
  const profDir = s.cpuProf ? await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-prof-')) : undefined;
  const results: Partial<Record<SystemId, SystemResults>> = {};
  const descriptions = new Map<SystemId, string>();

  // One set of certificates for every SSL listener: Kafka's and Ledgerstream's are the same.
  const tls = s.tlsSystems.length > 0 ? await benchTls() : undefined;
  const tlsFor = (id: SystemId) => (s.tlsSystems.includes(id) ? tls : undefined);
  try {
    const kafkaIds = s.systems.filter((x) => x === 'kafka' || x === 'kafka-fsync');
    const kafkaTls = kafkaIds.map(tlsFor).find((t) => t !== undefined);
    const kafka = kafkaIds.length > 0 ? await startKafkaSystems(kafkaTls) : undefined;
    try {
      for (const id of kafkaIds) {
        const m = await measure(id, s, runId, undefined, kafka, undefined);
        descriptions.set(id, m.description);
        results[id] = m.results;
      }
    } finally {
      await kafka?.kafka.destroy();
    }
    for (const id of s.systems.filter((x) => x.startsWith('ledgerstream'))) {
      const prof = id === 'ledgerstream-cluster' ? undefined : profDir;
      const m = await measure(id, s, runId, prof, undefined, tlsFor(id));
      descriptions.set(id, m.description);
      results[id] = m.results;
    }
  } finally {
    await tls?.certs.cleanup();
  }

  for (const [id, r] of Object.entries(results) as [SystemId, SystemResults][]) {
    const scenarios = scenarioRuns(r).map(([, u]) => u);
    for (const run of [...r.produce, r.consume, r.catchUp, r.fleet, ...scenarios]) {
      const other = run.machineBusy * CORES - (run.brokerCpuS + run.clientCpuS) / run.wallS;
      if (other > 0.5) problems.push(`${SYSTEM_NAMES[id]}: ${other.toFixed(2)} cores busy outside broker and load generator during a run: disturbed`);
    }
    if (r.catchUp.objectStoreShare !== undefined && !(r.catchUp.objectStoreShare > 0.99)) {
      problems.push(`${SYSTEM_NAMES[id]}: only ${(100 * (r.catchUp.objectStoreShare || 0)).toFixed(0)}% of the catch-up read came from object storage`);
    }
    if (r.kafkajs.produceErrors > 0) problems.push(`${SYSTEM_NAMES[id]}: ${r.kafkajs.produceErrors} kafkajs send() calls failed`);
    problems.push(...fleetProblems(SYSTEM_NAMES[id], r.fleet, s));
  }

  const minutes = (Date.now() - started) / 60_000;
  const rev = revision();
  const machine = machineSummary();
  const caption = `${stamp} · ${rev} · ${machine}`;
  const md = [
    `# Ledgerstream vs Apache Kafka, ${stamp}`,
    '',
    `Code: ${rev}. Machine: ${machine}; Node ${process.version}; ${javaVersion()}; Apache Kafka ${kafkaVersion}. ` +
      `Brokers, load generators and this harness share the machine. The run took ${minutes.toFixed(1)} min.`,
    '',
    '↑ higher is better, ↓ lower is better. Ratios compare the single Ledgerstream broker with Kafka; **bold** marks Ledgerstream more than 2× worse.',
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
    ...setupNotes(s, kafkaVersion, descriptions),
    ...(Object.entries(results) as [SystemId, SystemResults][]).filter(([, r]) => r.catchUp.objectStoreShare !== undefined)
      .map(([id, r]) => `- ${SYSTEM_NAMES[id]} catch-up read: ${(100 * (r.catchUp.objectStoreShare ?? 0)).toFixed(1)}% of the fetched bytes came from object storage (broker metrics).`),
    '',
    '## Broker and load-generator CPU per run',
    '',
    'PUTs/s and GETs/s: object-store requests of each broker over the run (its own counters, ' +
      'ledgerstream_object_store_requests; GETs include ranged GETs). Event-loop delay: the ' +
      'worst broker\'s p99 and max in the run, from ledgerstream_event_loop_delay_seconds ' +
      '(bucket upper bounds).',
    '',
    ...USE_HEAD,
    ...(Object.entries(results) as [SystemId, SystemResults][]).flatMap(([id, r]) => [
      ...r.produce.map((p) => useRow(id, `produce ${p.mode} ${p.partitions}p acks=${p.acks}`, p)),
      useRow(id, 'consume just written', r.consume),
      useRow(id, 'kafkajs produce', r.kafkajs),
      useRow(id, 'agent fleet', r.fleet),
      useRow(id, 'catch-up', r.catchUp),
      ...scenarioRuns(r).map(([what, u]) => useRow(id, what, u)),
    ]),
    '',
  ];
  const profiles = results.ledgerstream?.profiles ?? {};
  for (const label of PROFILED_IN_REPORT) {
    if (!profiles[label]) continue;
    md.push(`## CPU profile of the Ledgerstream broker: ${label}`, '', `\`${profiles[label]}\``, '',
      await summarizeProfile(profiles[label]!, 15), '');
  }
  await mkdir(path.join(s.outDir, 'raw'), { recursive: true });
  const mdFile = path.join(s.outDir, `compare-${stamp}.md`);
  const svgFile = path.join(s.outDir, `compare-${stamp}.svg`);
  await writeFile(mdFile, md.join('\n'));
  await writeFile(svgFile, chart(results, s.rate, caption));
  await writeFile(path.join(s.outDir, 'raw', `compare-${stamp}.json`), JSON.stringify({ stamp, revision: rev, machine,
    settings: s, results }, null, 2));
  await copyFile(svgFile, path.join(s.outDir, 'compare-latest.svg'));
  await writeFile(path.join(s.outDir, 'compare-latest.md'), md.join('\n').replace(`compare-${stamp}.svg`, 'compare-latest.svg'));
  if (s.readme) {
    await updateReadme([`Measured ${stamp} on ${machine} (code ${rev}; full report: [bench/results/compare-latest.md](bench/results/compare-latest.md)).`,
      '', table(results, s.rate, s.txnRecords), '',
      '![throughput and latency](bench/results/compare-latest.svg)'].join('\n'));
  }
  process.stdout.write(`${md.join('\n')}\n`);
  log(`written to ${path.relative(REPO, mdFile)} and ${path.relative(REPO, svgFile)} in ${minutes.toFixed(1)} min`);
  if (profDir) log(`CPU profiles kept in ${profDir}`);
}

await main();
