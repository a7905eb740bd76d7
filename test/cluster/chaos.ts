/**
 * Chaos run for a three-broker cluster (etcd + shared folder + 3 broker processes), shared by the
 * CI test (chaos.test.ts, a few faults) and the long run (`npm run chaos`, scripts/chaos.ts).
 *
 * While a steady load runs, a fault loop SIGKILLs, SIGSTOPs/SIGCONTs and gracefully restarts
 * random brokers, one at a time (it waits for the cluster to be whole again before the next),
 * kills the current controller exactly once, and (chaos-cluster-faults.ts) creates a topic and
 * produces into it at once, grows a topic's partitions, takes the object store away for a few
 * seconds and SIGSTOPs etcd past the lease, each once by default:
 *  - producers: kafkajs idempotent producers, acks=-1, small batches of numbered records (unique
 *    ids `p<n>:<seq>`), keyed so they spread over the partitions, with retries that outlast a
 *    failover. A send that finally throws marks its records "in doubt".
 *  - a consumer group (kafkajs consumers) consumes continuously and commits; every committed
 *    offset the broker acknowledges and every committed offset an admin reads back (twice a
 *    second) must be at least the highest one seen before.
 *  - a probe producer (acks=-1, no retries, short request timeout) sends one record per partition
 *    every ~200 ms; the longest gap between two successful sends is that partition's longest
 *    unavailability. Probe records (`q:<seq>`) are checked like the others.
 * At the end the faults stop, every broker is brought back, producers finish, the group catches
 * up, and a fresh consumer reads the whole topic: every acknowledged record exactly once, at the
 * offset it was acknowledged at; offsets contiguous and ascending per partition; each producer's
 * ids ascending within a partition; nothing read that was neither acknowledged nor in doubt.
 *
 * Some kafkajs 2.2.4 behaviours would otherwise be blamed on the broker, so the harness steps
 * around them:
 *  - A send to several partitions keeps its results per broker, not per partition (see
 *    producer/sendMessages.js). When partitions move between two attempts, a retry re-sends
 *    records a broker already took, with new sequence numbers (the broker rightly appends them
 *    again: duplicates), or sends nothing for partitions that moved to a broker that already
 *    answered (the send resolves without them). So each send carries one partition.
 *  - After a send fails, kafkajs rolls its sequence numbers back, and the next records would
 *    reuse them: if the failed batch was written after all, the broker would answer the new one as
 *    its duplicate. So a producer whose send failed is replaced (new producer id).
 *  - After a rebalance, a consumer may still finish a batch fetched under its previous assignment
 *    and auto-commit that old position with the new generation, which a broker accepts (Kafka
 *    does too). So consumers do not auto-commit: every commit goes through one gate that sends
 *    commits one at a time, never below the highest offset already sent for the partition. With
 *    that, the committed offset the broker stores can only grow; any decrease seen is the broker's.
 *  - A consumer stopped (disconnected, or crashed) while its fetchers rebalance after the broker
 *    list changed leaves fetchers behind that spin in microtasks, so no timer of this process ever
 *    fires again: patched (test/helpers/kafkajs-stopped-runner.ts).
 *
 * Broker logs (stderr, followed as they are written) are saved to a folder with the report; by
 * default only when a check fails.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Kafka, type Admin, type Consumer, type KafkaConfig, logLevel, Partitioners, type Producer,
} from 'kafkajs';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import {
  decodeMetadataResponse, defaultMetadataRequest, defaultMetadataRequestMetadataRequestTopic,
  encodeMetadataRequest,
} from '../../protocol/generated/messages/metadata.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  CLUSTER_FAULT_KINDS, ClusterFaults, type ClusterFaultKind,
} from './chaos-cluster-faults.js';
import {
  HardDeadline, HardDeadlineError, bounded, chaosBounds, killHard, withRetries,
} from './chaos-bounds.js';
import { Ledger, type ReadRecord, errorName, seconds } from './chaos-ledger.js';
import { stopFetchersOfStoppedRunners } from '../helpers/kafkajs-stopped-runner.js';
import { StallWatchdog } from '../helpers/stall-watchdog.js';
import { partitionLimits } from '../../src/limits.js';

process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
stopFetchersOfStoppedRunners();

export type WalMode = 'shared' | 'object';
type BrokerFaultKind = 'kill' | 'pause' | 'restart';
export type FaultKind = BrokerFaultKind | 'controller-kill' | ClusterFaultKind;
const FAULT_KINDS: FaultKind[] = ['kill', 'pause', 'restart', 'controller-kill', ...CLUSTER_FAULT_KINDS];
const isClusterKind = (k: FaultKind): k is ClusterFaultKind => (CLUSTER_FAULT_KINDS as FaultKind[]).includes(k);

export interface ChaosOptions {
  walMode?: WalMode;
  /** Faults to inject (one of them kills the controller). Default 20. */
  faults?: number;
  /** Spread the faults over at least this long (the load runs on until then). */
  durationS?: number;
  partitions?: number;
  producers?: number;
  consumers?: number;
  /** Records per producer send. */
  batchSize?: number;
  /** Pause between two sends of one producer. */
  sendPauseMs?: number;
  /** Random pause between the cluster being whole again and the next fault. */
  faultGapMs?: [number, number];
  /** How long a SIGSTOPped broker stays stopped. */
  pauseMs?: [number, number];
  /** How long a SIGKILLed broker stays down before it is restarted. */
  killDownMs?: [number, number];
  /** Only these fault kinds for the random faults (the controller kill happens regardless). */
  kinds?: Exclude<FaultKind, 'controller-kill'>[];
  /** Kinds that happen exactly once each at random places (as the controller kill does), the
   * rest being drawn from `kinds`. Default: every cluster-wide kind (topic creation, partition
   * growth, object-store outage, etcd pause). */
  onceKinds?: Exclude<FaultKind, 'controller-kill'>[];
  /** How long an object-store outage lasts. */
  storeOutageMs?: [number, number];
  /** How long etcd stays SIGSTOPped (longer than the 2 s lease by default). */
  etcdPauseMs?: [number, number];
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Seed of the fault choices (timing still varies from run to run). */
  seed?: number;
  /** Extra broker settings (startCluster's defaults: leaseTtlMs 2000, uploadIntervalMs 100). */
  brokerSettings?: Record<string, string | number | boolean>;
  /** Progress lines; default none. */
  log?: (line: string) => void;
  /** Where broker logs and the report go; default a new folder in the temp dir. */
  logDir?: string;
  /** Save them always, or only when a check fails (default). */
  keepLogs?: 'always' | 'on-failure';
  /** Longest wait for the cluster to be whole again after a fault (longer is a hang). Default 60 s. */
  recoveryLimitMs?: number;
  /** Longest wait for the consumer group to commit up to the end of every partition. Default 60 s. */
  catchUpLimitMs?: number;
  /**
   * Hard limit of the whole run (start-up included): past it every process the run started
   * (brokers, etcd) is killed and runChaos throws, with what it knows, instead of hanging.
   * Default: 10 minutes plus `durationS`.
   */
  deadlineMs?: number;
}

export interface FaultRecord {
  index: number;
  kind: FaultKind;
  /** 0 for a cluster-wide fault. */
  nodeId: number;
  /** Since the start of the run. */
  atMs: number;
  /** What was done and what followed, e.g. "SIGSTOP for 2100 ms; exited 75 after SIGCONT; restarted". */
  detail: string;
  /** From the fault to the cluster being whole again (all brokers up, every partition led); -1: never. */
  recoveredAfterMs: number;
}

export interface BrokerExit {
  nodeId: number;
  atMs: number;
  code: number | null;
  /**
   * 'fail-stop after pause': exit 75 (lease lost) of a broker paused just before, as designed;
   * 'fail-stop': exit 75 without a pause (the lease lapsed anyway, e.g. a starved CPU);
   * 'crash': any other exit.
   */
  kind: 'fail-stop after pause' | 'fail-stop' | 'crash';
  outputTail: string;
}

