/**
 * One classic consumer group: Kafka's GroupMetadata and the per-group half of its
 * GroupCoordinator, as a state machine.
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
 *     ▲                  ▲      │                                    │ leader's SyncGroup
 *     └── no members ────┘      └────────── member change ◀──── Stable ◀┘
 *   Dead: deleted or closed; every request gets COORDINATOR_NOT_AVAILABLE.
 *
 * Every method here is synchronous and must be called inside `run()`, the group's serial queue:
 * a JoinGroup or SyncGroup that has to wait for other members returns `{ pending }`, a promise
 * the caller awaits *outside* the queue. Timers (join, initial delay, pending sync, sessions)
 * re-enter through `run()` too, so state changes never interleave.
 *
 * Membership lives in memory only: after a restart, members get UNKNOWN_MEMBER_ID and rejoin.
 * Committed offsets are durable and live in the metadata coordinator (group-coordinator.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { SerialQueue } from '../util/serial-queue.js';
import { groupLimits } from '../limits.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupConfig {
  groupInitialRebalanceDelayMs: number;
  groupSessionTimeoutMsMin: number;
  groupSessionTimeoutMsMax: number;
}

export interface GroupEnv {
  config: GroupConfig;
  log: Logger;
  /** Called (inside the queue) when the group is Empty, without members, and nothing is queued. */
  onIdle(group: Group): void;
}

export interface Protocol { name: string; metadata: Buffer }

export interface JoinRequest {
  /** '' for a member that has no id yet. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED and an id. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a rejoining static leader may be told to skip the assignment (KIP-814). */
  supportSkippingAssignment: boolean;
  reason: string | null;
}

export interface JoinedMember { memberId: string; groupInstanceId: string | null; metadata: Buffer }

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  skipAssignment: boolean;
  /** The members and their metadata for the chosen protocol; only the leader gets them. */
  members: JoinedMember[];
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** SyncGroup v5+ states what the member believes; null before. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface MemberIdentity { memberId: string; groupInstanceId: string | null }

export interface LeaveResult {
  errorCode: number;
  members: (MemberIdentity & { errorCode: number })[];
}

export interface MemberSummary {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

export interface GroupSummary {
  groupId: string;
  state: GroupState;
  protocolType: string;
  /** The chosen protocol while Stable, else ''. */
  protocolName: string;
  /** Metadata and assignments are filled in only while Stable, as Kafka does. */
  members: MemberSummary[];
}

/** Either an answer now, or one that comes when the rebalance gets there. */
export type Outcome<T> = { done: T } | { pending: Promise<T> };

interface Waiter<T> { promise: Promise<T>; resolve(value: T): void }

interface Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
  assignment: Buffer;
  /** Joined in the current rebalance and has not yet had a JoinGroup answer. */
  isNew: boolean;
  joinWaiter: Waiter<JoinResult> | null;
  syncWaiter: Waiter<SyncResult> | null;
  sessionTimer: NodeJS.Timeout | null;
}

const noBytes = Buffer.alloc(0);

function waiter<T>(): Waiter<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leaderId: '',
    memberId, skipAssignment: false, members: [] };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: noBytes };
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return a.length === b.length
    && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}

function metadataFor(member: Member, protocolName: string): Buffer {
  const protocol = member.protocols.find((p) => p.name === protocolName);
  assert.ok(protocol !== undefined, `member ${member.memberId} lacks protocol ${protocolName}`);
  return protocol.metadata;
}

/**
 * The topics of a ConsumerProtocolSubscription (int16 version, then an int32-counted array of
 * int16-length strings; later fields are not needed), or null if the bytes do not parse.
 */
export function parseSubscribedTopics(metadata: Buffer): string[] | null {
  if (metadata.length < 6 || metadata.readInt16BE(0) < 0) return null;
  const count = metadata.readInt32BE(2);
  if (count < 0 || count > metadata.length) return null;
  const topics: string[] = [];
  let pos = 6;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > metadata.length) return null;
    const length = metadata.readInt16BE(pos);
    pos += 2;
    if (length < 0 || pos + length > metadata.length) return null;
    topics.push(metadata.toString('utf8', pos, pos + length));
    pos += length;
  }
  return topics;
}

