/**
 * The topics and partition logs this broker serves: an in-memory view of the coordinator's topics
 * with a PartitionLog per partition. Changes go to the coordinator first and reach memory only
 * once committed, so a failed commit leaves both as they were.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/config.js';
import type { PartitionState, TopicRecord } from '../metadata/records.js';
import type { Metadata } from '../metadata/stores.js';
import { UnknownTopicError } from '../metadata/records.js';
import { type EffectiveTopicConfig, effectiveConfig } from '../metadata/topic-configs.js';
import type { Durability } from './durability/durability.js';
import { type HistoryReader, PartitionLog } from './partition-log.js';
import { OpenWaiters } from './open-waiters.js';

export interface TopicEntry {
  record: TopicRecord;
  config: EffectiveTopicConfig;
  /**
   * One slot per partition: the log when this broker leads the partition, undefined when another
   * broker does (cluster mode), or while this broker is still taking it at an epoch of its own
   * (see InstallGate). A single node leads every partition.
   */
  logs: (PartitionLog | undefined)[];
}

/** Why a partition has no local log: it does not exist, or another broker leads it. */
export function missingPartitionError(entry: TopicEntry | undefined, partition: number):
  'UNKNOWN_TOPIC_OR_PARTITION' | 'NOT_LEADER_OR_FOLLOWER' {
  const exists = entry !== undefined && partition >= 0 && partition < entry.record.partitionCount;
  return exists ? 'NOT_LEADER_OR_FOLLOWER' : 'UNKNOWN_TOPIC_OR_PARTITION';
}

/** The leaders of new partitions `[from, to)` of a topic, one per partition. */
export type LeaderPlacement = (topicId: string, from: number, to: number) => Promise<number[]>;

/**
 * Whether an install (a topic or partitions appearing here, outside cluster/leadership.ts's queue:
 * a Metadata or Produce request's topicNow, or a change event) may open a log this broker leads
 * at `leaderEpoch`. When not, the slot stays empty and the gate's owner opens the partition itself
 * once it has taken it at an epoch of its own.
 */
export type InstallGate = (topicId: string, partition: number, leaderEpoch: number) => boolean;

export class PartitionManager {
  private readonly byName = new Map<string, TopicEntry>();
  private readonly byId = new Map<string, TopicEntry>();
  /**
   * Installs under way, by topic id. A topic this broker creates is installed twice over in
   * cluster mode — by createTopic, and by cluster/leadership.ts reacting to the coordinator's
   * change event — and both callers must end up with the SAME entry: a second install finishing
   * later would replace logs that may already hold acknowledged appends with empty ones.
   */
  private readonly installing = new Map<string, Promise<TopicEntry>>();
  /**
   * Cluster mode, while this broker has no valid lease: every log refuses appends, also one
   * opened meanwhile, until cluster/leadership.ts has re-acquired leadership at a new epoch.
   */
  private appendsHeld = false;
  /**
   * WAL positions still needed by partitions taken from this broker without its consent, by
   * `topicId:partition`: the new leader replays them from this broker's WAL (recoverFrom), so
   * the WAL must not be trimmed past them until that recovery is complete.
   */
  private readonly walPins = new Map<string, number>();
  /** Requests waiting for a partition this broker leads to open (see open-waiters.ts). */
  private readonly openWaiters = new OpenWaiters();

  constructor(
    private readonly metadata: Metadata,
    private readonly config: BrokerConfig,
    private readonly durability: Durability,
    private readonly history: HistoryReader,
    private readonly nodeId: number,
    private readonly log: Logger,
    /** Wall-clock time (a topic's creation time). */
    private readonly nowMs: () => number,
  ) {}

  /**
   * Who leads new partitions `[from, to)` of a topic: this broker on a single node; cluster mode
   * installs the controller's placement (cluster/placement.ts), so that a new partition starts
   * on its final leader instead of moving away in its first second.
   */
  private placement: LeaderPlacement = async (_topicId, from, to) =>
    Array.from({ length: to - from }, () => this.nodeId);

  setLeaderPlacement(placement: LeaderPlacement): void {
    this.placement = placement;
  }

  /** Any epoch, on a single node; cluster/leadership.ts installs its own (see there). */
  private installGate: InstallGate = () => true;

  setInstallGate(gate: InstallGate): void {
    this.installGate = gate;
  }

  /** Loads every topic and its partitions' state from the coordinator. */
  async load(): Promise<void> {
    for (const record of await this.metadata.topics.list()) await this.install(record);
  }

