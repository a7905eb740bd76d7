/**
 * `npm run bench:pairs`: the comparison's headline figures measured in alternation, so that the
 * machine's drift weighs on every system alike (issue 13).
 *
 * `npm run bench` measures one system after another, several minutes each. On the project's 2-core
 * machine two full runs of one build, 40 minutes apart, disagreed by more than any change did (the
 * agent fleet's produce p99 was 110 ms in one and 228 ms in the other), so a ratio between two
 * systems measured 20 minutes apart says as much about the machine as about the systems. Here Kafka
 * (one KRaft broker: its defaults, and topics with flush.messages=1) and one Ledgerstream broker
 * (local folder) are started once and run side by side. Each round runs every workload on every
 * system before the next workload, with the systems' order reversed every other round (a drift
 * that grows steadily then falls on each alike). The report gives every round's figures, the
 * ratio Ledgerstream ÷ Kafka within each round, and the median and range of those ratios.
 *
 * Workloads of a round, each to a fresh topic (workloads.ts): max-throughput produce with Kafka's
 * ProducerPerformance for 1 and 16 partitions × acks=1 and acks=all (MB/s, p99, broker CPU s per
 * GB), then the agent fleet (fleet.ts) on Kafka and Ledgerstream (produce p50 and p99, end-to-end
 * p99, broker CPU). Each system is warmed up once before the first round. While one system runs
 * the others idle beside it; the report flags a run during which the machine was busy outside
 * the broker and the load generator, as `npm run bench` does.
 *
 * Flags (or BENCH_<NAME> environment variables):
 *   --rounds 5               rounds
 *   --max-records 150000     records per produce run (1 KiB each: --record-bytes)
 *   --warmup-records 30000   records of each system's warm-up
 *   --fleet-s 30             measured seconds of each agent-fleet run; 0 leaves the fleet out
 *   --fleet-producers, --fleet-rate, --fleet-groups, --fleet-consumers-per-group,
 *   --fleet-partitions       as for `npm run bench`
 *   --out-dir bench/results  where pairs-<time>.md and raw/pairs-<time>.json go
 *   --help                   print this
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildGoLoad } from '../lib/go-load.js';
import { exitWithUsageIfAsked, flagName, integerSetting } from '../lib/flags.js';
import { log } from '../lib/run-info.js';
import { RunFailures } from './failures.js';
import { FLEET_DEFAULTS, FLEET_LIMITS } from './fleet.js';
import { kafkaToolsVersion } from './java-perf.js';
import { PAIR_FLEET_SYSTEMS, PAIR_PRODUCE, PAIR_SYSTEMS, type PairRound, type PairSystem,
  renderPairs } from './pairs-report.js';
import { SYSTEM_NAMES, startKafkaSystems, startLedgerstream,
  type SystemUnderTest } from './systems.js';
import { TXN_DEFAULTS } from './transactions.js';
import { type AllWorkloadSettings, fleetRun, produceRun, produceWhat, type Step, topicName,
  warmUp, WORKLOAD_DEFAULTS, WORKLOAD_LIMITS } from './workloads.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const ROUNDS_LIMITS: [number, number] = [1, 50];

export interface PairSettings extends AllWorkloadSettings {
  rounds: number;
  outDir: string;
}

function loadSettings(argv: string[]): PairSettings {
  exitWithUsageIfAsked(argv, import.meta.url);
  const numeric: Record<string, number> = { ...WORKLOAD_DEFAULTS, ...FLEET_DEFAULTS,
    ...TXN_DEFAULTS, fleetS: 30, rounds: 5 };
  const limits: Record<string, [number, number]> = { ...WORKLOAD_LIMITS, ...FLEET_LIMITS,
    fleetS: [0, 3600], rounds: ROUNDS_LIMITS };
  const flagged = ['rounds', 'maxRecords', 'recordBytes', 'warmupRecords',
    ...Object.keys(FLEET_DEFAULTS)];
  const options: Record<string, { type: 'string' }> = { 'out-dir': { type: 'string' } };
  for (const k of flagged) options[flagName(k)] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  for (const k of flagged) numeric[k] = integerSetting(values, k, numeric[k]!, limits[k]!);
  const outDir = path.resolve((values['out-dir'] as string | undefined) ??
    path.join(REPO, 'bench/results'));
  return { ...(numeric as unknown as AllWorkloadSettings), rounds: numeric.rounds!, outDir };
}

/** Round r's order of `ids`: as given in odd rounds, reversed in even ones. */
function orderOf<T>(ids: readonly T[], round: number): T[] {
  return round % 2 === 1 ? [...ids] : [...ids].reverse();
}