export class Group {
  private stateValue: GroupState = 'Empty';
  private generation = 0;
  private protocolNameValue: string | null = null;
  private leaderId: string | null = null;
  private readonly members = new Map<string, Member>();
  /** groupInstanceId → memberId of the static members. */
  private readonly staticMembers = new Map<string, string>();
  /** Ids handed out with MEMBER_ID_REQUIRED, each with its expiry timer. */
  private readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  /** Members that got this generation's JoinGroup answer but have not sent SyncGroup. */
  private readonly pendingSyncMembers = new Set<string>();
  /** Topics the members subscribe to (consumer protocol); null when unknown. */
  private subscribedTopics: Set<string> | null = null;
  private newMemberAdded = false;
  private joinTimer: NodeJS.Timeout | null = null;
  private joinTimerIsInitialDelay = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly queue = new SerialQueue();
  private readonly log: Logger;

  constructor(readonly groupId: string, private readonly env: GroupEnv) {
    this.log = env.log.child({ groupId });
  }

  get state(): GroupState { return this.stateValue; }
  get generationId(): number { return this.generation; }
  get protocolName(): string | null { return this.protocolNameValue; }
  get memberCount(): number { return this.members.size; }
  get protocolType(): string | null {
    const first = this.members.values().next();
    return first.done === true ? null : first.value.protocolType;
  }

