/**
 * The transaction kill run (issue 11's first "must show"), shared by the default suite (a few
 * kills, txn-kill.test.ts) and the long run (`npm run chaos:txn -- --kills N`,
 * scripts/chaos-txn.ts).
 *
 * On a three-broker cluster (real etcd, shared WAL and object folder, as the chaos run starts
 * it), a feeder produces numbered records (`p<partition>-n<i>`, each value once) into a 2-partition
 * input topic while Kafka's own TransactionalMessageCopier (tools jar), one per input partition,
 * copies them into a 3-partition output topic: consume, produce in a transaction,
 * sendOffsetsToTransaction, commit, with random aborts. Meanwhile brokers are SIGKILLed and
 * restarted, one at a time, the victims cycling through the copiers' transaction coordinators
 * (FindCoordinator key type 1), the output partitions' leaders and a random broker. A copier that
 * exits (fenced, timed out) is restarted with the same transactional id, as Kafka's system tests
 * do: the new instance fences the old one and resumes from the committed offsets.
 *
 * Then: the feeder stops, the copiers catch up (the group's committed offsets reach the input's
 * end), and a read_committed kafkajs consumer reads the output. Checked: every input record
 * exactly once in the output (duplicates, missing), no record of an aborted or open transaction
 * (aborted-visible, against the log's own markers: txn-log-audit.ts), no transaction left open
 * and the LSO at the high watermark (stuck LSO), no marker written twice.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import {
  decodeFindCoordinatorResponse, defaultFindCoordinatorRequest, encodeFindCoordinatorRequest,
} from '../../protocol/generated/messages/find-coordinator.js';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { kafkaClient } from '../helpers/kafka-client.js';
import { kafkaJars } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { bounded, killHard } from '../cluster/chaos-bounds.js';
import { type AuditedPartition, type ReadRecordAt, abortedVisible,
  auditPartition } from './txn-log-audit.js';
import { Copier, Feeder, GROUP, INPUT, INPUT_PARTITIONS, OUTPUT,
  OUTPUT_PARTITIONS } from './txn-kill-clients.js';

const FIND_COORDINATOR_VERSION = 4;
const SAMPLES_MAX = 10;
/** Longest wait for the output to grow after a kill (a copier restart takes a few seconds). */
const PROGRESS_MS_MAX = 120_000;

export type KillTarget = 'coordinator' | 'output-leader' | 'random';
const TARGETS: KillTarget[] = ['coordinator', 'output-leader', 'random'];

export interface TxnKillOptions {
  kills: number;
  /** Records the feeder produces per second while the kills go on, over both input partitions. */
  feedPerSecond?: number;
  /**
   * Records produced into each input partition before the copiers start, so that each copier
   * run is long (a run copies up to the end offset it saw at launch, then exits). Default 400
   * per kill: about the copiers' pace between two kills.
   */
  backlogPerPartition?: number;
  /** Pause between the cluster being whole again and the next kill. */
  gapMs?: [number, number];
  /** How long a killed broker stays down. */
  downMs?: [number, number];
  /** Longest wait for the copiers to commit up to the end of the input. */
  catchUpMs?: number;
  log?: (line: string) => void;
  /** Where broker and copier logs go (always written when set). */
  logDir?: string;
}

export interface TxnKillReport {
  records: number;
  input: number;
  duplicates: number;
  missing: number;
  abortedVisible: number;
  faults: number;
  faultsByTarget: Record<KillTarget, number>;
  copierRestarts: number;
  copierRuns: number;
  transactionsAborted: number;
  openTransactions: number;
  stuckLso: number;
  doubledMarkers: number;
  caughtUp: boolean;
  samples: { duplicates: string[]; missing: string[]; abortedVisible: string[];
    openTransactions: string[]; stuckLso: string[]; doubledMarkers: string[] };
  faultLog: string[];
  totalMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const between = ([lo, hi]: [number, number]) => lo + Math.random() * (hi - lo);

/** The node id a broker names as the coordinator of transactional id `id`, or -1. */
export async function txnCoordinatorOf(port: number, id: string): Promise<number> {
  let raw: RawClient | null = null;
  try {
    raw = await bounded('connect', RawClient.connect(port), 5000);
    const req = { ...defaultFindCoordinatorRequest(), keyType: 1, coordinatorKeys: [id] };
    raw.send(ApiKey.FindCoordinator, FIND_COORDINATOR_VERSION,
      (w) => encodeFindCoordinatorRequest(w, FIND_COORDINATOR_VERSION, req));
    const frame = await raw.readFrame(5000);
    if (frame === null) return -1;
    const res = decodeFindCoordinatorResponse(decodeResponseFrame(ApiKey.FindCoordinator,
      FIND_COORDINATOR_VERSION, frame).body, FIND_COORDINATOR_VERSION);
    const c = res.coordinators[0];
    return c !== undefined && c.errorCode === 0 ? c.nodeId : -1;
  } catch {
    return -1;
  } finally {
    raw?.close();
  }
}

/** Kills brokers one at a time, each chosen by a target kind, and brings them back. */
class Faults {
  readonly log: string[] = [];
  readonly byTarget: Record<KillTarget, number> = { 'coordinator': 0, 'output-leader': 0,
    'random': 0 };