/** One round: every workload on every system (in the round's order) before the next workload. */
async function runRound(round: number, systemSteps: Map<PairSystem, Step>, s: PairSettings,
  failures: RunFailures): Promise<PairRound> {
  // Every run writes a fresh topic: the round's number joins its name.
  const steps = new Map([...systemSteps].map(([id, st]) =>
    [id, { ...st, topic: (what: string) => st.topic(`${what}-r${round}`) }]));
  const out: PairRound = { round, order: orderOf(PAIR_SYSTEMS, round), produce: {}, fleet: {} };
  for (const [partitions, acks] of PAIR_PRODUCE) {
    const key = produceWhat('max', partitions, acks);
    const runs: PairRound['produce'][string] = {};
    for (const id of out.order) {
      const label = `round ${round}: produce max ${partitions}p acks=${acks}`;
      const run = await failures.attempt(SYSTEM_NAMES[id], label,
        () => produceRun(steps.get(id)!, 'max', partitions, acks, label));
      if (run) runs[id] = run;
    }
    out.produce[key] = runs;
  }
  if (s.fleetS > 0) {
    for (const id of orderOf(PAIR_FLEET_SYSTEMS, round)) {
      const fleet = await failures.attempt(SYSTEM_NAMES[id], `round ${round}: agent fleet`,
        () => fleetRun(steps.get(id)!));
      if (fleet) out.fleet[id] = fleet;
    }
  }
  return out;
}

async function main(): Promise<void> {
  const s = loadSettings(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const runId = `p${Date.now().toString(36)}`;
  const startedMs = Date.now();
  log(`pairs: ${s.rounds} rounds; settings ${JSON.stringify(s)}`);
  const kafkaVersion = await kafkaToolsVersion();
  if (s.fleetS > 0) await buildGoLoad();
  const failures = new RunFailures(log);
  const rounds: PairRound[] = [];
  const kafka = await startKafkaSystems();
  try {
    const ledgerstream = await startLedgerstream('ledgerstream');
    try {
      const systems = new Map<PairSystem, SystemUnderTest>([
        ['kafka', kafka.systems.find((x) => x.id === 'kafka')!],
        ['kafka-fsync', kafka.systems.find((x) => x.id === 'kafka-fsync')!],
        ['ledgerstream', ledgerstream.system]]);
      const steps = new Map([...systems].map(([id, system]) => [id, {
        system, s, log, profiles: {}, connection: { bootstrap: system.bootstrap },
        topic: (what: string) => topicName(runId, system, what) } satisfies Step]));
      for (const id of PAIR_SYSTEMS) {
        await failures.attempt(SYSTEM_NAMES[id], 'warm-up', () => warmUp(steps.get(id)!));
      }
      for (let round = 1; round <= s.rounds; round++) {
        log(`round ${round} of ${s.rounds}: ${orderOf(PAIR_SYSTEMS, round).join(', ')}`);
        rounds.push(await runRound(round, steps, s, failures));
      }
    } finally {
      await ledgerstream.stop();
    }
  } finally {
    await kafka.kafka.destroy();
  }
  const md = renderPairs({ s, stamp, startedMs, kafkaVersion, rounds, failures: failures.list });
  await mkdir(path.join(s.outDir, 'raw'), { recursive: true });
  const mdFile = path.join(s.outDir, `pairs-${stamp}.md`);
  await writeFile(mdFile, md);
  await writeFile(path.join(s.outDir, 'raw', `pairs-${stamp}.json`),
    JSON.stringify({ settings: s, kafkaVersion, rounds, failures: failures.list }, null, 1));
  process.stdout.write(`${md}\n`);
  const minutes = ((Date.now() - startedMs) / 60_000).toFixed(1);
  log(`written to ${path.relative(REPO, mdFile)} in ${minutes} min`);
  process.exitCode = failures.exitCode();
}

await main();