  /** Runs `fn` in the group's serial queue, then checks invariants and reports idleness. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.queue.run(async () => {
      try {
        return await fn();
      } finally {
        this.assertInvariants();
        if (this.queue.size === 1 && this.isIdle()) this.env.onIdle(this);
      }
    });
  }

  isIdle(): boolean {
    return this.stateValue === 'Empty' && this.members.size === 0 && this.pendingMembers.size === 0;
  }

  // ---- JoinGroup -------------------------------------------------------------------------

  join(req: JoinRequest): Outcome<JoinResult> {
    if (this.stateValue === 'Dead') {
      return { done: joinError(req.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE) };
    }
    const selfId = req.memberId !== '' ? req.memberId
      : req.groupInstanceId === null ? undefined : this.staticMembers.get(req.groupInstanceId);
    if (!this.supportsProtocols(req.protocolType, req.protocols, selfId)) {
      return { done: joinError(req.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL) };
    }
    if (req.reason !== null) this.log.debug({ memberId: req.memberId, reason: req.reason }, 'join');
    const outcome = req.memberId === '' ? this.joinNewMember(req) : this.joinKnownMember(req);
    this.tryCompleteJoin();
    return outcome;
  }

  private joinNewMember(req: JoinRequest): Outcome<JoinResult> {
    const memberId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldMemberId = this.staticMembers.get(req.groupInstanceId);
      return oldMemberId === undefined ? this.addMemberAndRebalance(req, memberId)
        : this.replaceStaticMember(req, oldMemberId, memberId);
    }
    if (req.requireKnownMemberId) {
      this.addPendingMember(memberId, req.sessionTimeoutMs);
      return { done: joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED) };
    }
    return this.addMemberAndRebalance(req, memberId);
  }

  private joinKnownMember(req: JoinRequest): Outcome<JoinResult> {
    if (this.pendingMembers.has(req.memberId)) {
      if (req.groupInstanceId !== null && this.staticMembers.has(req.groupInstanceId)) {
        return { done: joinError(req.memberId, ErrorCode.FENCED_INSTANCE_ID) };
      }
      return this.addMemberAndRebalance(req, req.memberId);
    }
    const error = this.validateMember(req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return { done: joinError(req.memberId, error) };
    const member = this.members.get(req.memberId)!;
    const unchanged = sameProtocols(member.protocols, req.protocols);
    const isLeader = member.memberId === this.leaderId;
    // Lost its JoinGroup answer: repeat it. A follower rejoining a stable group with nothing
    // changed gets the current generation; the leader rejoining forces a rebalance (it may have
    // seen metadata changes the member metadata does not show).
    if (this.stateValue === 'CompletingRebalance' && unchanged) {
      return { done: this.joinResultFor(member, isLeader) };
    }
    if (this.stateValue === 'Stable' && unchanged && !isLeader) {
      return { done: this.joinResultFor(member, false) };
    }
    return this.updateMemberAndRebalance(member, req);
  }

  private addMemberAndRebalance(req: JoinRequest, memberId: string): Outcome<JoinResult> {
    const member: Member = {
      memberId, groupInstanceId: req.groupInstanceId, clientId: req.clientId,
      clientHost: req.clientHost, sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs, protocolType: req.protocolType,
      protocols: req.protocols, assignment: noBytes, isNew: true, joinWaiter: null,
      syncWaiter: null, sessionTimer: null,
    };
    if (this.stateValue === 'PreparingRebalance' && this.generation === 0) {
      this.newMemberAdded = true;
    }
    this.removePendingMember(memberId);
    this.members.set(memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, memberId);
    this.leaderId ??= memberId;
    const pending = this.awaitJoin(member);
    // A new member cannot heartbeat before its JoinGroup is answered; if it went away, this
    // drops it rather than holding up rebalances forever (Kafka's NewMemberJoinTimeoutMs).
    this.scheduleSessionExpiry(member, groupLimits.newMemberJoinTimeoutMs);
    this.maybePrepareRebalance(`member ${memberId} joined`);
    return { pending };
  }

  private updateMemberAndRebalance(member: Member, req: JoinRequest): Outcome<JoinResult> {
    this.updateMember(member, req);
    const pending = this.awaitJoin(member);
    this.maybePrepareRebalance(`member ${member.memberId} rejoined`);
    return { pending };
  }

  private updateMember(member: Member, req: JoinRequest): void {
    member.protocolType = req.protocolType;
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  }

  /** A static member restarted (new process, no member id): it takes over the old identity. */
  private replaceStaticMember(req: JoinRequest, oldMemberId: string, newMemberId: string):
    Outcome<JoinResult> {
    const member = this.members.get(oldMemberId);
    assert.ok(member !== undefined && member.groupInstanceId === req.groupInstanceId);
    const oldLeaderId = this.leaderId;
    // Fence the old process's JoinGroup or SyncGroup still in flight.
    this.settleJoin(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.settleSync(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.members.delete(oldMemberId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    this.staticMembers.set(member.groupInstanceId!, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    this.updateMember(member, req);
    this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
    const pending = this.awaitJoin(member);
    this.log.info({ oldMemberId, newMemberId, groupInstanceId: req.groupInstanceId },
      'static member replaced');
    if (this.stateValue === 'Stable') {
      if (this.protocolNameValue === this.selectProtocol()) {
        this.answerReplacedStaticMember(member, oldLeaderId, req.supportSkippingAssignment);
      } else {
        this.prepareRebalance(`static member ${newMemberId} changed the group's protocol`);
      }
    } else if (this.stateValue === 'CompletingRebalance') {
      // The leader is assigning to the old id: rebalance so it learns the new one.
      this.prepareRebalance(`static member ${newMemberId} replaced ${oldMemberId}`);
    } else {
      assert.equal(this.stateValue, 'PreparingRebalance'); // answered when the join completes
    }
    return { pending };
  }

  /**
   * A stable group keeps its assignment when a static member comes back. The leader is told
   * about itself only if it can skip assigning (v9+); otherwise the answer names the old leader
   * id, so no member thinks it must assign (a stable group would not broadcast it).
   */
  private answerReplacedStaticMember(member: Member, oldLeaderId: string | null,
    supportSkippingAssignment: boolean): void {
    const skip = member.memberId === this.leaderId && supportSkippingAssignment;
    this.settleJoin(member, { ...this.joinResultFor(member, skip), skipAssignment: skip,
      leaderId: skip ? member.memberId : oldLeaderId ?? '' });
  }

  // ---- Rebalance phases ------------------------------------------------------------------

  private maybePrepareRebalance(reason: string): void {
    const s = this.stateValue;
    if (s === 'Stable' || s === 'CompletingRebalance' || s === 'Empty') {
      this.prepareRebalance(reason);
    }
  }

  private prepareRebalance(reason: string): void {
    if (this.stateValue === 'CompletingRebalance') {
      this.resetAndPropagateAssignmentError(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.clearSyncTimer();
    const wasEmpty = this.stateValue === 'Empty';
    this.stateValue = 'PreparingRebalance';
    const rebalanceTimeoutMs = this.rebalanceTimeoutMs();
    this.log.info({ generationId: this.generation, reason }, 'preparing to rebalance');
    if (wasEmpty) {
      // group.initial.rebalance.delay.ms: let more of the first members arrive before the
      // first generation, extended (up to the rebalance timeout) while new members keep joining.
      const delayMs = this.env.config.groupInitialRebalanceDelayMs;
      this.startInitialDelay(delayMs, Math.max(rebalanceTimeoutMs - delayMs, 0));
    } else {
      this.setJoinTimer(rebalanceTimeoutMs, false, () => this.completeJoin());
      this.tryCompleteJoin();
    }
  }

  private startInitialDelay(delayMs: number, remainingMs: number): void {
    this.setJoinTimer(delayMs, true, () => {
      if (this.newMemberAdded && remainingMs > 0) {
        this.newMemberAdded = false;
        const nextDelayMs = Math.min(this.env.config.groupInitialRebalanceDelayMs, remainingMs);
        this.startInitialDelay(nextDelayMs, Math.max(remainingMs - nextDelayMs, 0));
      } else {
        this.completeJoin();
      }
    });
  }

  /** Completes the join phase early once every member has rejoined (not during the delay). */
  private tryCompleteJoin(): void {
    if (this.stateValue !== 'PreparingRebalance' || this.joinTimerIsInitialDelay) return;
    if (this.pendingMembers.size > 0) return;
    for (const m of this.members.values()) if (m.joinWaiter === null) return;
    this.completeJoin();
  }

  private completeJoin(): void {
    assert.equal(this.stateValue, 'PreparingRebalance');
    this.clearJoinTimer();
    this.newMemberAdded = false;
    for (const m of [...this.members.values()]) {
      if (m.joinWaiter !== null || m.groupInstanceId !== null) continue;
      this.log.info({ memberId: m.memberId }, 'removing member that did not rejoin in time');
      this.removeMember(m);
    }
    if (!this.electJoinedLeader() && this.members.size > 0) {
      // Only static members that have not rejoined are left: give them (or their session
      // timeouts) another rebalance timeout, as Kafka does.
      this.setJoinTimer(this.rebalanceTimeoutMs(), false, () => this.completeJoin());
      return;
    }
    this.initNextGeneration();
    if (this.members.size === 0) return; // now Empty
    for (const m of this.members.values()) {
      this.settleJoin(m, this.joinResultFor(m, m.memberId === this.leaderId));
      this.scheduleSessionExpiry(m, m.sessionTimeoutMs);
      m.isNew = false;
      this.pendingSyncMembers.add(m.memberId);
    }
    this.startSyncTimer();
  }

  /** Keeps the leader if it rejoined, else picks any member that did. */
  private electJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.joinWaiter !== null) return true;
    for (const m of this.members.values()) {
      if (m.joinWaiter !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private initNextGeneration(): void {
    this.generation += 1;
    this.pendingSyncMembers.clear();
    if (this.members.size === 0) {
      this.protocolNameValue = null;
      this.subscribedTopics = null;
      this.stateValue = 'Empty';
      this.log.info({ generationId: this.generation }, 'group is empty');
      return;
    }
    this.protocolNameValue = this.selectProtocol();
    this.subscribedTopics = this.computeSubscribedTopics();
    this.stateValue = 'CompletingRebalance';
    this.log.info({ generationId: this.generation, protocol: this.protocolNameValue,
      members: this.members.size, leader: this.leaderId }, 'group joined; awaiting sync');
  }

  /** Each member votes for its most preferred protocol that every member supports. */
  private selectProtocol(): string {
    const all = [...this.members.values()];
    assert.ok(all.length > 0, 'cannot select a protocol for an empty group');
    const supportedByAll = (name: string) =>
      all.every((m) => m.protocols.some((p) => p.name === name));
    const candidates = all[0]!.protocols.map((p) => p.name).filter(supportedByAll);
    assert.ok(candidates.length > 0, 'no protocol is supported by every member');
    const votes = new Map<string, number>();
    for (const m of all) {
      const vote = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const [name, count] of votes) if (count > votes.get(best)!) best = name;
    return best;
  }

  private computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolNameValue === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const parsed = parseSubscribedTopics(metadataFor(m, this.protocolNameValue));
      if (parsed === null) return null;
      for (const t of parsed) topics.add(t);
    }
    return topics;
  }

  // ---- SyncGroup and Heartbeat -----------------------------------------------------------

  sync(req: SyncRequest): Outcome<SyncResult> {
    const error = this.validateGeneration(req.memberId, req.groupInstanceId, req.generationId);
    if (error !== ErrorCode.NONE) return { done: syncError(error) };
    if ((req.protocolType !== null && req.protocolType !== this.protocolType)
      || (req.protocolName !== null && req.protocolName !== this.protocolNameValue)) {
      return { done: syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL) };
    }
    const member = this.members.get(req.memberId)!;
    switch (this.stateValue) {
      case 'PreparingRebalance':
        return { done: syncError(ErrorCode.REBALANCE_IN_PROGRESS) };
      case 'CompletingRebalance': {
        member.syncWaiter ??= waiter();
        const pending = member.syncWaiter.promise;
        this.markSynced(member.memberId);
        if (member.memberId === this.leaderId) this.completeSync(req.assignments);
        return { pending };
      }
      case 'Stable':
        this.markSynced(member.memberId);
        this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
        return { done: this.syncResultFor(member, ErrorCode.NONE) };
      default:
        return { done: syncError(ErrorCode.UNKNOWN_MEMBER_ID) };
    }
  }

  /** The leader's assignment: members it left out get an empty one. */
  private completeSync(assignments: SyncRequest['assignments']): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const m of this.members.values()) {
      const assignment = byMember.get(m.memberId);
      if (assignment === undefined) {
        this.log.warn({ memberId: m.memberId }, 'leader sent no assignment');
      }
      m.assignment = assignment ?? noBytes;
    }
    this.propagateAssignment(ErrorCode.NONE);
    this.stateValue = 'Stable';
    this.log.info({ generationId: this.generation }, 'group is stable');
  }

  heartbeat(member: MemberIdentity, generationId: number): number {
    const error = this.validateGeneration(member.memberId, member.groupInstanceId, generationId);
    if (error !== ErrorCode.NONE) return error;
    if (this.stateValue === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID;
    const m = this.members.get(member.memberId)!;
    this.scheduleSessionExpiry(m, m.sessionTimeoutMs);
    // Members waiting for SyncGroup are alive and need not rejoin (as Kafka's coordinator).
    return this.stateValue === 'PreparingRebalance'
      ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  private syncResultFor(member: Member, errorCode: number): SyncResult {
    return { errorCode, protocolType: this.protocolType, protocolName: this.protocolNameValue,
      assignment: errorCode === ErrorCode.NONE ? member.assignment : noBytes };
  }

  private resetAndPropagateAssignmentError(errorCode: number): void {
    for (const m of this.members.values()) m.assignment = noBytes;
    this.propagateAssignment(errorCode);
  }

  private propagateAssignment(errorCode: number): void {
    for (const m of this.members.values()) {
      if (m.syncWaiter === null) continue;
      this.settleSync(m, this.syncResultFor(m, errorCode));
      this.scheduleSessionExpiry(m, m.sessionTimeoutMs);
    }
  }

  private markSynced(memberId: string): void {
    this.pendingSyncMembers.delete(memberId);
    if (this.pendingSyncMembers.size === 0) this.clearSyncTimer();
  }

  // ---- LeaveGroup and removal ------------------------------------------------------------

  leave(leaving: MemberIdentity[]): LeaveResult {
    if (this.stateValue === 'Dead') {
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    }
    const members = leaving.map((m) => ({ ...m, errorCode: this.leaveOne(m) }));
    return { errorCode: ErrorCode.NONE, members };
  }

  private leaveOne({ memberId, groupInstanceId }: MemberIdentity): number {
    if (memberId === '') {
      // An admin removing a static member by instance id alone.
      const current = groupInstanceId === null ? undefined
        : this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(this.members.get(current)!, 'static member removed');
      return ErrorCode.NONE;
    }
    if (this.pendingMembers.has(memberId)) {
      this.removePendingMember(memberId);
      this.tryCompleteJoin();
      return ErrorCode.NONE;
    }
    const staticId = groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
    if (staticId !== undefined && staticId !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    const member = this.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(member, 'member left');
    return ErrorCode.NONE;
  }

  private removeMemberAndUpdateGroup(member: Member, reason: string): void {
    this.log.info({ memberId: member.memberId, reason }, 'removing member');
    this.removeMember(member);
    if (this.stateValue === 'Stable' || this.stateValue === 'CompletingRebalance') {
      this.prepareRebalance(`${reason}: ${member.memberId}`);
    } else if (this.stateValue === 'PreparingRebalance') {
      this.tryCompleteJoin();
    }
  }

  /** Takes the member out of every structure; answers anything it still waits for. */
  private removeMember(member: Member): void {
    assert.ok(this.members.get(member.memberId) === member,
      `member ${member.memberId} not in group`);
    this.settleJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    this.settleSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.members.delete(member.memberId);
    if (member.groupInstanceId !== null) this.staticMembers.delete(member.groupInstanceId);
    this.pendingSyncMembers.delete(member.memberId);
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    if (this.leaderId === member.memberId) {
      const next = this.members.keys().next();
      this.leaderId = next.done === true ? null : next.value;
    }
  }

  // ---- Offsets ---------------------------------------------------------------------------

  /**
   * Whether a member may commit offsets now. Generation -1 with no member id is a "simple"
   * commit (a consumer without group management), allowed only while the group is Empty.
   * A valid commit counts as a heartbeat.
   */
  validateOffsetCommit(generationId: number, memberId: string, groupInstanceId: string | null):
    number {
    if (this.stateValue === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && memberId === '' && groupInstanceId === null) {
      return this.stateValue === 'Empty' ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const error = this.validateGeneration(memberId, groupInstanceId, generationId);
    if (error !== ErrorCode.NONE) return error;
    if (this.stateValue === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = this.members.get(memberId)!;
    this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
    return ErrorCode.NONE;
  }

  /**
   * KIP-447: whether a transactional producer may commit offsets for this group (TxnOffsetCommit
   * v3+), as Kafka's ClassicGroup.validateOffsetCommit with isTransactional. Without a
   * generation, member or instance id (sendOffsetsToTransaction with a bare group id, v0-2) it
   * always may; with them they must name a current member of the current generation. Unlike
   * OffsetCommit, a rebalance awaiting SyncGroup does not refuse it and it is no heartbeat: the
   * offsets land only if the transaction commits.
   */
  validateTxnOffsetCommit(generationId: number, memberId: string,
    groupInstanceId: string | null): number {
    if (this.stateValue === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && memberId === '' && groupInstanceId === null) return ErrorCode.NONE;
    return this.validateGeneration(memberId, groupInstanceId, generationId);
  }

  /** Group-level answer to OffsetDelete: NONE when per-topic checks decide. */
  offsetDeleteError(): number {
    if (this.stateValue === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
    if (this.stateValue === 'Empty' || this.protocolType === 'consumer') return ErrorCode.NONE;
    return ErrorCode.NON_EMPTY_GROUP;
  }

  /** An active consumer group keeps offsets of topics it subscribes to (unknown: all). */
  isSubscribedToTopic(topic: string): boolean {
    if (this.stateValue === 'Empty' || this.stateValue === 'Dead') return false;
    return this.subscribedTopics === null || this.subscribedTopics.has(topic);
  }

  // ---- Describe, delete, close -----------------------------------------------------------

  summary(): GroupSummary {
    const stable = this.stateValue === 'Stable';
    const protocolName = stable ? this.protocolNameValue! : '';
    const members = [...this.members.values()].map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId,
      clientHost: m.clientHost, metadata: stable ? metadataFor(m, protocolName) : noBytes,
      assignment: stable ? m.assignment : noBytes,
    }));
    return { groupId: this.groupId, state: this.stateValue, protocolType: this.protocolType ?? '',
      protocolName, members };
  }

  /** Ends the group: timers cleared, waiting requests answered with `errorCode`. */
  markDead(errorCode: number): void {
    this.clearJoinTimer();
    this.clearSyncTimer();
    for (const timer of this.pendingMembers.values()) clearTimeout(timer);
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      if (m.sessionTimer !== null) clearTimeout(m.sessionTimer);
      m.sessionTimer = null;
      this.settleJoin(m, joinError(m.memberId, errorCode));
      this.settleSync(m, syncError(errorCode));
    }
    this.stateValue = 'Dead';
  }

  // ---- Helpers ---------------------------------------------------------------------------

  /** Kafka's validateCurrentMember: the instance id (if any) must map to this member id. */
  private validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  private validateGeneration(memberId: string, groupInstanceId: string | null,
    generationId: number): number {
    if (this.stateValue === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.validateMember(memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    return generationId === this.generation ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
  }

  /**
   * A joining member must share a protocol type with the others and support at least one
   * protocol they all support. Unlike Kafka, the member's own current protocols do not count,
   * so a lone member may change its protocols.
   */
  private supportsProtocols(protocolType: string, protocols: Protocol[],
    selfId: string | undefined): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    const others = [...this.members.values()].filter((m) => m.memberId !== selfId);
    if (others.length === 0) return true;
    if (others[0]!.protocolType !== protocolType) return false;
    return protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  private joinResultFor(member: Member, withMembers: boolean): JoinResult {
    const name = this.protocolNameValue;
    assert.ok(name !== null, 'join result without a protocol');
    const members = !withMembers ? [] : [...this.members.values()].map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: metadataFor(m, name) }));
    return { errorCode: ErrorCode.NONE, generationId: this.generation,
      protocolType: this.protocolType, protocolName: name, leaderId: this.leaderId ?? '',
      memberId: member.memberId, skipAssignment: false, members };
  }

  private rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const m of this.members.values()) timeoutMs = Math.max(timeoutMs, m.rebalanceTimeoutMs);
    return timeoutMs;
  }

  /** A repeated JoinGroup (a client retry) shares the answer of the first. */
  private awaitJoin(member: Member): Promise<JoinResult> {
    member.joinWaiter ??= waiter();
    return member.joinWaiter.promise;
  }

  private settleJoin(member: Member, result: JoinResult): void {
    member.joinWaiter?.resolve(result);
    member.joinWaiter = null;
  }

  private settleSync(member: Member, result: SyncResult): void {
    member.syncWaiter?.resolve(result);
    member.syncWaiter = null;
  }

  private addPendingMember(memberId: string, sessionTimeoutMs: number): void {
    this.pendingMembers.set(memberId, this.startTimer(sessionTimeoutMs, (timer) => {
      if (this.pendingMembers.get(memberId) !== timer) return;
      this.pendingMembers.delete(memberId);
      this.log.info({ memberId }, 'pending member did not rejoin in time');
      this.tryCompleteJoin();
    }));
  }

  private removePendingMember(memberId: string): void {
    const timer = this.pendingMembers.get(memberId);
    if (timer !== undefined) clearTimeout(timer);
    this.pendingMembers.delete(memberId);
  }

  /** Restarts the member's session clock; on expiry the member is removed. */
  private scheduleSessionExpiry(member: Member, timeoutMs: number): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = this.startTimer(timeoutMs, (timer) => {
      if (member.sessionTimer !== timer || this.members.get(member.memberId) !== member) return;
      member.sessionTimer = null;
      // Waiting for a rebalance counts as alive; the rebalance restarts the clock. A new
      // member's JoinGroup, though, may only wait newMemberJoinTimeoutMs.
      if (!member.isNew && (member.joinWaiter !== null || member.syncWaiter !== null)) return;
      this.removeMemberAndUpdateGroup(member,
        member.isNew ? 'join timed out' : 'session timed out');
    });
  }

