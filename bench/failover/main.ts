/**
 * Failover as clients see it (issue 14): a three-broker cluster with default settings (6 s lease,
 * shared WAL) under a steady idempotent acks=all load from three real clients at once (librdkafka,
 * the Java client, kafkajs; each on its own topic), while one broker at a time is killed (SIGKILL
 * series) or stopped (SIGTERM series) and started again a few seconds later.
 *
 * Per kill, client and partition the victim led: the unavailability (the longest time without an
 * acknowledgement from a second before the kill to the restart), split into parts from the
 * brokers' logs: detection (until the controller sees the broker gone: its lease expired, or was
 * revoked by a peer that found its port refusing), reassignment (until the
 * partition is given to another broker, or handed off by the victim), opening (until the new
 * leader opened it: WAL replay and index commit), and the client (until its first acknowledgement
 * after that: metadata refresh and retry backoff). Then the return: the longest gap any partition
 * shows after the restarted broker is back (handoffs back to it).
 *
 * A consumer group per topic reads as the producers write (consumer-load.ts); per kill and
 * partition it shows the longest time without a delivery and the oldest a record produced around
 * the kill was when it was delivered (the consumer's view: leader moves, and a new group
 * coordinator when the victim was the group's).
 *
 *   npm run bench:failover -- [--kills 20] [--signals kill,term] [--clients librdkafka,java,kafkajs]
 *                             [--rate 50] [--partitions 6] [--down-ms 10000] [--settle-ms 4000]
 *                             [--lease-ms N] [--ack-window-ms N]
 *
 * --lease-ms and --ack-window-ms set the brokers' leaseTtlMs and ackWindowMs; without them they
 * run with the defaults, as a user's do.
 *
 * --down-ms is how long the victim stays down. The default outlasts the 6 s lease, so the
 * cluster fails over even where only the lease can tell the broker is gone. A broker back before
 * anyone replaced it (a restart shorter than the lease, with peers that did not see its port
 * refuse) takes its partitions up again itself: no detection, reassignment or opening elsewhere
 * shows then.
 *
 * Writes bench/results/failover-<time>.{md,json}. At the end every partition is read back (see
 * readback.ts); the run fails (exit 1) if an acknowledged record is missing, or a record is there
 * twice or out of order.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { startCluster, type TestCluster } from '../../test/helpers/cluster.js';
import {
  availableClients, type ClientName, type RunningClient, keepDebugLog, startClient,
} from './clients.js';
import { type BrokerEvent, Timeline } from './timeline.js';
import { SETTINGS } from '../../src/config/config.js';
import { type KillRecord, renderReport } from './report.js';
import { problemsOf, readBack } from './readback.js';
import { type RunningConsumer, startConsumer } from './consumer-load.js';

const { values: flags } = parseArgs({ options: {
  kills: { type: 'string', default: '20' }, signals: { type: 'string', default: 'kill,term' },
  clients: { type: 'string' }, rate: { type: 'string', default: '50' }, partitions: { type: 'string', default: '6' },
  'down-ms': { type: 'string', default: '10000' }, 'settle-ms': { type: 'string', default: '4000' },
  'lease-ms': { type: 'string' }, 'ack-window-ms': { type: 'string' }, help: { type: 'boolean' },
} });
if (flags.help === true) {
  process.stdout.write(`npm run bench:failover -- [--kills 20] [--signals kill,term]
    [--clients librdkafka,java,kafkajs] [--rate 50] [--partitions 6] [--down-ms 10000]
    [--settle-ms 4000] [--lease-ms N] [--ack-window-ms N]

--kills: kills per series (one series per signal); the default, 20 per series, takes about
  15 minutes for both series (each kill: --down-ms down, then until every partition is led and
  acknowledging again, then --settle-ms). A quick look: --kills 3 (about 2.5 minutes).
--lease-ms, --ack-window-ms: the brokers' leaseTtlMs and ackWindowMs (default: the defaults).
Writes bench/results/failover-<time>.{md,json}; exit 1 if an acknowledged record was lost,
duplicated or reordered. BENCH_FAILOVER_DEBUG_DIR=DIR keeps the brokers' logs and the clients'
debug logs (librdkafka debug=broker,topic,metadata,msg; Java Metadata/Sender/NetworkClient at
DEBUG) in DIR, one file each, for a per-kill timeline.
`);
  process.exit(0);
}
const KILLS = Number(flags.kills);
const SIGNALS = flags.signals!.split(',') as ('kill' | 'term')[];
const CLIENTS = (flags.clients?.split(',') as ClientName[] | undefined) ?? availableClients();
const RATE = Number(flags.rate);
const PARTITIONS = Number(flags.partitions);
const DOWN_MS = Number(flags['down-ms']);
const SETTLE_MS = Number(flags['settle-ms']);
const leaseTtlMsDefault = SETTINGS.leaseTtlMs.default;
const uploadIntervalMsDefault = SETTINGS.uploadIntervalMs.default;
const LEASE_MS = flags['lease-ms'] === undefined ? leaseTtlMsDefault : Number(flags['lease-ms']);
const ACK_WINDOW_MS = flags['ack-window-ms'] === undefined ? SETTINGS.ackWindowMs.default : Number(flags['ack-window-ms']);
const WHOLE_MS_MAX = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const log = (line: string) => process.stderr.write(`[failover] ${line}\n`);

/** Every partition of every topic led by a live broker, and acknowledged within the last second. */
async function waitWhole(kafka: Kafka, clients: RunningClient[], consumers: RunningConsumer[]): Promise<number> {
  const start = Date.now();
  const admin = kafka.admin();
  await admin.connect().catch(() => {});
  try {
    while (Date.now() - start < WHOLE_MS_MAX) {
      const fresh = [...clients.map((c) => c.log), ...consumers.map((c) => c.log.deliveries)]
        .every((l) => l.acks.every((a) => a.length > 0 && Date.now() - a.at(-1)! < 1000));
      const led = await admin.fetchTopicMetadata({ topics: clients.map((c) => c.log.topic) })
        .then((m) => m.topics.every((t) => t.partitions.every((p) => p.leader >= 0)), () => false);
      if (fresh && led) return Date.now() - start;
      await sleep(200);
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
  throw new Error(`the cluster was not whole again within ${WHOLE_MS_MAX} ms`);
}

async function leadersOf(kafka: Kafka, topics: string[]): Promise<Map<string, Map<number, number>>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics });
    return new Map(meta.topics.map((t) => [t.name, new Map(t.partitions.map((p) => [p.partitionId, p.leader]))]));
  } finally {
    await admin.disconnect();
  }
}