export interface CommitRegression {
  partition: number;
  from: number;
  to: number;
  fromSource: string;
  toSource: string;
  atMs: number;
}

export interface ChaosReport {
  walMode: WalMode;
  seed: number;
  partitions: number;
  acknowledged: number;
  inDoubt: number;
  /** Records the final reader read (each offset once). */
  read: number;
  lost: number;
  duplicated: number;
  reordered: number;
  /** Read, but neither acknowledged nor in doubt (or never sent at all). */
  unacknowledgedRead: number;
  /** Missing offsets, offsets delivered out of order, log end differing from the high watermark. */
  offsetAnomalies: number;
  /** Acknowledged records read at another offset than the produce response gave. */
  offsetMismatches: number;
  commitRegressions: number;
  commitsAcknowledged: number;
  /** Commit requests below what was already sent (a consumer behind, e.g. on a stale batch). */
  staleCommitsRefused: number;
  groupCaughtUp: boolean;
  /** Sum over partitions of high watermark − committed offset when the wait ended. */
  groupLagAtEnd: number;
  groupRecordsConsumed: number;
  groupJoins: number;
  groupCrashes: number;
  faultsByKind: Record<FaultKind, number>;
  faults: FaultRecord[];
  /** Broker exits nobody asked for (crashes, or fail-stop after a paused broker resumed). */
  brokerExits: BrokerExit[];
  /** Exits other than a fail-stop on a lost lease. */
  crashes: number;
  /** Brokers that exited during an etcd pause or the recovery after it (they should ride it out). */
  etcdPauseExits: number;
  restartFailures: number;
  /** Graceful stops that did not exit 0. */
  badGracefulStops: number;
  /** Times the cluster did not become whole within the limit, or no new controller was elected. */
  hangs: number;
  controllerFailoverMs: number | null;
  maxRecoveryMs: number;
  unavailabilityMs: { perPartition: number[]; overall: number; worstPartition: number; worstFromMs: number };
  probeSends: { ok: number; failed: number };
  /** Per fault kind: the longest probe gap that overlapped a fault of that kind (ms). */
  unavailabilityByKindMs: Partial<Record<FaultKind, number>>;
  /** Wrong high watermarks on a new topic, Metadata that did not follow partition growth, ... */
  clusterAnomalies: string[];
  /** Client-side errors by kind (sends that threw, probe failures, kafkajs unsent partitions). */
  clientErrors: Record<string, number>;
  samples: { lost: string[]; duplicated: string[]; reordered: string[]; unacknowledgedRead: string[];
    offsetAnomalies: string[]; offsetMismatches: string[]; regressions: CommitRegression[] };
  totalMs: number;
  logDir: string | null;
}

const TOPIC = 'chaos';
const GROUP = 'chaos-group';
const SAMPLES_MAX = 10;
/** Longest wait for the high watermarks to stop moving once the producers are done. */
const HIGHS_SETTLE_MS_MAX = 30_000;

// Small utilities ------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/** mulberry32: a small seeded PRNG, so a run's fault choices can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Disconnects a kafkajs client, bounded; errors and overruns are ignored (it is going anyway). */
async function disconnect(client: { disconnect(): Promise<void> }): Promise<void> {
  await bounded('disconnect', client.disconnect(), chaosBounds.disconnectMs).catch(() => {});
}

/** Milliseconds since the run started, and progress lines stamped with them. */
class Clock {
  /** The last lines, for the stall watchdog (the test prints its lines only at the end). */
  readonly recent: string[] = [];
  private readonly start = performance.now();
  constructor(private readonly say: (line: string) => void) {}
  now(): number {
    return Math.round(performance.now() - this.start);
  }
  log(line: string): void {
    const stamped = `[+${seconds(this.now())}] ${line}`;
    this.recent.push(stamped.slice(0, 300));
    if (this.recent.length > 12) this.recent.shift();
    this.say(stamped);
  }
}

// The cluster under faults ---------------------------------------------------------------------

interface BrokerView {
  brokers: number[];
  controllerId: number;
  leaders: number[];
}

/** What one broker says (Metadata v9 over a raw connection, so it is that broker answering). */
async function viewOf(port: number, timeoutMs: number): Promise<BrokerView | null> {
  let raw: RawClient | null = null;
  try {
    raw = await Promise.race([RawClient.connect(port), sleep(timeoutMs).then(() => null)]);
    if (raw === null) return null;
    const req = defaultMetadataRequest();
    req.topics = [{ ...defaultMetadataRequestMetadataRequestTopic(), name: TOPIC }];
    req.allowAutoTopicCreation = false;
    raw.send(ApiKey.Metadata, 9, (w) => encodeMetadataRequest(w, 9, req));
    const frame = await raw.readFrame(timeoutMs);
    if (frame === null) return null;
    const res = decodeMetadataResponse(decodeResponseFrame(ApiKey.Metadata, 9, frame).body, 9);
    const t = res.topics[0];
    const leaders = t === undefined || t.errorCode !== 0 ? []
      : [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)
        .map((p) => (p.errorCode === 0 ? p.leaderId : -1));
    return { brokers: res.brokers.map((b) => b.nodeId).sort(), controllerId: res.controllerId, leaders };
  } catch {
    return null;
  } finally {
    raw?.close();
  }
}

/** Follows a broker's output (the harness keeps only its last 64 KiB) into one string. */
class OutputFollower {
  text = '';
  private last = '';
  constructor(private readonly broker: BrokerProcess) {}
  poll(): void {
    const now = this.broker.output();
    if (now === this.last) return;
    const anchor = this.last.slice(-256);
    const at = anchor === '' ? -1 : now.lastIndexOf(anchor);
    if (this.last === '') this.text += now;
    else if (at >= 0) this.text += now.slice(at + anchor.length);
    else this.text += `\n[... output skipped ...]\n${now}`;
    this.last = now;
  }
}

interface Node {
  id: number;
  handle: BrokerProcess;
  /** 'up': the watchdog restarts it if it dies; otherwise a fault or a restart owns it. */
  state: 'up' | 'busy';
  /** A fail-stop exit (75) before this time follows a pause. */
  expectExitUntilMs: number;
  output: OutputFollower;
}

interface FaultSettings {
  pauseMs: [number, number];
  killDownMs: [number, number];
  recoveryLimitMs: number;
}

/** The three brokers: faults, restarts, a watchdog for exits nobody asked for, health checks. */
class Brokers {
  readonly nodes: Node[];
  readonly exits: BrokerExit[] = [];
  restartFailures = 0;
  badGracefulStops = 0;
  hangs = 0;
  controllerFailoverMs: number | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private watchdogRun: Promise<void> | null = null;
  /** Set by destroy and killAll: no more restarts. */
  private stopping = false;
  private readonly killOnExit = () => {
    for (const n of this.nodes) killHard(n.handle.pid);
  };

  constructor(private readonly cluster: TestCluster, private readonly partitions: number,
    private readonly settings: FaultSettings, private readonly random: () => number,
    private readonly clock: Clock) {
    this.nodes = cluster.brokers.map((handle, i) => ({
      id: i + 1, handle, state: 'up', expectExitUntilMs: 0, output: new OutputFollower(handle) }));
    this.timers.push(setInterval(() => { for (const n of this.nodes) n.output.poll(); }, 500));
    this.timers.push(setInterval(() => this.watchdog(), 200));
    // Should this process end mid-run (a test timeout), leave no broker behind, stopped or not.
    process.once('exit', this.killOnExit);
  }

  private between([lo, hi]: [number, number]): number {
    return lo + this.random() * (hi - lo);
  }