  constructor(private readonly cluster: TestCluster, private readonly admin: Admin,
    private readonly copierIds: string[], private readonly say: (line: string) => void) {}

  async run(kills: number, gapMs: [number, number], downMs: [number, number],
    startedMs: number): Promise<void> {
    await this.waitProgress();
    for (let i = 0; i < kills; i++) {
      await sleep(between(gapMs));
      const target = TARGETS[i % TARGETS.length]!;
      const { nodeId, why } = await this.victim(target);
      const broker = this.cluster.brokers[nodeId - 1]!;
      const at = ((performance.now() - startedMs) / 1000).toFixed(1);
      await bounded(`kill broker ${nodeId}`, broker.kill(), 30_000)
        .catch(() => killHard(broker.pid));
      this.byTarget[target]++;
      const down = between(downMs);
      await sleep(down);
      await this.restart(nodeId);
      const whole = await this.waitWhole();
      const progress = await this.waitProgress();
      const line = `kill ${i + 1}/${kills} at +${at} s: broker ${nodeId} (${why}), down `
        + `${Math.round(down)} ms, whole again after ${whole} ms, copying again after `
        + `${progress} ms`;
      this.log.push(line);
      this.say(line);
    }
  }

  private async victim(target: KillTarget): Promise<{ nodeId: number; why: string }> {
    const count = this.cluster.brokers.length;
    if (target === 'coordinator') {
      const id = this.copierIds[Math.floor(Math.random() * this.copierIds.length)]!;
      const nodeId = await txnCoordinatorOf(this.cluster.brokers[0]!.port, id);
      if (nodeId > 0) return { nodeId, why: `transaction coordinator of ${id}` };
    }
    if (target === 'output-leader') {
      const partition = Math.floor(Math.random() * OUTPUT_PARTITIONS);
      const meta = await this.admin.fetchTopicMetadata({ topics: [OUTPUT] }).catch(() => null);
      const leader = meta?.topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
      if (leader !== undefined && leader > 0) {
        return { nodeId: leader, why: `leader of ${OUTPUT}-${partition}` };
      }
    }
    return { nodeId: 1 + Math.floor(Math.random() * count), why: 'random' };
  }

  private async restart(nodeId: number): Promise<void> {
    const broker = this.cluster.brokers[nodeId - 1]!;
    for (let attempt = 1; ; attempt++) {
      try {
        await bounded(`restart broker ${nodeId}`, broker.restart(), 50_000);
        return;
      } catch (err) {
        this.say(`broker ${nodeId}: restart attempt ${attempt} failed: `
          + String(err).slice(0, 300));
        await bounded(`kill broker ${nodeId}`, broker.kill(), 30_000)
          .catch(() => killHard(broker.pid));
        if (attempt >= 5) throw err;
        await sleep(1000);
      }
    }
  }

  /** Waits until the output grew (the copiers commit again); returns how long that took. */
  private async waitProgress(): Promise<number> {
    const started = performance.now();
    const total = async () => [...(await endOffsets(this.admin, OUTPUT).catch(() => new Map()))
      .values()].reduce((a: number, b: number) => a + b, 0);
    const before = await total();
    while (performance.now() < started + PROGRESS_MS_MAX) {
      if (await total() > before) return Math.round(performance.now() - started);
      await sleep(250);
    }
    throw new Error(`the copiers wrote nothing for ${PROGRESS_MS_MAX / 1000} s`);
  }