  /**
   * The topic's entry: the one installed already, or the one being installed, or a new one. It
   * never replaces an entry of the same topic id, whose logs may hold appends (see `installing`).
   */
  private install(record: TopicRecord): Promise<TopicEntry> {
    const installed = this.byId.get(record.topicId);
    if (installed !== undefined) return Promise.resolve(installed);
    let pending = this.installing.get(record.topicId);
    if (pending === undefined) {
      pending = this.build(record).finally(() => this.installing.delete(record.topicId));
      this.installing.set(record.topicId, pending);
    }
    return pending;
  }

  private async build(record: TopicRecord): Promise<TopicEntry> {
    const states = await this.metadata.leadership.states(record.topicId);
    assert.equal(states.length, record.partitionCount, `${record.name}: one state per partition`);
    const logs: (PartitionLog | undefined)[] = [];
    for (const s of states.sort((a, b) => a.partition - b.partition)) {
      logs.push(this.leads(s) ? await this.openLog(record, s) : undefined);
    }
    assert.ok(!this.byId.has(record.topicId), `${record.name}: installed once`);
    const entry: TopicEntry = { record, config: effectiveConfig(this.config, record.configs),
      logs: logs.map((log) => this.admit(log)) };
    this.byName.set(record.name, entry);
    this.byId.set(record.topicId, entry);
    this.openWaiters.topicChanged(record.topicId);
    return entry;
  }

  /**
   * Whether this broker serves the partition now (always on a single node). A partition with a
   * pending recovery opens only once cluster/leadership.ts has replayed the old leader's WAL.
   */
  private leads(s: PartitionState): boolean {
    return s.leaderId === this.nodeId && s.recoverFrom === -1;
  }

  /**
   * Cluster mode: a topic another broker created (or this one, whose install it then joins), or
   * changed: partitions added (CreatePartitions through any broker) or configs replaced.
   */
  async adoptTopic(record: TopicRecord): Promise<void> {
    const entry = await this.install(record);
    if (this.byId.get(record.topicId) !== entry) return; // deleted meanwhile
    await this.grow(entry, record.partitionCount);
    if (JSON.stringify(entry.record.configs) !== JSON.stringify(record.configs)) {
      entry.record = { ...entry.record, configs: { ...record.configs } };
      entry.config = effectiveConfig(this.config, record.configs);
    }
  }

  /**
   * Extends the entry to `partitionCount` partitions, opening the new ones this broker leads.
   * Every new log is built first and the slots are filled together, without an await between:
   * readers (Metadata) never see a partition list with holes. A slot another call filled
   * meanwhile keeps its log: it may already hold appends. Returns the partitions it opened.
   */
  private async grow(entry: TopicEntry, partitionCount: number): Promise<Set<number>> {
    const opened = new Set<number>();
    if (partitionCount <= entry.logs.length) return opened;
    const built = new Map<number, PartitionLog | undefined>();
    const states = await this.metadata.leadership.states(entry.record.topicId);
    for (const st of states.sort((a, b) => a.partition - b.partition)) {
      if (st.partition < entry.logs.length || st.partition >= partitionCount) continue;
      built.set(st.partition, this.leads(st) ? await this.openLog(entry.record, st) : undefined);
    }
    if (this.byId.get(entry.record.topicId) !== entry) return opened; // deleted meanwhile
    // Only as far as the states read reach (they cannot lag the count that asked, as partitions
    // only grow, but a hole is never made up).
    for (let partition = entry.logs.length; built.has(partition); partition++) {
      const log = this.admit(built.get(partition));
      if (log !== undefined) opened.add(partition);
      entry.logs[partition] = log;
      this.openWaiters.changed(entry.record.topicId, partition);
    }
    if (entry.logs.length > entry.record.partitionCount) {
      entry.record = { ...entry.record, partitionCount: entry.logs.length };
    }
    assert.equal(entry.logs.length, entry.record.partitionCount, `${entry.record.name}: one log per partition`);
    return opened;
  }

  /** Cluster mode: a topic another broker deleted. */
  forgetTopic(name: string): void {
    const entry = this.byName.get(name);
    if (entry === undefined) return;
    for (const log of entry.logs) log?.fence('topic deleted');
    this.byName.delete(name);
    this.byId.delete(entry.record.topicId);
    this.openWaiters.topicChanged(entry.record.topicId);
  }