  private async restart(node: Node): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopping) throw new Error(`broker ${node.id}: not restarted, the run is stopping`);
      try {
        await bounded(`broker ${node.id} restart`, node.handle.restart(), chaosBounds.brokerMs);
        return;
      } catch (err) {
        this.restartFailures++;
        this.clock.log(`broker ${node.id}: restart attempt ${attempt} failed: ${String(err).slice(0, 2000)}`);
        await this.killNode(node);
        if (attempt >= 5) throw err;
        await sleep(1000);
      }
    }
  }

  /** SIGKILL and wait for the exit, bounded (a SIGKILL cannot be ignored, but never wait blind). */
  private async killNode(node: Node): Promise<void> {
    await bounded(`broker ${node.id} kill`, node.handle.kill(), chaosBounds.brokerMs).catch((err: unknown) => {
      this.clock.log(String(err));
      killHard(node.handle.pid);
    });
  }

  /** A graceful stop, bounded; past the bound the broker is SIGKILLed and the code is null. */
  private async stopNode(node: Node): Promise<number | null> {
    try {
      return await bounded(`broker ${node.id} graceful stop`, node.handle.stop(), chaosBounds.brokerMs);
    } catch (err) {
      this.clock.log(String(err));
      await this.killNode(node);
      return null;
    }
  }

  private noteExit(node: Node, code: number | null): BrokerExit['kind'] {
    node.output.poll();
    const kind = code !== 75 ? 'crash' : this.clock.now() < node.expectExitUntilMs ? 'fail-stop after pause' : 'fail-stop';
    this.exits.push({ nodeId: node.id, atMs: this.clock.now(), code, kind,
      outputTail: node.output.text.slice(-4000) });
    return kind;
  }

  /** Restarts a broker that exited while nobody was faulting it, and notes the exit. */
  private watchdog(): void {
    if (this.watchdogRun !== null || this.stopping) return;
    const dead = this.nodes.filter((n) => n.state === 'up' && !alive(n.handle.pid));
    if (dead.length === 0) return;
    this.watchdogRun = Promise.all(dead.map(async (node) => {
      node.state = 'busy';
      const code = await this.stopNode(node); // already exited: just its exit code
      const kind = this.noteExit(node, code);
      this.clock.log(`broker ${node.id} exited unasked (code ${code}: ${kind}); restarting`);
      await this.restart(node);
      node.state = 'up';
    })).then(() => {}, (err: unknown) => this.clock.log(`watchdog: ${String(err).slice(0, 500)}`))
      .finally(() => { this.watchdogRun = null; });
  }

  /** Every broker runs, and each sees all three, one controller, and a live leader everywhere. */
  private async whole(): Promise<boolean> {
    if (this.nodes.some((n) => n.state !== 'up' || !alive(n.handle.pid))) return false;
    const views = await Promise.all(this.nodes.map((n) => viewOf(n.handle.port, 1500)));
    const controllers = new Set<number>();
    for (const v of views) {
      if (v === null || v.brokers.join(',') !== '1,2,3' || v.controllerId <= 0) return false;
      if (v.leaders.length !== this.partitions || v.leaders.some((l) => l < 1 || l > 3)) return false;
      controllers.add(v.controllerId);
    }
    return controllers.size === 1;
  }

  /** Waits for the cluster to be whole; false (a hang) if it is not within the limit. */
  async waitWhole(after: string): Promise<boolean> {
    const deadline = performance.now() + this.settings.recoveryLimitMs;
    while (performance.now() < deadline) {
      if (await this.whole()) return true;
      await sleep(100);
    }
    this.hangs++;
    this.clock.log(`HANG: the cluster was not whole ${seconds(this.settings.recoveryLimitMs)} after ${after}`);
    return false;
  }

  async inject(index: number, kind: FaultKind, admin: Admin): Promise<FaultRecord> {
    let node: Node;
    if (kind === 'controller-kill') {
      const { controller } = await bounded('describeCluster', admin.describeCluster(), chaosBounds.callMs);
      if (controller === null) this.clock.log('describeCluster named no controller; killing broker 1');
      node = this.nodes[(controller ?? 1) - 1]!;
    } else {
      node = this.nodes[Math.floor(this.random() * this.nodes.length)]!;
    }
    node.state = 'busy';
    const t0 = performance.now();
    const atMs = this.clock.now();
    let detail: string;
    try {
      if (kind === 'kill') detail = await this.kill(node, t0);
      else if (kind === 'controller-kill') detail = await this.killController(node, t0);
      else if (kind === 'pause') detail = await this.pause(node);
      else detail = await this.gracefulRestart(node, t0);
    } finally {
      node.state = 'up';
    }
    const whole = await this.waitWhole(`fault ${index + 1} (${kind} broker ${node.id})`);
    return { index, kind, nodeId: node.id, atMs, detail,
      recoveredAfterMs: whole ? Math.round(performance.now() - t0) : -1 };
  }

  private async kill(node: Node, t0: number): Promise<string> {
    await this.killNode(node);
    const down = this.between(this.settings.killDownMs);
    await sleep(down - (performance.now() - t0));
    await this.restart(node);
    return `SIGKILL, restarted after ${Math.round(performance.now() - t0)} ms (down ${Math.round(down)} ms planned)`;
  }

  private async killController(node: Node, t0: number): Promise<string> {
    await this.killNode(node);
    const others = this.nodes.filter((n) => n !== node);
    const deadline = performance.now() + 30_000;
    let successor = -1;
    while (successor < 0 && performance.now() < deadline) {
      const ids = (await Promise.all(others.map((n) => viewOf(n.handle.port, 1000)))).map((v) => v?.controllerId ?? -1);
      if (ids.every((c) => c > 0 && c !== node.id && c === ids[0])) successor = ids[0]!;
      else await sleep(50);
    }
    if (successor < 0) this.hangs++;
    this.controllerFailoverMs = successor > 0 ? Math.round(performance.now() - t0) : null;
    const elected = successor > 0 ? `broker ${successor} controller after ${this.controllerFailoverMs} ms`
      : 'NO new controller within 30 s';
    return `controller SIGKILLed; ${elected}; ${await this.kill(node, performance.now())}`;
  }

  private async pause(node: Node): Promise<string> {
    const pid = node.handle.pid!;
    const pause = this.between(this.settings.pauseMs);
    node.expectExitUntilMs = this.clock.now() + pause + 15_000;
    process.kill(pid, 'SIGSTOP');
    await sleep(pause);
    process.kill(pid, 'SIGCONT');
    let detail = `SIGSTOP for ${Math.round(pause)} ms`;
    // A broker that lost its lease meanwhile exits at once (fail-stop); give it the chance.
    const deadline = performance.now() + 2500;
    while (alive(pid) && performance.now() < deadline) await sleep(50);
    if (alive(pid)) return `${detail}; resumed`;
    const code = await this.stopNode(node);
    if (code !== 75) this.noteExit(node, code);
    detail += `; exited ${code} after SIGCONT; restarted`;
    await this.restart(node);
    return detail;
  }

  private async gracefulRestart(node: Node, t0: number): Promise<string> {
    const code = await this.stopNode(node);
    const stopMs = Math.round(performance.now() - t0);
    if (code !== 0) this.badGracefulStops++;
    await sleep(this.random() * 500);
    await this.restart(node);
    return `SIGTERM, exited ${code} after ${stopMs} ms, restarted`;
  }

  async saveLogs(dir: string | undefined, report: ChaosReport | null): Promise<string> {
    const logDir = dir ?? await mkdtemp(path.join(tmpdir(), 'ledgerstream-chaos-'));
    await mkdir(logDir, { recursive: true });
    for (const n of this.nodes) {
      n.output.poll();
      await writeFile(path.join(logDir, `broker-${n.id}.log`), n.output.text);
    }
    if (report !== null) await writeFile(path.join(logDir, 'report.json'), JSON.stringify(report, null, 2));
    return logDir;
  }

  /** At once, synchronously: no more restarts, every broker and etcd SIGKILLed. */
  killAll(): string[] {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const n of this.nodes) n.state = 'busy';
    const killed: string[] = [];
    for (const n of this.nodes) if (killHard(n.handle.pid)) killed.push(`broker ${n.id}`);
    if (killHard(this.cluster.etcd.pid)) killed.push('etcd');
    return killed;
  }

  async destroy(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const n of this.nodes) n.state = 'busy';
    // A restart in progress ends within its bound (and makes no new attempt).
    if (this.watchdogRun !== null) await bounded('the watchdog', this.watchdogRun, chaosBounds.brokerMs).catch(() => {});
    try {
      await bounded('stopping the cluster', this.cluster.destroy(), chaosBounds.brokerMs);
    } catch (err) {
      this.clock.log(`${String(err)}; SIGKILLing what is left`);
      this.killAll();
    }
    process.off('exit', this.killOnExit);
  }
}

