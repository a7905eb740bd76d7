/**
 * `npm run bench`: the same workloads against Apache Kafka and Ledgerstream in one run, on this
 * machine, with Kafka's own load tools as the neutral load generator (plus kafkajs for the Node
 * path). Writes bench/results/compare-<time>.md (table with Ledgerstream ÷ Kafka ratios),
 * compare-<time>.svg (chart), raw/compare-<time>.json, and copies the first two to
 * compare-latest.{md,svg}; with --readme it also replaces the table in README.md.
 * A benchmark, not a test: it prints figures and asserts nothing about them. A system that does
 * not start, or a workload or scenario that throws, is listed with its error under the report's
 * Problems and the run goes on with the next (failures.ts); the exit status is then 1.
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
import { mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuProfOnSignalPreload, PhaseProfiler } from '../lib/cpu-profile.js';
import { benchEnvName, exitWithUsageIfAsked, flagName, integerSetting } from '../lib/flags.js';
import { machineJiffies } from '../lib/proc-stats.js';
import { log } from '../lib/run-info.js';
import { RunFailures } from './failures.js';
import { kafkaToolsVersion } from './java-perf.js';
import { SYSTEM_IDS, SYSTEM_NAMES, type SingleBrokerId, type SystemId, type SystemUnderTest,
  startKafkaSystems, startLedgerstream, startLedgerstreamCluster, TLS_CAPABLE } from './systems.js';
import { FLEET_DEFAULTS, FLEET_LIMITS } from './fleet.js';
import { type BenchTls, benchTls, tlsRuns } from './tls.js';
import { TXN_DEFAULTS, TXN_LIMITS, txnRun } from './transactions.js';
import { buildGoLoad } from '../lib/go-load.js';
import { type AllWorkloadSettings, runWorkloads, type SystemResults, type Workload,
  WORKLOAD_DEFAULTS, WORKLOAD_LIMITS } from './workloads.js';
import { type ReportSettings, writeReport } from './write-report.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const RESULTS_DIR = path.join(REPO, 'bench/results');
const CORES = cpus().length;

type WorkloadSettings = AllWorkloadSettings;

interface Settings extends ReportSettings {
  systems: SystemId[];
  cpuProf: boolean;
}

const NUMERIC: Record<keyof WorkloadSettings, number> = {
  ...WORKLOAD_DEFAULTS, ...FLEET_DEFAULTS, ...TXN_DEFAULTS,
};
const LIMITS: Record<keyof WorkloadSettings, [number, number]> = {
  ...WORKLOAD_LIMITS, ...FLEET_LIMITS, ...TXN_LIMITS,
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
  exitWithUsageIfAsked(argv, import.meta.url);
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'systems': { type: 'string' }, 'out-dir': { type: 'string' },
    'tls-systems': { type: 'string' }, 'txn-systems': { type: 'string' },
    'cpu-prof': { type: 'boolean' }, 'readme': { type: 'boolean' } };
  for (const k of Object.keys(NUMERIC)) options[flagName(k)] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  const numbers = {} as WorkloadSettings;
  for (const [k, d] of Object.entries(NUMERIC) as [keyof WorkloadSettings, number][]) {
    numbers[k] = integerSetting(values, k, d, LIMITS[k]);
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
function scenariosOf(id: SystemId, s: Settings): Workload[] {
  const out: Workload[] = [];
  if (s.tlsSystems.includes(id)) {
    out.push({ name: 'TLS', async run(st, into) { into.tls = await tlsRuns(st); } });
  }
  if (s.txnSystems.includes(id)) {
    out.push({ name: 'transactional produce', async run(st, into) { into.txn = await txnRun(st); } });
  }
  return out;
}

/** Where the systems' results go as each is measured (before it stops: a stop may fail). */
interface Measured {
  results: Partial<Record<SystemId, SystemResults>>;
  descriptions: Map<SystemId, string>;
  failures: RunFailures;
}