  private setJoinTimer(delayMs: number, initialDelay: boolean, onFire: () => void): void {
    this.clearJoinTimer();
    this.joinTimerIsInitialDelay = initialDelay;
    this.joinTimer = this.startTimer(delayMs, (timer) => {
      if (this.joinTimer !== timer) return;
      this.joinTimer = null;
      onFire();
    });
  }

  private clearJoinTimer(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
    this.joinTimerIsInitialDelay = false;
  }

  /** Members that do not send SyncGroup within the rebalance timeout are removed, as in Kafka. */
  private startSyncTimer(): void {
    this.clearSyncTimer();
    const generationId = this.generation;
    this.syncTimer = this.startTimer(this.rebalanceTimeoutMs(), (timer) => {
      if (this.syncTimer !== timer) return;
      this.syncTimer = null;
      if (generationId !== this.generation || this.pendingSyncMembers.size === 0) return;
      assert.ok(this.stateValue === 'CompletingRebalance' || this.stateValue === 'Stable');
      const late = [...this.pendingSyncMembers];
      this.log.info({ members: late }, 'removing members that did not sync in time');
      for (const id of late) this.removeMember(this.members.get(id)!);
      this.prepareRebalance('members did not sync in time');
    });
  }

  private clearSyncTimer(): void {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
  }