  /** Waits until every broker names a live coordinator for each copier and every partition a
   * leader; returns how long that took. */
  private async waitWhole(): Promise<number> {
    const started = performance.now();
    const deadline = started + 90_000;
    while (performance.now() < deadline) {
      const coordinators = await Promise.all(this.cluster.brokers.flatMap((b) =>
        this.copierIds.map((id) => txnCoordinatorOf(b.port, id))));
      const meta = await this.admin.fetchTopicMetadata({ topics: [INPUT, OUTPUT] })
        .catch(() => null);
      const led = meta !== null
        && meta.topics.every((t) => t.partitions.every((p) => p.leader > 0));
      if (led && coordinators.every((c) => c > 0)) return Math.round(performance.now() - started);
      await sleep(250);
    }
    throw new Error('the cluster was not whole again within 90 s after a kill');
  }
}

interface ReadOptions {
  readUncommitted: boolean;
  expected: number;
  waitMs: number;
  settleMs: number;
}

/** Every record a fresh group reads from the beginning of `topic`, with where it was. */
async function readTopic(kafka: Kafka, topic: string, o: ReadOptions): Promise<ReadRecordAt[]> {
  const consumer = kafka.consumer({ groupId: `txn-kill-read-${topic}-${Date.now()}`,
    readUncommitted: o.readUncommitted, maxWaitTimeInMs: 200 });
  const out: ReadRecordAt[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => {
      out.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
    } });
    const deadline = performance.now() + o.waitMs;
    while (out.length < o.expected && performance.now() < deadline) await sleep(100);
    await sleep(o.settleMs);
  } finally {
    await bounded('disconnect', consumer.disconnect(), 15_000).catch(() => {});
  }
  return out;
}

async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

/** Waits until the copiers' group has committed up to `ends` on every input partition. */
async function waitCaughtUp(admin: Admin, ends: Map<number, number>,
  limitMs: number): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  while (performance.now() < deadline) {
    const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [INPUT] })
      .catch(() => []);
    const at = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
    if ([...ends].every(([p, end]) => (at.get(p) ?? -1) >= end)) return true;
    await sleep(500);
  }
  return false;
}

/** The output as its leaders store it, partition by partition. */
async function auditOutput(cluster: TestCluster, admin: Admin): Promise<AuditedPartition[]> {
  const meta = await admin.fetchTopicMetadata({ topics: [OUTPUT] });
  return Promise.all(meta.topics[0]!.partitions.map((p) =>
    auditPartition(cluster.brokers[p.leader - 1]!.port, OUTPUT, p.partitionId)));
}

