/**
 * `npm run bench:scale`: one Ledgerstream broker with one topic of many partitions (issue 13,
 * target 7: 10,000) and many client connections (2,000). Measures what grows with partitions:
 * start-up time (empty partitions, then partitions holding data), RSS at each step, Metadata
 * latency for the topic, producing a record to every partition, Fetch latency for one partition
 * and for all of them, with the connections held open meanwhile. The clients are
 * bench/load-go's `scale` subcommand (franz-go), which checks every answer, so a figure is
 * never that of a refusal. Writes bench/results/scale-<time>.md and raw/scale-<time>.json.
 * A benchmark, not a test: it prints figures and asserts nothing about them.
 *
 * Flags (or BENCH_<NAME> environment variables):
 *   --partitions 10000        partitions of the topic
 *   --connections 2000        idle client connections held during the measurements
 *   --metadata-requests 20    Metadata requests timed (one topic, all its partitions)
 *   --fetch-requests 200      one-partition Fetch requests timed
 *   --fetch-all-requests 5    all-partition Fetch requests timed
 *   --out-dir bench/results   where the report goes
 *   --help                    print this
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { type BrokerProcess, startBroker } from '../../test/helpers/broker-process.js';
import { freePort } from '../../test/helpers/ports.js';
import { eventLoopDelayWindow, scrape } from '../lib/broker-metrics.js';
import { benchEnvName, flagName } from '../lib/flags.js';
import { buildGoLoad, runGoLoad } from '../lib/go-load.js';
import { ProcessMeter, statusKiB } from '../lib/proc-stats.js';
import { log, machineSummary, revision } from '../lib/run-info.js';
import { scaleReport, type ScaleClientResult, type ScaleResults } from './report.js';

const REPO = path.resolve(import.meta.dirname, '../..');

export interface ScaleSettings {
  partitions: number;
  connections: number;
  metadataRequests: number;
  fetchRequests: number;
  fetchAllRequests: number;
}

const DEFAULTS: ScaleSettings = { partitions: 10_000, connections: 2000, metadataRequests: 20,
  fetchRequests: 200, fetchAllRequests: 5 };
const LIMITS: Record<keyof ScaleSettings, [number, number]> = { partitions: [1, 10_000],
  connections: [0, 15_000], metadataRequests: [1, 10_000], fetchRequests: [1, 100_000],
  fetchAllRequests: [1, 1000] };
/** Creating or restarting 10,000 partitions on a busy machine; far beyond what it should take. */
const STEP_MS_MAX = 15 * 60_000;

function loadSettings(argv: string[]): { s: ScaleSettings; outDir: string } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'out-dir': { type: 'string' },
    'help': { type: 'boolean' } };
  for (const k of Object.keys(DEFAULTS)) options[flagName(k)] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help === true) {
    process.stdout.write('See the header of bench/scale/main.ts for the flags.\n');
    process.exit(0);
  }
  const s = { ...DEFAULTS };
  for (const k of Object.keys(DEFAULTS) as (keyof ScaleSettings)[]) {
    const raw = (values[flagName(k)] as string | undefined) ?? process.env[benchEnvName(k)];
    const v = raw === undefined ? DEFAULTS[k] : Number(raw);
    const [lo, hi] = LIMITS[k];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new Error(`--${flagName(k)} must be an integer in ${lo}..${hi}, got ${raw}`);
    }
    s[k] = v;
  }
  const outArg = values['out-dir'] as string | undefined;
  const outDir = path.resolve(outArg ?? path.join(REPO, 'bench/results'));
  return { s, outDir };
}

const rssMiB = (broker: BrokerProcess) => statusKiB(broker.pid!, 'VmRSS') / 1024;

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; s: number }> {
  const begin = performance.now();
  const result = await run();
  return { result, s: (performance.now() - begin) / 1000 };
}

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  // kafkajs's 30 s request timeout is shorter than creating 10,000 partitions may take here.
  const admin = new Kafka({ clientId: 'bench-scale', brokers: [bootstrap],
    logLevel: logLevel.NOTHING, requestTimeout: STEP_MS_MAX }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true,
      timeout: STEP_MS_MAX });
  } finally {
    await admin.disconnect();
  }
}

/** A graceful stop and a start; the time until the broker listens again. */
async function restartTimed(broker: BrokerProcess): Promise<number> {
  await broker.stop();
  return (await timed(() => broker.restart())).s;
}

async function measure(broker: BrokerProcess, metricsPort: number, s: ScaleSettings,
  topic: string): Promise<ScaleResults> {
  const rssEmptyMiB = rssMiB(broker);
  log(`create ${topic} with ${s.partitions} partitions`);
  const created = await timed(() => createTopic(broker.bootstrap, topic, s.partitions));
  const rssCreatedMiB = rssMiB(broker);
  log('restart with the partitions empty');
  const startEmptyS = await restartTimed(broker);
  const rssRestartedMiB = rssMiB(broker);
  log(`${s.connections} connections, Metadata, produce to every partition, Fetch`);
  const before = await scrape(metricsPort);
  const meter = new ProcessMeter([broker.pid!]);
  const client = await runGoLoad<ScaleClientResult>('scale', { 'bootstrap': broker.bootstrap,
    'topic': topic, 'partitions': s.partitions, 'connections': s.connections,
    'metadata-requests': s.metadataRequests, 'fetch-requests': s.fetchRequests,
    'fetch-all-requests': s.fetchAllRequests }, STEP_MS_MAX);
  const reading = meter.stop();
  const delay = eventLoopDelayWindow(await scrape(metricsPort), before);
  log('restart with a record in every partition');
  const startWithDataS = await restartTimed(broker);
  return { settings: s, createTopicS: created.s, startEmptyS, startWithDataS, rssEmptyMiB,
    rssCreatedMiB, rssRestartedMiB, rssPeakUnderLoadMiB: reading.peakRssKiB / 1024,
    rssAfterDataRestartMiB: rssMiB(broker), brokerCpuS: reading.cpuS, wallS: reading.wallS,
    eventLoopP99Ms: delay.p99Ms, eventLoopMaxMs: delay.maxMs, client };
}

async function main(): Promise<void> {
  const { s, outDir } = loadSettings(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  await buildGoLoad();
  const metricsPort = await freePort();
  const broker = await startBroker({ settings: { metricsPort } });
  let results: ScaleResults;
  try {
    results = await measure(broker, metricsPort, s, `scale-${Date.now().toString(36)}`);
  } finally {
    await broker.destroy();
  }
  const md = scaleReport(results, { stamp, revision: revision(), machine: machineSummary() });
  await mkdir(path.join(outDir, 'raw'), { recursive: true });
  const mdFile = path.join(outDir, `scale-${stamp}.md`);
  await writeFile(mdFile, md);
  const raw = path.join(outDir, 'raw', `scale-${stamp}.json`);
  await writeFile(raw, JSON.stringify(results, null, 2));
  process.stdout.write(`${md}\n`);
  log(`written to ${path.relative(REPO, mdFile)}`);
}

await main();