/** The WAL read a partition's recovery was part of: its parts and their sum (null: none). */
function replayOf(e: BrokerEvent | undefined): KillRecord['replay'] {
  if (e?.walReadMs === undefined || e.commitMs === undefined) return null;
  // walOpenMs: the validating scan before the read, which brokers before the one-pass read had.
  const walOpenMs = e.walOpenMs ?? 0;
  return { totalMs: walOpenMs + e.walReadMs + e.commitMs, walOpenMs, walReadMs: e.walReadMs,
    commitMs: e.commitMs, walEntries: e.walEntries ?? 0,
    walBytes: e.walBytesRead === undefined ? null : { read: e.walBytesRead,
      skipped: e.walBytesSkipped ?? 0, recovered: e.recoveredBytes ?? 0 } };
}

async function oneKill(cluster: TestCluster, kafka: Kafka, clients: RunningClient[],
  consumers: RunningConsumer[], timeline: Timeline, signal: 'kill' | 'term', index: number):
  Promise<KillRecord[]> {
  // The leader of one partition of one client's topic, in turn: every client loses partitions in
  // every round of kills, whichever broker the handoffs after each restart favour.
  const leaders = await leadersOf(kafka, clients.map((c) => c.log.topic));
  const aimed = clients[index % clients.length]!.log.topic;
  const victim = leaders.get(aimed)?.get(Math.floor(index / clients.length) % PARTITIONS) ?? (index % cluster.brokers.length) + 1;
  const broker = cluster.brokers[victim - 1]!;
  const t0 = Date.now();
  if (signal === 'kill') await broker.kill();
  else await broker.stop();
  await sleep(t0 + DOWN_MS - Date.now());
  await broker.restart();
  const tRestart = Date.now();
  await waitWhole(kafka, clients, consumers);
  await sleep(SETTLE_MS);
  const tEnd = Date.now();
  // The controller saw the victim go, or (the victim was the controller) another took over.
  const gone = timeline.first(t0, (e) => (e.msg === 'live brokers changed' && !e.brokers!.includes(victim)) ||
    (e.msg === 'became the controller' && e.node !== victim));
  const rejoined = timeline.first(t0, (e) => e.msg === 'joined the cluster' && e.node === victim);
  const out: KillRecord[] = [];
  for (const c of clients) {
    const topicId = timeline.topicId(c.log.topic);
    const consumed = consumers.find((k) => k.log.topic === c.log.topic)?.log;
    let returnGapMs = 0;
    for (let p = 0; p < PARTITIONS; p++) returnGapMs = Math.max(returnGapMs, c.log.longestGap(p, tRestart, tEnd).gapMs);
    for (const [p, leader] of leaders.get(c.log.topic) ?? []) {
      if (leader !== victim) continue;
      const gap = c.log.longestGap(p, t0 - 1000, tRestart);
      const moved = timeline.first(t0, (e) => e.topicId === topicId && e.partition === p &&
        ((e.msg === 'partition reassigned' && e.from === victim) ||
          ((e.msg === 'partition handed off' || e.msg === 'partition released') && e.node === victim)));
      const opened = timeline.first(t0, (e) => e.msg === 'partition opened' && e.topicId === topicId && e.partition === p);
      const recovered = timeline.first(t0, (e) => e.msg === 'partition recovered' &&
        e.topicId === topicId && e.partition === p);
      // The client's part: from the opening to its first acknowledgement after it (not the end of
      // the longest gap, which after a SIGTERM may be another, later one).
      const firstAck = opened === undefined ? null : c.log.firstAckAfter(p, opened.atMs);
      out.push({ signal, client: c.log.client, kill: index, victim, partition: p, unavailableMs: gap.gapMs,
        gapStartMs: gap.fromMs - t0,
        detectionMs: gone === undefined ? null : gone.atMs - t0,
        reassignedMs: moved === undefined ? null : moved.atMs - t0,
        openedMs: opened === undefined ? null : opened.atMs - t0,
        clientMs: opened === undefined || firstAck === null ? null : firstAck - opened.atMs,
        openedOn: opened?.node ?? null, returnGapMs, replay: replayOf(recovered),
        rejoinedMs: rejoined === undefined ? null : rejoined.atMs - t0,
        consumeGapMs: consumed?.deliveries.longestGap(p, t0 - 1000, tRestart).gapMs ?? null,
        deliveredLateMs: consumed?.oldestDelivery(p, t0 - 1000, tRestart) ?? null });
    }
  }
  const worst = Math.max(0, ...out.map((r) => r.unavailableMs));
  log(`${signal} ${index + 1}: broker ${victim}, worst partition ${worst} ms, detection ${gone === undefined ? '?' : gone.atMs - t0} ms`);
  return out;
}