function countValues(records: ReadRecordAt[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
  return counts;
}

interface RunState {
  faults: Faults;
  copiers: Copier[];
  caughtUp: boolean;
}

/** Compares the read_committed output with the input and the log. */
function judge(input: ReadRecordAt[], output: ReadRecordAt[], audit: AuditedPartition[],
  state: RunState, startedMs: number): TxnKillReport {
  const want = countValues(input);
  const got = countValues(output);
  const duplicates = [...got].filter(([v, n]) => n > (want.get(v) ?? 0) && want.has(v))
    .map(([v, n]) => `${v} read ${n} times`);
  const missing = [...want].filter(([v, n]) => (got.get(v) ?? 0) < n).map(([v]) => v);
  const visible = [...abortedVisible(audit, output),
    ...[...got.keys()].filter((v) => !want.has(v)).map((v) => `${v}: not in the input`)];
  const open = audit.flatMap((a) => a.openTransactions);
  const stuck = audit.filter((a) => a.lastStableOffset !== a.highWatermark)
    .map((a) => `p${a.partition}: LSO ${a.lastStableOffset}, high watermark ${a.highWatermark}`);
  const doubled = audit.flatMap((a) => a.doubledMarkers);
  return {
    records: output.length, input: input.length, duplicates: duplicates.length,
    missing: missing.length, abortedVisible: visible.length, faults: state.faults.log.length,
    faultsByTarget: state.faults.byTarget,
    copierRestarts: state.copiers.reduce((n, c) => n + c.failures, 0),
    copierRuns: state.copiers.reduce((n, c) => n + c.runs, 0),
    transactionsAborted: state.copiers.reduce((n, c) => n + c.aborted, 0),
    openTransactions: open.length, stuckLso: stuck.length, doubledMarkers: doubled.length,
    caughtUp: state.caughtUp,
    samples: { duplicates: duplicates.slice(0, SAMPLES_MAX), missing: missing.slice(0, SAMPLES_MAX),
      abortedVisible: visible.slice(0, SAMPLES_MAX), openTransactions: open.slice(0, SAMPLES_MAX),
      stuckLso: stuck, doubledMarkers: doubled.slice(0, SAMPLES_MAX) },
    faultLog: state.faults.log,
    totalMs: Math.round(performance.now() - startedMs),
  };
}

/** The whole run: cluster, feeder, copiers, kills, catch-up, read-back, report. */
export async function runTxnKill(o: TxnKillOptions): Promise<TxnKillReport> {
  const say = o.log ?? (() => {});
  const startedMs = performance.now();
  await kafkaJars();
  const cluster = await startCluster(3, { groupInitialRebalanceDelayMs: 0 });
  const kafka = kafkaClient(cluster.bootstrap, 'txn-kill');
  const admin = kafka.admin();
  const bootstrap = () => cluster.bootstrap.join(',');
  const feeder = new Feeder(kafka, o.feedPerSecond ?? 20, say);
  const copiers = Array.from({ length: INPUT_PARTITIONS }, (_, p) =>
    new Copier(`txn-kill-copier-${p}`, p, bootstrap, say));
  const faults = new Faults(cluster, admin, copiers.map((c) => c.transactionalId), say);
  const copierLogs: string[] = [];
  try {
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [
      { topic: INPUT, numPartitions: INPUT_PARTITIONS },
      { topic: OUTPUT, numPartitions: OUTPUT_PARTITIONS }] });
    await feeder.fill(o.backlogPerPartition ?? 400 * o.kills);
    feeder.start();
    for (const c of copiers) c.start();
    say(`cluster up, feeder and ${copiers.length} copiers started; ${o.kills} kills to go`);
    await faults.run(o.kills, o.gapMs ?? [1000, 3000], o.downMs ?? [300, 2000], startedMs);
    await feeder.stop();
    say(`kills done; feeder stopped after ${feeder.sent.length} acknowledged records`);
    const caughtUp = await waitCaughtUp(admin, await endOffsets(admin, INPUT),
      o.catchUpMs ?? 180_000);
    copierLogs.push(...await Promise.all(copiers.map((c) => c.stop())));
    say(caughtUp ? 'copiers caught up' : 'copiers did NOT catch up');
    const input = await readTopic(kafka, INPUT, { readUncommitted: true,
      expected: feeder.sent.length, waitMs: 60_000, settleMs: 1000 });
    const output = await readTopic(kafka, OUTPUT, { readUncommitted: false,
      expected: input.length, waitMs: 60_000, settleMs: 3000 });
    const audit = await auditOutput(cluster, admin);
    return judge(input, output, audit, { faults, copiers, caughtUp }, startedMs);
  } finally {
    await feeder.stop();
    copierLogs.push(...await Promise.all(copiers.map((c) => c.stop())));
    await bounded('admin disconnect', admin.disconnect(), 15_000).catch(() => {});
    if (o.logDir !== undefined) await saveLogs(o.logDir, cluster, copierLogs);
    await cluster.destroy();
  }
}

async function saveLogs(dir: string, cluster: TestCluster, copierLogs: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [i, b] of cluster.brokers.entries()) {
    await writeFile(path.join(dir, `broker-${i + 1}.log`), b.output());
  }
  await writeFile(path.join(dir, 'copiers.log'), copierLogs.join('\n'));
}

export function formatTxnKillReport(r: TxnKillReport): string {
  const lines = [
    `records=${r.records} duplicates=${r.duplicates} missing=${r.missing} `
      + `aborted-visible=${r.abortedVisible} faults=${r.faults}`,
    `input records: ${r.input}; kills by target: ${JSON.stringify(r.faultsByTarget)}; `
      + `copier runs: ${r.copierRuns}, restarts after an error: ${r.copierRestarts}; `
      + `transactions aborted by the copiers: ${r.transactionsAborted}`,
    `open transactions at the end: ${r.openTransactions}; partitions with a stuck LSO: `
      + `${r.stuckLso}; doubled markers: ${r.doubledMarkers}; copiers caught up: ${r.caughtUp}; `
      + `total ${(r.totalMs / 1000).toFixed(1)} s`,
  ];
  for (const [what, samples] of Object.entries(r.samples)) {
    if (samples.length > 0) lines.push(`${what}: ${samples.join('; ')}`);
  }
  return lines.join('\n');
}

/** The problems of a report, one line each (empty: the run passed). */
export function txnKillFailures(r: TxnKillReport, kills: number): string[] {
  const out: string[] = [];
  if (r.duplicates + r.missing + r.abortedVisible > 0) out.push('exactly-once violated');
  if (r.openTransactions + r.stuckLso + r.doubledMarkers > 0) out.push('transaction state wrong');
  if (!r.caughtUp) out.push('the copiers did not catch up');
  if (r.faults < kills) out.push(`${r.faults} of ${kills} kills done`);
  if (r.input === 0) out.push('nothing was fed');
  return out;
}