/**
 * Runs one system's workloads and scenarios between its start and stop, with an optional CPU
 * profile; `tls` is set when the system runs the TLS scenario (its broker then serves SSL too).
 */
async function measure(id: SystemId, s: Settings, runId: string, profDir: string | undefined,
  kafka: { systems: SystemUnderTest[] } | undefined, tls: BenchTls | undefined,
  into: Measured): Promise<void> {
  const run = async (system: SystemUnderTest) => {
    into.descriptions.set(id, system.description);
    into.results[id] = await runWorkloads(system, s, runId, log, into.failures, scenariosOf(id, s));
  };
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

/** Kafka (both durability modes share one broker), then each Ledgerstream system. */
async function measureAll(s: Settings, runId: string, profDir: string | undefined,
  tls: BenchTls | undefined, into: Measured): Promise<void> {
  const tlsFor = (id: SystemId) => (s.tlsSystems.includes(id) ? tls : undefined);
  const kafkaIds = s.systems.filter((x) => x === 'kafka' || x === 'kafka-fsync');
  const kafkaName = kafkaIds.map((id) => SYSTEM_NAMES[id]).join(', ');
  const kafkaTls = kafkaIds.map(tlsFor).find((t) => t !== undefined);
  const kafka = kafkaIds.length === 0 ? undefined
    : await into.failures.attempt(kafkaName, 'start', () => startKafkaSystems(kafkaTls));
  if (kafka) {
    for (const id of kafkaIds) {
      await into.failures.attempt(SYSTEM_NAMES[id], 'run',
        () => measure(id, s, runId, undefined, kafka, undefined, into));
    }
    await into.failures.attempt(kafkaName, 'stop', () => kafka.kafka.destroy());
  }
  for (const id of s.systems.filter((x) => x.startsWith('ledgerstream'))) {
    const prof = id === 'ledgerstream-cluster' ? undefined : profDir;
    await into.failures.attempt(SYSTEM_NAMES[id], 'start or stop',
      () => measure(id, s, runId, prof, undefined, tlsFor(id), into));
  }
}

async function main(): Promise<void> {
  const s = loadSettings(process.argv.slice(2));
  const startedMs = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const runId = Date.now().toString(36);
  const busy = await busyCores();
  const problems: string[] = [];
  if (busy > 0.25) {
    problems.push(`${busy.toFixed(2)} cores were already busy before the benchmark started: ` +
      'every figure is disturbed');
  }
  log(`systems ${s.systems.join(', ')}; settings ${JSON.stringify(s)}`);
  const kafkaVersion = await kafkaToolsVersion();
  await buildGoLoad(); // the agent fleet's generator, built before anything is measured
  const profDir = s.cpuProf ? await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-prof-'))
    : undefined;
  const measured: Measured = { results: {}, descriptions: new Map(), failures: new RunFailures(log) };
  // One set of certificates for every SSL listener: Kafka's and Ledgerstream's are the same.
  const tls = s.tlsSystems.length > 0 ? await benchTls() : undefined;
  try {
    await measureAll(s, runId, profDir, tls, measured);
  } finally {
    await tls?.certs.cleanup();
  }
  const failures = measured.failures.list;
  const { md, mdFile, svgFile } = await writeReport({ s, stamp, startedMs, problems, failures,
    results: measured.results, descriptions: measured.descriptions, kafkaVersion,
    javaVersion: javaVersion() });
  process.stdout.write(`${md}\n`);
  const minutes = (Date.now() - startedMs) / 60_000;
  log(`written to ${path.relative(REPO, mdFile)} and ${path.relative(REPO, svgFile)} in ` +
    `${minutes.toFixed(1)} min`);
  if (profDir) log(`CPU profiles kept in ${profDir}`);
  if (failures.length > 0) log(`${failures.length} run(s) failed: see Problems in the report`);
  process.exitCode = measured.failures.exitCode();
}

await main();