async function main(): Promise<void> {
  const timeline = new Timeline();
  log(`clients ${CLIENTS.join(', ')}; ${KILLS} kills per series (${SIGNALS.join(', ')}); ${RATE} records/s per partition`);
  // The test helper's own defaults (a 2 s lease, 100 ms uploads) are the brokers' defaults here.
  const cluster = await startCluster(3, { leaseTtlMs: LEASE_MS, ackWindowMs: ACK_WINDOW_MS, uploadIntervalMs: uploadIntervalMsDefault, logLevel: 'info' }, () => ({}),
    (node, chunk) => { timeline.feed(node, chunk); keepDebugLog(`broker-${node}.log`, chunk); });
  const clients: RunningClient[] = [];
  const consumers: RunningConsumer[] = [];
  try {
    const kafka = new Kafka({ clientId: 'failover-bench-admin', brokers: cluster.bootstrap, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true,
      topics: CLIENTS.map((c) => ({ topic: `failover-${c}`, numPartitions: PARTITIONS })) });
    await admin.disconnect();
    for (const c of CLIENTS) clients.push(await startClient(c, cluster.bootstrap, `failover-${c}`, PARTITIONS, RATE));
    for (const c of CLIENTS) consumers.push(
      await startConsumer(kafka, cluster.bootstrap, c, `failover-${c}`, PARTITIONS));
    await waitWhole(kafka, clients, consumers);
    const records: KillRecord[] = [];
    for (const signal of SIGNALS) {
      for (let i = 0; i < KILLS; i++) records.push(...await oneKill(cluster, kafka, clients, consumers, timeline, signal, i));
    }
    for (const c of clients) await c.stop();
    for (const c of consumers) await c.stop();
    const checks = await readBack(kafka, clients.map((c) => c.log));
    const lost = problemsOf(checks);
    const sum = (topic: string, key: 'read' | 'lost' | 'duplicated' | 'reordered') =>
      checks.filter((c) => c.topic === topic).reduce((n, c) => n + c[key], 0);
    const acked = Object.fromEntries(clients.map((c) => [c.log.client, { acknowledged: c.log.total(),
      failed: c.log.failures, failures: Object.fromEntries(c.log.failureKinds), readBack: sum(c.log.topic, 'read'),
      lost: sum(c.log.topic, 'lost'), duplicated: sum(c.log.topic, 'duplicated'), reordered: sum(c.log.topic, 'reordered') }]));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    const dir = path.resolve(import.meta.dirname, '../results');
    await mkdir(dir, { recursive: true });
    const settings = { kills: KILLS, signals: SIGNALS, clients: CLIENTS, ratePerPartition: RATE, partitions: PARTITIONS,
      downMs: DOWN_MS, settleMs: SETTLE_MS, leaseTtlMs: LEASE_MS, ackWindowMs: ACK_WINDOW_MS, walMode: 'shared' };
    const md = renderReport(records, settings, acked, lost);
    await writeFile(path.join(dir, `failover-${stamp}.md`), md);
    await writeFile(path.join(dir, `failover-${stamp}.json`), JSON.stringify({ settings, acked, lost, readBack: checks, records,
      consumerEvents: Object.fromEntries(consumers.map((c) => [c.log.topic, c.log.events])),
      brokerEvents: timeline.events }, null, 2));
    process.stdout.write(md);
    log(`wrote bench/results/failover-${stamp}.{md,json}`);
    if (lost.length > 0) {
      log(`ACKNOWLEDGED RECORDS LOST, DUPLICATED OR REORDERED: ${lost.join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    for (const c of clients) await c.stop().catch(() => {});
    for (const c of consumers) await c.stop().catch(() => {});
    await cluster.destroy();
  }
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