interface ProbeGap { partition: number; fromMs: number; toMs: number }
const PROBE_GAPS_MAX = 10_000;

/**
 * Per fault kind, the longest probe gap that overlaps one of its faults (from the fault to a whole
 * cluster again, plus the probe's timeout for the sends in flight then).
 */
function unavailabilityByKind(faults: FaultRecord[], gaps: ProbeGap[], slackMs: number): Partial<Record<FaultKind, number>> {
  const out: Partial<Record<FaultKind, number>> = {};
  for (const f of faults) {
    const end = f.atMs + Math.max(0, f.recoveredAfterMs) + slackMs;
    let longest = 0;
    for (const g of gaps) if (g.fromMs < end && g.toMs > f.atMs) longest = Math.max(longest, g.toMs - g.fromMs);
    out[f.kind] = Math.max(out[f.kind] ?? 0, Math.round(longest));
  }
  return out;
}

// Load: idempotent producers and the probe -----------------------------------------------------

class Producers {
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly kafka: Kafka;
  private readonly partitionOf: (key: string) => number;

  constructor(bootstrap: string[], partitions: number, private readonly ledger: Ledger,
    private readonly batchSize: number, private readonly sendPauseMs: number) {
    this.kafka = new Kafka({ clientId: 'chaos-producer', brokers: bootstrap, logLevel: logLevel.NOTHING,
      requestTimeout: 5000, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
    // The partition kafkajs's default partitioner gives a key, known before sending.
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionErrorCode: 0, partitionId, leader: 1, replicas: [1], isr: [1] }));
    this.partitionOf = (key) => partitioner({ topic: TOPIC, partitionMetadata, message: { key, value: null } });
  }

  start(count: number): void {
    this.loops = Array.from({ length: count }, (_, i) => this.loop(`p${i}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.loops);
  }

  private async connect(): Promise<Producer | null> {
    while (!this.stopped) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1,
        allowAutoTopicCreation: false, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
      try {
        await bounded('producer connect', producer.connect(), chaosBounds.callMs);
        return producer;
      } catch (err) {
        this.ledger.error('producer connect', err);
        await disconnect(producer);
        await sleep(500);
      }
    }
    return null;
  }

  private async loop(stream: string): Promise<void> {
    let producer = await this.connect();
    let seq = 0;
    while (producer !== null && !this.stopped) {
      const byPartition = new Map<number, { key: string; value: string; partition: number }[]>();
      for (let i = 0; i < this.batchSize; i++) {
        const id = `${stream}:${seq++}`;
        const partition = this.partitionOf(id);
        this.ledger.sending(id, partition);
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), { key: id, value: id, partition }]);
      }
      // One send per partition, all at once (see the file comment).
      const sent = await Promise.all([...byPartition.values()].map((messages) => this.send(producer!, stream, messages)));
      if (sent.includes(false)) {
        await disconnect(producer);
        producer = await this.connect();
      }
      await sleep(this.sendPauseMs);
    }
    if (producer !== null) await disconnect(producer);
  }

  /** Sends one partition's records; false if not all of them are known to be acknowledged. */
  private async send(producer: Producer, stream: string,
    messages: { key: string; value: string; partition: number }[]): Promise<boolean> {
    try {
      const results = await bounded('send', producer.send({ topic: TOPIC, acks: -1, timeout: 10_000, messages }),
        chaosBounds.sendMs);
      const [result] = results;
      if (results.length === 1 && result!.partition === messages[0]!.partition && result!.errorCode === 0 &&
        Number(result!.baseOffset) >= 0) {
        messages.forEach((m, i) => this.ledger.acked(m.value, Number(result!.baseOffset) + i));
        return true;
      }
      this.ledger.error(`send ${stream}`, new Error(`unexpected send result ${JSON.stringify(results)}`));
    } catch (err) {
      this.ledger.error(`send ${stream}`, err);
    }
    for (const m of messages) this.ledger.inDoubt(m.value);
    return false;
  }
}

/**
 * A send that resolved without an offset for its partition: in doubt, not acknowledged. Seen once
 * in CI: from a broker kill on, kafkajs resolved every send to the partitions one broker led with
 * an empty result and stored nothing. Its broker pool can file that broker under another node id
 * when a broker is removed during a metadata refresh (brokerPool.js swaps the seed broker while
 * the refresh still matches the old seed's address); sendMessages then finds no partitions for
 * that broker, sends a Produce without topics and resolves with its empty answer.
 */
class UnacknowledgedSend extends Error {
  override name = 'UnacknowledgedSend';
  constructor(partition: number, results: unknown[]) {
    super(`send to partition ${partition} resolved without its offset: `
      + JSON.stringify(results).slice(0, 200));
  }
}

/** One record per partition every interval; the longest gap between acknowledgements per partition. */
class Probe {
  readonly sends = { ok: 0, failed: 0 };
  /** Gaps longer than two intervals, to attribute them to the faults they overlap. */
  readonly gaps: ProbeGap[] = [];
  private readonly kafka: Kafka;
  private producer: Producer;
  private renewing: Promise<void> | null = null;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private measureFrom = Infinity;
  private seq = 0;
  private readonly lastOk: number[];
  private readonly maxGap: number[];
  private readonly maxGapFrom: number[];

  constructor(bootstrap: string[], private readonly partitions: number, private readonly ledger: Ledger,
    private readonly clock: Clock, private readonly intervalMs: number, private readonly timeoutMs: number) {
    this.kafka = new Kafka({ clientId: 'chaos-probe', brokers: bootstrap,
      logLevel: logLevel.NOTHING, requestTimeout: timeoutMs, connectionTimeout: 1000, retry: { retries: 0 } });
    this.producer = this.newProducer();
    this.lastOk = Array.from({ length: partitions }, () => 0);
    this.maxGap = Array.from({ length: partitions }, () => 0);
    this.maxGapFrom = Array.from({ length: partitions }, () => 0);
  }

  private newProducer(): Producer {
    return this.kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  }

  /**
   * Replaces a producer that resolved a send without sending it: its kafkajs broker pool stays
   * wrong (see UnacknowledgedSend), so every later send to that leader would be dropped too.
   */
  private async renew(stale: Producer): Promise<void> {
    if (this.renewing === null && this.producer === stale) {
      this.renewing = (async () => {
        const fresh = this.newProducer();
        try {
          await bounded('probe connect', fresh.connect(), chaosBounds.callMs);
          this.producer = fresh;
          await disconnect(stale);
        } catch (err) {
          this.ledger.error('probe reconnect', err);
          await disconnect(fresh);
        } finally {
          this.renewing = null;
        }
      })();
    }
    await this.renewing;
  }

  async start(): Promise<void> {
    await bounded('probe connect', this.producer.connect(), chaosBounds.callMs);
    this.loops = Array.from({ length: this.partitions }, (_, p) => this.loop(p));
  }

  /** Gaps count from now on (and from now at the latest). */
  measure(): void {
    this.measureFrom = this.clock.now();
    for (let p = 0; p < this.partitions; p++) this.lastOk[p] = Math.max(this.lastOk[p]!, this.measureFrom);
  }

  private note(partition: number, okAtMs: number): void {
    const gap = okAtMs - this.lastOk[partition]!;
    if (this.lastOk[partition]! >= this.measureFrom && gap > 2 * this.intervalMs && this.gaps.length < PROBE_GAPS_MAX) {
      this.gaps.push({ partition, fromMs: this.lastOk[partition]!, toMs: okAtMs });
    }
    if (this.lastOk[partition]! >= this.measureFrom && gap > this.maxGap[partition]!) {
      this.maxGap[partition] = gap;
      this.maxGapFrom[partition] = this.lastOk[partition]!;
    }
    this.lastOk[partition] = okAtMs;
  }

  private async loop(partition: number): Promise<void> {
    while (!this.stopped) {
      const t0 = performance.now();
      const id = `q:${this.seq++}`;
      this.ledger.sending(id, partition);
      const producer = this.producer;
      try {
        const results = await bounded('probe send', producer.send({ topic: TOPIC, acks: -1,
          timeout: this.timeoutMs, messages: [{ key: id, value: id, partition }] }), chaosBounds.callMs);
        const result = results.find((r) => r.partition === partition);
        if (result === undefined || result.errorCode !== 0 || !(Number(result.baseOffset) >= 0)) {
          // Not an acknowledgement (see UnacknowledgedSend).
          throw new UnacknowledgedSend(partition, results);
        }
        this.ledger.acked(id, Number(result.baseOffset));
        this.sends.ok++;
        this.note(partition, this.clock.now());
      } catch (err) {
        this.ledger.inDoubt(id);
        this.sends.failed++;
        this.ledger.error('probe', err);
        if (err instanceof UnacknowledgedSend) {
          this.clock.log(`probe: ${err.message}; replacing the producer`);
          await this.renew(producer);
        }
      }
      await sleep(this.intervalMs - (performance.now() - t0));
    }
  }

  /** Stops measuring (a gap still open counts up to now) and sending. */
  async stop(): Promise<ChaosReport['unavailabilityMs']> {
    const end = this.clock.now();
    for (let p = 0; p < this.partitions; p++) {
      const gap = end - this.lastOk[p]!;
      if (gap > this.maxGap[p]!) { this.maxGap[p] = gap; this.maxGapFrom[p] = this.lastOk[p]!; }
      if (gap > 2 * this.intervalMs && this.measureFrom <= end) this.gaps.push({ partition: p, fromMs: this.lastOk[p]!, toMs: end });
    }
    this.measureFrom = Infinity;
    this.stopped = true;
    await Promise.allSettled(this.loops);
    await disconnect(this.producer);
    const overall = Math.max(...this.maxGap);
    const worst = this.maxGap.indexOf(overall);
    return { perPartition: this.maxGap.map((g) => Math.round(g)), overall: Math.round(overall),
      worstPartition: worst, worstFromMs: this.maxGapFrom[worst]! };
  }
}

// The consumer group and its committed offsets -------------------------------------------------

/**
 * Every commit of the group goes through here: one at a time, never below the highest offset
 * already sent for the partition (see the file comment). Watches committed offsets: each one the
 * broker acknowledges, and each one an admin reads back, must be at least the highest seen before.
 */
class Commits {
  readonly regressions: CommitRegression[] = [];
  acknowledged = 0;
  staleRefused = 0;
  private readonly sent: number[];
  private readonly acked: number[];
  private readonly seen: { offset: number; source: string }[];
  private readonly wanted = new Map<number, { offset: number; member: GroupMember }>();
  private readonly lastRequester = new Map<number, GroupMember>();
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(partitions: number, private readonly clock: Clock, private readonly ledger: Ledger) {
    this.sent = Array.from({ length: partitions }, () => -1);
    this.acked = Array.from({ length: partitions }, () => -1);
    this.seen = Array.from({ length: partitions }, () => ({ offset: -1, source: 'none' }));
  }

  /** A member processed `partition` up to `offset` (exclusive); commits it soon unless stale. */
  request(member: GroupMember, partition: number, offset: number): void {
    if (this.closed) return;
    if (this.stale(partition, offset)) { this.staleRefused++; return; }
    const current = this.wanted.get(partition);
    // The same offset from another member replaces it: the newest requester is the likelier owner.
    if (current === undefined || offset >= current.offset) this.wanted.set(partition, { offset, member });
    this.lastRequester.set(partition, member);
    this.kick();
  }

  private kick(): void {
    if (this.draining !== null) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      // Not once closed: drain would return at once, leaving `wanted` as it is, and kick again
      // and again in microtasks only, so no timer (not even the run's hard deadline) ever fired.
      if (this.wanted.size > 0 && !this.closed) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed) {
      const next = this.wanted.entries().next();
      if (next.done) return;
      const [partition, { offset, member }] = next.value;
      this.wanted.delete(partition);
      if (this.stale(partition, offset)) { this.staleRefused++; continue; }
      this.sent[partition] = offset;
      try {
        // The broker's acknowledgement arrives as the member's COMMIT_OFFSETS event (acknowledgedBy).
        await bounded('commit', member.commit(partition, offset), chaosBounds.callMs);
      } catch (err) {
        this.ledger.error('commit', err);
      }
      if (this.acked[partition]! < offset && !this.wanted.has(partition)) {
        // Not acknowledged: the same offset again later (the same value twice cannot go back).
        await sleep(200);
        if (!this.wanted.has(partition)) this.wanted.set(partition, { offset, member: this.lastRequester.get(partition)! });
      }
    }
  }

  /** Below what was sent, or what was sent and acknowledged already. */
  private stale(partition: number, offset: number): boolean {
    return offset < this.sent[partition]! || offset <= this.acked[partition]!;
  }

  acknowledgedBy(member: string, generation: number, partition: number, offset: number): void {
    this.acknowledged++;
    this.acked[partition] = Math.max(this.acked[partition]!, offset);
    this.observe(partition, offset, `commit by ${member} (generation ${generation}) acknowledged`);
  }

  /** Per partition: what the gate sent, what was acknowledged, what waits. */
  describe(partition: number): string {
    const wanted = this.wanted.get(partition);
    return `sent ${this.sent[partition]}, acknowledged ${this.acked[partition]}` +
      (wanted === undefined ? '' : `, waiting ${wanted.offset} from ${wanted.member.name}`) +
      (this.draining === null ? '' : ' (gate busy)');
  }

  /** No more commits (the members are stopping). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.draining !== null) await this.draining;
  }

  private observe(partition: number, offset: number, source: string,
    floor: { offset: number; source: string } = this.seen[partition]!): void {
    if (offset < 0 || this.seen[partition] === undefined) return;
    if (offset < floor.offset) {
      this.regressions.push({ partition, from: floor.offset, to: offset, fromSource: floor.source,
        toSource: source, atMs: this.clock.now() });
      this.clock.log(`committed offset of p${partition} went back: ${floor.offset} (${floor.source}) -> ${offset} (${source})`);
    }
    if (offset > this.seen[partition]!.offset) this.seen[partition] = { offset, source };
  }

  /** Reads the group's committed offsets with the admin; returns them per partition (-1: none). */
  async poll(admin: Admin): Promise<number[]> {
    // Compared with what was seen before asking: commits acknowledged meanwhile may be newer.
    const floors = this.seen.map((s) => ({ ...s }));
    const at = this.clock.now();
    const res = await bounded('fetchOffsets', admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }), chaosBounds.callMs);
    const out = this.seen.map(() => -1);
    for (const p of res.flatMap((t) => t.partitions)) {
      out[p.partition] = Number(p.offset);
      this.observe(p.partition, Number(p.offset), `offset fetch at +${seconds(at)}`, floors[p.partition]);
    }
    return out;
  }
}

class GroupMember {
  consumed = 0;
  /** Per partition: the end of the last batch this member processed, and when. */
  readonly positions = new Map<number, { offset: number; atMs: number }>();
  joins = 0;
  crashes = 0;
  private consumer: Consumer | null = null;
  private stopped = false;
  private restarting: Promise<void> | null = null;

  constructor(private readonly kafka: Kafka, readonly name: string, private readonly commits: Commits,
    private readonly clock: Clock) {}

  commit(partition: number, offset: number): Promise<void> {
    return this.consumer?.commitOffsets([{ topic: TOPIC, partition, offset: String(offset) }]) ?? Promise.resolve();
  }

  async start(): Promise<void> {
    while (!this.stopped) {
      const consumer = this.kafka.consumer({ groupId: GROUP, sessionTimeout: 10_000, rebalanceTimeout: 15_000,
        heartbeatInterval: 1000, maxWaitTimeInMs: 500, retry: { retries: 6, initialRetryTime: 200, maxRetryTime: 1000 } });
      this.consumer = consumer;
      consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
        for (const p of payload.topics.flatMap((t) => t.partitions)) {
          this.commits.acknowledgedBy(this.name, payload.groupGenerationId, Number(p.partition), Number(p.offset));
        }
      });
      consumer.on(consumer.events.GROUP_JOIN, () => { this.joins++; });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        this.crashes++;
        this.clock.log(`${this.name} crashed (${errorName(payload.error)}); kafkajs restarts it: ${payload.restart}`);
        if (!payload.restart) this.restartLater();
      });
      try {
        await bounded('consumer connect', consumer.connect(), chaosBounds.callMs);
        await bounded('consumer subscribe', consumer.subscribe({ topic: TOPIC, fromBeginning: true }), chaosBounds.callMs);
        await bounded('consumer run', consumer.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch: async ({ batch }) => {
          if (batch.messages.length === 0) return;
          this.consumed += batch.messages.length;
          this.positions.set(batch.partition, { offset: Number(batch.lastOffset()) + 1, atMs: this.clock.now() });
          this.commits.request(this, batch.partition, Number(batch.lastOffset()) + 1);
        } }), chaosBounds.callMs);
        return;
      } catch (err) {
        this.clock.log(`${this.name} failed to start (${errorName(err)}); trying again`);
        await disconnect(consumer);
        await sleep(1000);
      }
    }
  }

  private restartLater(): void {
    if (this.restarting !== null || this.stopped) return;
    this.restarting = (async () => {
      if (this.consumer !== null) await disconnect(this.consumer);
      await this.start();
      this.restarting = null;
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restarting !== null) await bounded(`${this.name} restart`, this.restarting, chaosBounds.callMs).catch(() => {});
    if (this.consumer !== null) await disconnect(this.consumer);
  }
}

/** Reads every partition from the beginning up to its high watermark with a fresh consumer. */
async function readTopic(kafka: Kafka, highs: number[]): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  const next = highs.map(() => 0);
  const consumer = kafka.consumer({ groupId: `chaos-reader-${Date.now()}`, maxWaitTimeInMs: 200 });
  let progressAt = performance.now();
  try {
    await bounded('reader connect', consumer.connect(), chaosBounds.callMs);
    await bounded('reader subscribe', consumer.subscribe({ topic: TOPIC, fromBeginning: true }), chaosBounds.callMs);
    await bounded('reader run', consumer.run({ eachBatchAutoResolve: true, eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const offset = Number(m.offset);
        // kafkajs hands each message its record batch's header fields, untyped.
        const b = (m as { batchContext?: { producerId: string; firstSequence: number; partitionLeaderEpoch: number } }).batchContext;
        out.push({ partition: batch.partition, offset, value: m.value?.toString() ?? '',
          batch: b === undefined ? '?' : `pid ${b.producerId} seq ${b.firstSequence} epoch ${b.partitionLeaderEpoch}` });
        next[batch.partition] = Math.max(next[batch.partition]!, offset + 1);
      }
      progressAt = performance.now();
    } }), chaosBounds.callMs);
    const deadline = performance.now() + 120_000;
    while (next.some((n, p) => n < highs[p]!)) {
      if (performance.now() > deadline || performance.now() - progressAt > 30_000) break;
      await sleep(100);
    }
    await sleep(500); // anything past the high watermarks would show up too
  } finally {
    await disconnect(consumer);
  }
  return out;
}

/**
 * The kind of each fault: the controller kill and each of `onceKinds` once, at random places
 * (as long as there are places), the rest drawn from `kinds`.
 */
function planFaults(count: number, kinds: Exclude<FaultKind, 'controller-kill'>[],
  onceKinds: Exclude<FaultKind, 'controller-kill'>[], random: () => number): FaultKind[] {
  const plan: (FaultKind | null)[] = Array.from({ length: count }, () => null);
  const free = () => plan.flatMap((k, i) => (k === null ? [i] : []));
  for (const kind of ['controller-kill' as const, ...onceKinds]) {
    const places = free();
    if (places.length === 0) break;
    plan[places[Math.floor(random() * places.length)]!] = kind;
  }
  return plan.map((k) => k ?? kinds[Math.floor(random() * kinds.length)]!);
}

/** A cluster-wide fault (see chaos-cluster-faults.ts), then the wait for a whole cluster. */
async function injectClusterFault(index: number, kind: ClusterFaultKind, faults: ClusterFaults,
  brokers: Brokers, admin: Admin, clock: Clock): Promise<FaultRecord> {
  const t0 = performance.now();
  const atMs = clock.now();
  let detail: string;
  try {
    detail = await faults.inject(index, kind, admin);
  } catch (err) {
    detail = `FAILED: ${String(err).slice(0, 300)}`;
    faults.anomalies.push(`fault ${index + 1} (${kind}) failed: ${String(err).slice(0, 300)}`);
  }
  const whole = await brokers.waitWhole(`fault ${index + 1} (${kind})`);
  return { index, kind, nodeId: 0, atMs, detail, recoveredAfterMs: whole ? Math.round(performance.now() - t0) : -1 };
}

// The run --------------------------------------------------------------------------------------

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const walMode = options.walMode ?? 'shared';
  const faultCount = options.faults ?? 20;
  const partitions = options.partitions ?? 6;
  const [gapMin, gapMax] = options.faultGapMs ?? [500, 2000];
  const kinds = options.kinds ?? ['kill', 'pause', 'restart'];
  const onceKinds = options.onceKinds ?? CLUSTER_FAULT_KINDS;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = prng(seed);
  const clock = new Clock(options.log ?? (() => {}));
  const ledger = new Ledger(clock);
  const deadlineMs = options.deadlineMs ?? 600_000 + (options.durationS ?? 0) * 1000;
  const runStart = performance.now();

  clock.log(`chaos: wal-mode ${walMode}, ${faultCount} faults, seed ${seed}; starting etcd and 3 brokers`);
  // startCluster bounds each start itself (etcd, then each broker's 30 s) and cleans up on failure.
  const cluster = await startCluster(3, { walMode, ...options.brokerSettings });
  const brokers = new Brokers(cluster, partitions, {
    pauseMs: options.pauseMs ?? [500, 4000], killDownMs: options.killDownMs ?? [100, 2000],
    recoveryLimitMs: options.recoveryLimitMs ?? 60_000 }, random, clock);
  // Should this process's event loop stop turning, no timer (not even the hard deadline) fires: a
  // worker thread then kills the cluster and this process, printing the last progress lines.
  const watchdog = new StallWatchdog(`chaos, WAL mode ${walMode}`, chaosBounds.stallMs,
    () => [...brokers.nodes.map((n) => n.handle.pid), cluster.etcd.pid],
    () => clock.recent.join('\n'));
  const kafka = (clientId: string, extra: Partial<KafkaConfig> = {}) => new Kafka({ clientId,
    brokers: cluster.bootstrap, logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 }, ...extra });
  const admin = kafka('chaos-admin').admin();
  const producers = new Producers(cluster.bootstrap, partitions, ledger, options.batchSize ?? 12,
    options.sendPauseMs ?? 30);
  const probe = new Probe(cluster.bootstrap, partitions, ledger, clock, options.probeIntervalMs ?? 200,
    options.probeTimeoutMs ?? 1500);
  const commits = new Commits(partitions, clock, ledger);
  const clusterFaults = new ClusterFaults(cluster, random, {
    storeOutageMs: options.storeOutageMs ?? [2000, 5000], etcdPauseMs: options.etcdPauseMs ?? [3000, 5000] });
  const groupKafka = kafka('chaos-group', { requestTimeout: 10_000 });
  const members = Array.from({ length: options.consumers ?? 2 },
    (_, i) => new GroupMember(groupKafka, `consumer-${i}`, commits, clock));
  let polling = true;
  let poller: Promise<void> = Promise.resolve();
  const faults: FaultRecord[] = [];
  const faultsByKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  // Past the hard deadline: every process killed at once (synchronously, from the timer), so
  // whatever the run awaits fails soon; the run's own promise is abandoned.
  const deadline = new HardDeadline(Math.max(0, deadlineMs - (performance.now() - runStart)), () => {
    polling = false;
    const killed = brokers.killAll();
    clock.log(`HARD DEADLINE (${seconds(deadlineMs)}) reached; SIGKILLed ${killed.join(', ') || 'nothing (all gone)'}`);
  });
  const run = async (): Promise<ChaosReport> => {
    await bounded('admin connect', admin.connect(), chaosBounds.callMs);
    await bounded('createTopics', admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: partitions }] }),
      chaosBounds.callMs);
    if (!await brokers.waitWhole('creating the topic')) throw new Error('the topic got no leaders');
    await clusterFaults.setUp(admin);

    for (const m of members) await m.start();
    poller = (async () => {
      while (polling) {
        await commits.poll(admin).catch((err: unknown) => ledger.error('offset fetch', err));
        await sleep(500);
      }
    })();
    producers.start(options.producers ?? 2);
    await probe.start();
    clock.log(`load running: ${options.producers ?? 2} idempotent producers, ${members.length} group consumers, ` +
      `a probe every ${options.probeIntervalMs ?? 200} ms`);
    await sleep(2000);
    probe.measure();

    // Faults, one at a time, each once the cluster is whole again.
    const phaseStart = performance.now();
    const durationMs = (options.durationS ?? 0) * 1000;
    const plan = planFaults(faultCount, kinds, onceKinds, random);
    for (let index = 0; index < faultCount; index++) {
      const due = phaseStart + (durationMs * index) / faultCount;
      await sleep(Math.max(gapMin + random() * (gapMax - gapMin), due - performance.now()));
      if (!await brokers.waitWhole(`before fault ${index + 1}`)) break;
      const kind = plan[index]!;
      const fault = isClusterKind(kind)
        ? await injectClusterFault(index, kind, clusterFaults, brokers, admin, clock)
        : await brokers.inject(index, kind, admin);
      faults.push(fault);
      faultsByKind[kind]++;
      const target = fault.nodeId > 0 ? ` broker ${fault.nodeId}` : '';
      clock.log(`fault ${index + 1}/${faultCount}: ${kind}${target}: ${fault.detail}; ` +
        (fault.recoveredAfterMs < 0 ? 'NOT whole again' : `whole again after ${seconds(fault.recoveredAfterMs)}`));
      if (fault.recoveredAfterMs < 0) break;
    }
    await sleep(phaseStart + durationMs - performance.now());

    // Wind down: everything back, producers done, the group caught up.
    clock.log('faults done; waiting for the cluster to be whole');
    await brokers.waitWhole('the last fault');
    const unavailabilityMs = await probe.stop();
    await producers.stop();
    clock.log('producers done');
    const readHighs = () => withRetries(async () => {
      const out: number[] = Array.from({ length: partitions }, () => 0);
      for (const o of await bounded('fetchTopicOffsets', admin.fetchTopicOffsets(TOPIC), chaosBounds.callMs)) {
        out[o.partition] = Number(o.high);
      }
      return out;
    });
    // Settled high watermarks: in object-WAL mode a produce whose client gave up during a store
    // outage (in doubt) is still appended, and commits when the uploads' backoff (up to
    // uploadRetryMsMax) next retries. Read once the watermarks stay put for longer than that.
    // With a shared WAL an appended produce is acknowledged or recovered before the cluster is
    // whole again, so one read does.
    let highs = await readHighs();
    const settleDeadline = performance.now() + HIGHS_SETTLE_MS_MAX;
    while (walMode === 'object') {
      await sleep(partitionLimits.uploadRetryMsMax + 1_000);
      const again = await readHighs();
      const settled = again.every((h, p) => h === highs[p]);
      highs = again;
      if (settled || performance.now() > settleDeadline) break;
    }
    const highTotal = highs.reduce((a, b) => a + b, 0);
    let groupLagAtEnd = highTotal;
    const catchUpDeadline = performance.now() + (options.catchUpLimitMs ?? 60_000);
    while (groupLagAtEnd > 0 && performance.now() < catchUpDeadline) {
      await sleep(500);
      const committed = await commits.poll(admin).catch(() => null);
      if (committed !== null) groupLagAtEnd = highs.reduce((sum, h, p) => sum + Math.max(0, h - Math.max(0, committed[p]!)), 0);
    }
    clock.log(groupLagAtEnd === 0 ? 'group caught up' : `group did NOT catch up: lag ${groupLagAtEnd}`);
    if (groupLagAtEnd > 0) {
      const committed = await commits.poll(admin).catch(() => []);
      for (let p = 0; p < partitions; p++) {
        const positions = members.map((m) => {
          const at = m.positions.get(p);
          return at === undefined ? `${m.name} none` : `${m.name} ${at.offset} at +${seconds(at.atMs)}`;
        });
        clock.log(`  p${p}: high ${highs[p]}, committed ${committed[p]}; ${commits.describe(p)}; processed: ${positions.join(', ')}`);
      }
    }
    polling = false;
    await poller;
    await bounded('closing the commit gate', commits.close(), chaosBounds.callMs);
    await Promise.all(members.map((m) => m.stop()));

    const readBack = await readTopic(kafka('chaos-reader', { requestTimeout: 10_000 }), highs);
    clock.log(`read ${readBack.length} records (high watermarks total ${highTotal})`);
    const checks = ledger.check(readBack, highs);
    const sample = <T>(list: T[]) => list.slice(0, SAMPLES_MAX);
    const report: ChaosReport = {
      walMode, seed, partitions,
      acknowledged: ledger.count('acked'),
      inDoubt: ledger.count('doubt'),
      read: checks.read,
      lost: checks.lost.length,
      duplicated: checks.duplicated.length,
      reordered: checks.reordered.length,
      unacknowledgedRead: checks.unacknowledgedRead.length,
      offsetAnomalies: checks.offsetAnomalies.length,
      offsetMismatches: checks.offsetMismatches.length,
      commitRegressions: commits.regressions.length,
      commitsAcknowledged: commits.acknowledged,
      staleCommitsRefused: commits.staleRefused,
      groupCaughtUp: groupLagAtEnd === 0,
      groupLagAtEnd,
      groupRecordsConsumed: members.reduce((s, m) => s + m.consumed, 0),
      groupJoins: members.reduce((s, m) => s + m.joins, 0),
      groupCrashes: members.reduce((s, m) => s + m.crashes, 0),
      faultsByKind, faults,
      brokerExits: brokers.exits,
      crashes: brokers.exits.filter((e) => e.kind === 'crash').length,
      etcdPauseExits: brokers.exits.filter((e) => faults.some((f) => f.kind === 'etcd-pause' &&
        e.atMs >= f.atMs && (f.recoveredAfterMs < 0 || e.atMs <= f.atMs + f.recoveredAfterMs))).length,
      restartFailures: brokers.restartFailures,
      badGracefulStops: brokers.badGracefulStops,
      hangs: brokers.hangs,
      controllerFailoverMs: brokers.controllerFailoverMs,
      maxRecoveryMs: Math.max(0, ...faults.map((f) => f.recoveredAfterMs)),
      unavailabilityMs,
      unavailabilityByKindMs: unavailabilityByKind(faults, probe.gaps, options.probeTimeoutMs ?? 1500),
      clusterAnomalies: clusterFaults.anomalies,
      probeSends: probe.sends,
      clientErrors: ledger.clientErrors,
      samples: {
        lost: sample(checks.lost), duplicated: sample(checks.duplicated), reordered: sample(checks.reordered),
        unacknowledgedRead: sample(checks.unacknowledgedRead), offsetAnomalies: sample(checks.offsetAnomalies),
        offsetMismatches: sample(checks.offsetMismatches), regressions: sample(commits.regressions),
      },
      totalMs: clock.now(),
      logDir: null,
    };
    if (options.keepLogs === 'always' || chaosFailures(report).length > 0) {
      report.logDir = await brokers.saveLogs(options.logDir, report);
    }
    return report;
  };
  try {
    return await deadline.race(run());
  } catch (err) {
    const logDir = await bounded('saving the logs', brokers.saveLogs(options.logDir, null), chaosBounds.callMs)
      .catch(() => null);
    if (err instanceof HardDeadlineError) {
      throw new Error(`${err.message}: every process it started was killed. So far: ` +
        `${faults.length} of ${faultCount} faults (${faults.map((f) => `${f.kind}${f.nodeId > 0 ? ` ${f.nodeId}` : ''}` +
          ` ${f.recoveredAfterMs < 0 ? 'never whole' : `whole after ${f.recoveredAfterMs} ms`}`).join('; ') || 'none'}); ` +
        `${ledger.count('acked')} records acknowledged, ${ledger.count('doubt')} in doubt, ` +
        `${ledger.count('pending')} pending; broker logs in ${logDir}`, { cause: err });
    }
    clock.log(`chaos run failed: ${String(err)}; broker logs in ${logDir}`);
    throw err;
  } finally {
    deadline.clear();
    polling = false;
    // Each step is bounded, and so is the whole: a stuck client must not hold the test.
    const cleanup = (async () => {
      await Promise.allSettled([producers.stop(), probe.stop(), poller, commits.close()]);
      await Promise.allSettled(members.map((m) => m.stop()));
      await bounded('admin disconnect', admin.disconnect(), chaosBounds.disconnectMs).catch(() => {});
    })();
    await bounded('stopping the load', cleanup, chaosBounds.cleanupMs).catch((err: unknown) => clock.log(String(err)));
    await brokers.destroy();
    await watchdog.stop();
  }
}

// Verdict and printing ---------------------------------------------------------------------------

/** The checks that failed; empty when the run is clean. */
export function chaosFailures(r: ChaosReport): string[] {
  const failures: string[] = [];
  if (r.acknowledged === 0) failures.push('nothing was acknowledged');
  if (r.lost > 0) failures.push(`${r.lost} acknowledged records lost`);
  if (r.duplicated > 0) failures.push(`${r.duplicated} records duplicated`);
  if (r.reordered > 0) failures.push(`${r.reordered} records reordered`);
  if (r.commitRegressions > 0) failures.push(`${r.commitRegressions} committed-offset regressions`);
  if (r.unacknowledgedRead > 0) failures.push(`${r.unacknowledgedRead} records read that were neither acknowledged nor in doubt`);
  if (r.offsetAnomalies > 0) failures.push(`${r.offsetAnomalies} offset anomalies (gaps, out of order)`);
  if (r.offsetMismatches > 0) failures.push(`${r.offsetMismatches} records read at another offset than acknowledged`);
  if (r.hangs > 0) failures.push(`${r.hangs} hangs (cluster not whole again in time, or no new controller)`);
  if (r.crashes > 0) failures.push(`${r.crashes} broker crashes`);
  if (r.etcdPauseExits > 0) failures.push(`${r.etcdPauseExits} broker exits during an etcd pause`);
  if (!r.groupCaughtUp) failures.push(`the consumer group did not catch up (lag ${r.groupLagAtEnd})`);
  if (r.clusterAnomalies.length > 0) failures.push(`${r.clusterAnomalies.length} cluster anomalies: ${r.clusterAnomalies.join('; ')}`);
  return failures;
}

export function formatReport(r: ChaosReport): string {
  const ms = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);
  const lines = [
    `chaos report (wal-mode ${r.walMode}, seed ${r.seed})`,
    `  records: acknowledged ${r.acknowledged}, in doubt ${r.inDoubt}, read ${r.read}`,
    `  lost ${r.lost}, duplicated ${r.duplicated}, reordered ${r.reordered}, ` +
      `unacknowledged-read-not-in-doubt ${r.unacknowledgedRead}, offset anomalies ${r.offsetAnomalies}, ` +
      `read-at-another-offset ${r.offsetMismatches}`,
    `  consumer group: committed-offset regressions ${r.commitRegressions} (commits acknowledged ${r.commitsAcknowledged}, ` +
      `stale commits refused ${r.staleCommitsRefused}), caught up ${r.groupCaughtUp ? 'yes' : `NO (lag ${r.groupLagAtEnd})`}, ` +
      `consumed ${r.groupRecordsConsumed}, joins ${r.groupJoins}, crashes ${r.groupCrashes}`,
    `  faults: ${FAULT_KINDS.map((k) => `${k} ${r.faultsByKind[k]}`).join(', ')} (total ${r.faults.length})`,
    `  controller failover ${ms(r.controllerFailoverMs)}; longest recovery to a whole cluster ${ms(r.maxRecoveryMs)}`,
    `  longest unavailability per partition (ms): ${r.unavailabilityMs.perPartition.map((g, p) => `p${p} ${g}`).join(', ')}`,
    `  longest unavailability overall: ${r.unavailabilityMs.overall} ms (p${r.unavailabilityMs.worstPartition}, ` +
      `from +${seconds(r.unavailabilityMs.worstFromMs)}); probe sends ok ${r.probeSends.ok}, failed ${r.probeSends.failed}`,
    `  longest unavailability per fault type (ms): ` +
      `${FAULT_KINDS.filter((k) => r.unavailabilityByKindMs[k] !== undefined).map((k) => `${k} ${r.unavailabilityByKindMs[k]}`).join(', ')}`,
    `  broker exits not asked for: ${r.brokerExits.length} (crashes ${r.crashes}, ` +
      `during etcd pauses ${r.etcdPauseExits}); restart failures ${r.restartFailures}; ` +
      `graceful stops not exiting 0: ${r.badGracefulStops}; hangs ${r.hangs}`,
    `  total time ${seconds(r.totalMs)}`,
  ];
  const errors = Object.entries(r.clientErrors).sort((a, b) => b[1] - a[1]);
  if (errors.length > 0) lines.push(`  client errors: ${errors.map(([k, n]) => `${k} ×${n}`).join('; ')}`);
  for (const f of r.faults) {
    lines.push(`    fault ${f.index + 1} at +${seconds(f.atMs)}: ${f.kind}${f.nodeId > 0 ? ` broker ${f.nodeId}` : ''}: ${f.detail}; ` +
      `whole after ${f.recoveredAfterMs} ms`);
  }
  for (const e of r.brokerExits) {
    lines.push(`    broker ${e.nodeId} exited ${e.code} at +${seconds(e.atMs)} (${e.kind})`);
  }
  const samples: [string, string[]][] = [
    ['lost', r.samples.lost], ['duplicated', r.samples.duplicated], ['reordered', r.samples.reordered],
    ['unacknowledged read', r.samples.unacknowledgedRead], ['offset anomalies', r.samples.offsetAnomalies],
    ['read at another offset', r.samples.offsetMismatches],
    ['commit regressions', r.samples.regressions.map((g) =>
      `p${g.partition} ${g.from} (${g.fromSource}) -> ${g.to} (${g.toSource}) at +${seconds(g.atMs)}`)],
  ];
  for (const [name, list] of samples) if (list.length > 0) lines.push(`  ${name}:\n    ${list.join('\n    ')}`);
  const failures = chaosFailures(r);
  lines.push(failures.length === 0 ? '  verdict: clean' : `  verdict: FAILED: ${failures.join('; ')}`);
  if (r.logDir !== null) lines.push(`  broker logs and report: ${r.logDir}`);
  return lines.join('\n');
}