  /**
   * Cluster mode: this broker now leads the partition (at `state`'s epoch). Returns false when it
   * opened nothing: the topic is neither installed nor being installed (its install opens the
   * partition), or a log of this epoch or a newer one appeared meanwhile (an install or
   * createPartitions opened it while this awaited), which is kept: it may already hold appends.
   */
  async openPartition(topicId: string, state: PartitionState): Promise<boolean> {
    // An install under way may leave this partition to us (see InstallGate): wait for it.
    const entry = this.byId.get(topicId)
      ?? await this.installing.get(topicId)?.catch(() => undefined);
    if (entry === undefined || this.byId.get(topicId) !== entry) return false;
    if (state.partition >= entry.logs.length) {
      // A partition added by another broker, whose topic change has not reached us yet: grow the
      // whole entry (a slot alone would leave holes below it).
      const record = await this.metadata.topics.getById(topicId);
      if (record === null || this.byId.get(topicId) !== entry) return false;
      return (await this.grow(entry, Math.max(record.partitionCount, state.partition + 1)))
        .has(state.partition);
    }
    const log = await this.openLog(entry.record, state);
    if (this.byId.get(topicId) !== entry) return false; // deleted or re-created meanwhile
    const current = entry.logs[state.partition];
    if (current !== undefined && !current.fenced && current.leaderEpoch >= state.leaderEpoch) return false;
    current?.fence('reopened at a newer epoch');
    entry.logs[state.partition] = this.applyHold(log);
    this.openWaiters.changed(topicId, state.partition);
    return true;
  }

  /**
   * Resolves at the partition's next change here (a log opened or closed, its topic installed or
   * forgotten) or after `timeoutMs`: for a request to a partition this broker leads but has not
   * opened yet, which looks again then (see open-waiters.ts).
   */
  nextPartitionChange(topicId: string, partition: number, timeoutMs: number): Promise<void> {
    return this.openWaiters.next(topicId, partition, timeoutMs);
  }

  /** Lease lost: every log, present and opened from now on, refuses appends. */
  holdAppends(): void {
    this.appendsHeld = true;
    for (const log of this.allLogs()) log.holdForLostLease();
  }

  /**
   * Leadership was re-acquired at new epochs: logs opened from now on take appends. The held
   * logs themselves never do again; each is replaced when its new epoch arrives.
   */
  releaseAppends(): void {
    this.appendsHeld = false;
  }

  get holdingAppends(): boolean {
    return this.appendsHeld;
  }

  private applyHold(log: PartitionLog): PartitionLog {
    if (this.appendsHeld) log.holdForLostLease();
    return log;
  }

  /**
   * A log an install built, as it goes into its slot (synchronously, after the install's last
   * await): held if appends are held, or left out if the install gate refuses its epoch.
   */
  private admit(log: PartitionLog | undefined): PartitionLog | undefined {
    if (log === undefined) return undefined;
    if (!this.installGate(log.topicId, log.partition, log.leaderEpoch)) return undefined;
    return this.applyHold(log);
  }

  /** Keeps the WAL from `lsn` on for a partition another broker is recovering from it. */
  pinWal(topicId: string, partition: number, lsn: number): void {
    if (Number.isFinite(lsn)) this.walPins.set(`${topicId}:${partition}`, lsn);
  }

  /**
   * Keeps the whole WAL for a partition another broker recovers from it, when this broker holds
   * no log of it to say from where: e.g. this broker restarted while that recovery was pending;
   * its start-up replay left the partition's entries out of every log, so nothing else keeps
   * them. A pin set from the log when it closed (more precise) stays.
   */
  pinWalWhole(topicId: string, partition: number): void {
    const key = `${topicId}:${partition}`;
    if (!this.walPins.has(key)) this.walPins.set(key, 1);
  }

  unpinWal(topicId: string, partition: number): void {
    this.walPins.delete(`${topicId}:${partition}`);
  }

  /** The lowest pinned WAL position, or Infinity. */
  walPinnedFrom(): number {
    let lsn = Infinity;
    for (const pinned of this.walPins.values()) lsn = Math.min(lsn, pinned);
    return lsn;
  }

  /** Cluster mode: another broker leads the partition now. */
  closePartition(topicId: string, partition: number): void {
    const entry = this.byId.get(topicId);
    if (entry !== undefined && partition < entry.logs.length) entry.logs[partition] = undefined;
    this.openWaiters.changed(topicId, partition);
  }

  private async openLog(record: TopicRecord, s: PartitionState): Promise<PartitionLog> {
    const producers = await this.metadata.producers.loadStates(record.topicId, s.partition);
    return new PartitionLog(record.topicId, record.name, s.partition, s.leaderEpoch,
      { logStartOffset: s.logStartOffset, indexedEndOffset: s.indexedEndOffset, producers },
      this.durability.forPartition(record.topicId, s.partition), this.history);
  }

  topic(name: string): TopicEntry | undefined {
    return this.byName.get(name);
  }