  /** A timer whose callback runs in the queue (and not at all once the group is dead). */
  private startTimer(delayMs: number, onFire: (timer: NodeJS.Timeout) => void): NodeJS.Timeout {
    const timer: NodeJS.Timeout = setTimeout(() => {
      this.run(() => {
        if (this.stateValue !== 'Dead') onFire(timer);
      }).catch((err: unknown) => this.log.error({ err }, 'group timer failed'));
    }, delayMs);
    timer.unref();
    return timer;
  }

  private assertInvariants(): void {
    const s = this.stateValue;
    if (s === 'Dead') return;
    const n = this.members.size;
    assert.ok(s !== 'Empty' || n === 0, 'an Empty group has members');
    assert.ok(n > 0 || s === 'Empty' || s === 'PreparingRebalance', `${s} group without members`);
    assert.ok(this.leaderId === null ? n === 0 : this.members.has(this.leaderId), 'bad leader');
    assert.equal(this.joinTimer !== null, s === 'PreparingRebalance', 'join timer vs state');
    assert.ok(this.syncTimer === null || s === 'CompletingRebalance' || s === 'Stable');
    assert.ok(s === 'Empty' || s === 'PreparingRebalance' || this.protocolNameValue !== null);
    let staticCount = 0;
    for (const [id, m] of this.members) {
      assert.equal(m.memberId, id);
      assert.equal(m.protocolType, this.protocolType, 'members differ in protocol type');
      assert.ok(m.joinWaiter === null || s === 'PreparingRebalance', 'join waiter outside a join');
      assert.ok(m.syncWaiter === null || s === 'CompletingRebalance', 'sync waiter outside a sync');
      if (m.groupInstanceId === null) continue;
      staticCount += 1;
      assert.equal(this.staticMembers.get(m.groupInstanceId), id, 'static member map');
    }
    assert.equal(this.staticMembers.size, staticCount, 'static member map size');
    for (const id of this.pendingSyncMembers) assert.ok(this.members.has(id), 'pending sync');
  }
}