  /**
   * The topic's entry with at least `partitionCount` partitions when the coordinator has them,
   * also when another broker created or grew it a moment ago and this broker's watch has not
   * delivered that yet: a broker named leader in Metadata must accept the producer that follows,
   * and a request refused for some partitions but accepted for others is resent whole by some
   * clients (duplicates). Undefined when the topic does not exist.
   */
  async topicNow(name: string, partitionCount = 1): Promise<TopicEntry | undefined> {
    const known = this.byName.get(name);
    if (known !== undefined && known.record.partitionCount >= partitionCount) return known;
    const record = await this.metadata.topics.read(name);
    if (record === null) return known;
    try {
      await this.adoptTopic(record);
    } catch (err) {
      if (!(err instanceof UnknownTopicError)) throw err; // deleted meanwhile
    }
    return this.byName.get(name);
  }

  topicById(topicId: string): TopicEntry | undefined {
    return this.byId.get(topicId);
  }

  topics(): TopicEntry[] {
    return [...this.byName.values()].sort((a, b) => a.record.name.localeCompare(b.record.name));
  }

  partitionLog(topic: string, partition: number): PartitionLog | undefined {
    return this.byName.get(topic)?.logs[partition];
  }

  /** Whether the topic has that partition, wherever it is led. */
  partitionExists(topic: string, partition: number): boolean {
    const entry = this.byName.get(topic);
    return entry !== undefined && partition >= 0 && partition < entry.record.partitionCount;
  }

  /** The error for a partition with no local log: UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER. */
  missingError(topic: string, partition: number): number {
    return ErrorCode[missingPartitionError(this.byName.get(topic), partition)];
  }

  /** Every partition log this broker leads, for the uploader and retention. */
  *allLogs(): Iterable<PartitionLog> {
    for (const t of this.byName.values()) {
      for (const log of t.logs) if (log !== undefined) yield log;
    }
  }

  /** Partitions this broker leads. */
  get partitionCount(): number {
    let n = 0;
    for (const _ of this.allLogs()) n++;
    return n;
  }

  /** Creates a topic; `leaders` places its partitions (default: the placement). */
  async createTopic(name: string, partitionCount: number, configs: Record<string, string>,
    leaders?: readonly number[]): Promise<TopicEntry> {
    assert.ok(partitionCount >= 1, 'a topic has at least one partition');
    const record: TopicRecord = { name, topicId: newTopicId(), partitionCount, configs,
      createdAtMs: this.nowMs() };
    await this.metadata.topics.create(record,
      leaders ?? await this.placement(record.topicId, 0, partitionCount));
    this.log.info({ topic: name, topicId: record.topicId, partitions: partitionCount }, 'topic created');
    return this.install(record);
  }

  /** Deletes the topic; returns object keys that no longer hold live data. */
  async deleteTopic(name: string): Promise<string[]> {
    const entry = this.byName.get(name);
    if (entry === undefined) throw new UnknownTopicError(name);
    const orphaned = await this.metadata.topics.delete(name);
    this.byName.delete(name);
    this.byId.delete(entry.record.topicId);
    this.log.info({ topic: name }, 'topic deleted');
    return orphaned;
  }

  /** Raises the partition count; `leaders` places the new partitions (default: the placement). */
  async createPartitions(name: string, partitionCount: number, leaders?: readonly number[]):
    Promise<void> {
    const entry = this.byName.get(name);
    if (entry === undefined) throw new UnknownTopicError(name);
    const from = entry.record.partitionCount;
    await this.metadata.topics.createPartitions(name, partitionCount,
      leaders ?? await this.placement(entry.record.topicId, from, partitionCount));
    // Existing logs keep their in-memory tails; the topic stays visible throughout, and the new
    // partitions appear all at once when their logs are built.
    await this.grow(entry, partitionCount);
  }

  async setConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const entry = this.byName.get(name);
    if (entry === undefined) throw new UnknownTopicError(name);
    await this.metadata.topics.setConfigs(name, configs);
    entry.record = { ...entry.record, configs };
    entry.config = effectiveConfig(this.config, configs);
  }

  /** Re-adds batches the WAL holds that object storage does not (start-up recovery). */
  replay(topicId: string, partition: number, batch: Buffer, lsn: number, nowMs: number): boolean {
    const log = this.byId.get(topicId)?.logs[partition];
    // Topic deleted since (its data goes with it), or led by another broker now.
    if (log === undefined) return false;
    log.replay(batch, lsn, nowMs);
    return true;
  }
}

function newTopicId(): string {
  const bytes = randomBytes(16);
  // Kafka reserves the all-zero and the "metadata topic" UUIDs; a random one colliding is moot.
  return bytes.toString('base64url');
}
