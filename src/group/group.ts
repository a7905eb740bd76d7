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
 *
 * Beside it: group-requests.ts (what a group is asked and answers), group-members.ts (the
 * members, the static members' ids, the leader), pending-members.ts (ids handed out with
 * MEMBER_ID_REQUIRED), protocol-selection.ts (the group's protocol and its consumers' topics),
 * offset-rules.ts (who may commit or delete offsets).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { SerialQueue } from '../util/serial-queue.js';
import { groupLimits } from '../limits.js';
import { awaitJoin, awaitSync, clearSessionTimer, GroupMembers, type Member, newMember, settleJoin,
  settleSync, updateMember } from './group-members.js';
import { GroupTimers } from './group-timers.js';
import { PendingMembers } from './pending-members.js';
import { type GroupStanding, offsetCommitError } from './offset-rules.js';
import { type GroupState, type GroupSummary, type JoinRequest, type JoinResult, joinError,
  type LeaveResult, type MemberIdentity, noBytes, type Outcome, type SyncRequest,
  type SyncResult, syncError } from './group-requests.js';
import { metadataFor, sameProtocols, selectProtocol, subscribedTopicsOf,
  supportsProtocols } from './protocol-selection.js';

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

export class Group implements GroupStanding {
  private stateValue: GroupState = 'Empty';
  private generation = 0;
  private protocolNameValue: string | null = null;
  private readonly members = new GroupMembers();
  private readonly pendingMembers: PendingMembers;
  /** Members that got this generation's JoinGroup answer but have not sent SyncGroup. */
  private readonly pendingSyncMembers = new Set<string>();
  /** Topics the members subscribe to (consumer protocol); null when unknown. */
  private subscribedTopicsValue: Set<string> | null = null;
  private newMemberAdded = false;
  private readonly queue = new SerialQueue();
  private readonly log: Logger;
  private readonly timers: GroupTimers;

  constructor(readonly groupId: string, private readonly env: GroupEnv) {
    this.log = env.log.child({ groupId });
    this.timers = new GroupTimers((fn) => this.run(fn), () => this.stateValue === 'Dead',
      this.log);
    this.pendingMembers = new PendingMembers(this.timers);
  }

  get state(): GroupState { return this.stateValue; }
  get generationId(): number { return this.generation; }
  get protocolName(): string | null { return this.protocolNameValue; }
  get memberCount(): number { return this.members.size; }
  get protocolType(): string | null { return this.members.protocolType(); }
  get subscribedTopics(): ReadonlySet<string> | null { return this.subscribedTopicsValue; }

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
      : this.members.staticMemberId(req.groupInstanceId);
    const others = [...this.members.values()].filter((m) => m.memberId !== selfId);
    if (!supportsProtocols(others, req.protocolType, req.protocols)) {
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
      const oldMemberId = this.members.staticMemberId(req.groupInstanceId);
      return oldMemberId === undefined ? this.addMemberAndRebalance(req, memberId)
        : this.replaceStaticMember(req, oldMemberId, memberId);
    }
    if (req.requireKnownMemberId) {
      this.pendingMembers.add(memberId, req.sessionTimeoutMs, () => {
        this.log.info({ memberId }, 'pending member did not rejoin in time');
        this.tryCompleteJoin();
      });
      return { done: joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED) };
    }
    return this.addMemberAndRebalance(req, memberId);
  }

  private joinKnownMember(req: JoinRequest): Outcome<JoinResult> {
    if (this.pendingMembers.has(req.memberId)) {
      if (this.members.staticMemberId(req.groupInstanceId) !== undefined) {
        return { done: joinError(req.memberId, ErrorCode.FENCED_INSTANCE_ID) };
      }
      return this.addMemberAndRebalance(req, req.memberId);
    }
    const error = this.members.validate(req.memberId, req.groupInstanceId);
    if (error !== ErrorCode.NONE) return { done: joinError(req.memberId, error) };
    const member = this.members.get(req.memberId)!;
    const unchanged = sameProtocols(member.protocols, req.protocols);
    const isLeader = member.memberId === this.members.leaderId;
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
    const member = newMember(req, memberId);
    if (this.stateValue === 'PreparingRebalance' && this.generation === 0) {
      this.newMemberAdded = true;
    }
    this.pendingMembers.remove(memberId);
    this.members.add(member);
    const pending = awaitJoin(member);
    // A new member cannot heartbeat before its JoinGroup is answered; if it went away, this
    // drops it rather than holding up rebalances forever (Kafka's NewMemberJoinTimeoutMs).
    this.scheduleSessionExpiry(member, groupLimits.newMemberJoinTimeoutMs);
    this.maybePrepareRebalance(`member ${memberId} joined`);
    return { pending };
  }

  private updateMemberAndRebalance(member: Member, req: JoinRequest): Outcome<JoinResult> {
    updateMember(member, req);
    const pending = awaitJoin(member);
    this.maybePrepareRebalance(`member ${member.memberId} rejoined`);
    return { pending };
  }

  /** A static member restarted (new process, no member id): it takes over the old identity. */
  private replaceStaticMember(req: JoinRequest, oldMemberId: string, newMemberId: string):
    Outcome<JoinResult> {
    const member = this.members.get(oldMemberId);
    assert.ok(member !== undefined && member.groupInstanceId === req.groupInstanceId);
    const oldLeaderId = this.members.leaderId;
    // Fence the old process's JoinGroup or SyncGroup still in flight.
    settleJoin(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    settleSync(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    this.members.rename(member, newMemberId);
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    updateMember(member, req);
    this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
    const pending = awaitJoin(member);
    this.log.info({ oldMemberId, newMemberId, groupInstanceId: req.groupInstanceId },
      'static member replaced');
    if (this.stateValue === 'Stable') {
      if (this.protocolNameValue === selectProtocol([...this.members.values()])) {
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
    const skip = member.memberId === this.members.leaderId && supportSkippingAssignment;
    settleJoin(member, { ...this.joinResultFor(member, skip), skipAssignment: skip,
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
    this.timers.clearSync();
    const wasEmpty = this.stateValue === 'Empty';
    this.stateValue = 'PreparingRebalance';
    const rebalanceTimeoutMs = this.members.rebalanceTimeoutMs();
    this.log.info({ generationId: this.generation, reason }, 'preparing to rebalance');
    if (wasEmpty) {
      // group.initial.rebalance.delay.ms: let more of the first members arrive before the
      // first generation, extended (up to the rebalance timeout) while new members keep joining.
      const delayMs = this.env.config.groupInitialRebalanceDelayMs;
      this.startInitialDelay(delayMs, Math.max(rebalanceTimeoutMs - delayMs, 0));
    } else {
      this.timers.setJoin(rebalanceTimeoutMs, false, () => this.completeJoin());
      this.tryCompleteJoin();
    }
  }

  private startInitialDelay(delayMs: number, remainingMs: number): void {
    this.timers.setJoin(delayMs, true, () => {
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
    if (this.stateValue !== 'PreparingRebalance' || this.timers.inInitialDelay) return;
    if (this.pendingMembers.size > 0) return;
    for (const m of this.members.values()) if (m.joinWaiter === null) return;
    this.completeJoin();
  }

  private completeJoin(): void {
    assert.equal(this.stateValue, 'PreparingRebalance');
    this.timers.clearJoin();
    this.newMemberAdded = false;
    for (const m of [...this.members.values()]) {
      if (m.joinWaiter !== null || m.groupInstanceId !== null) continue;
      this.log.info({ memberId: m.memberId }, 'removing member that did not rejoin in time');
      this.removeMember(m);
    }
    if (!this.members.electJoinedLeader() && this.members.size > 0) {
      // Only static members that have not rejoined are left: give them (or their session
      // timeouts) another rebalance timeout, as Kafka does.
      this.timers.setJoin(this.members.rebalanceTimeoutMs(), false, () => this.completeJoin());
      return;
    }
    this.initNextGeneration();
    if (this.members.size === 0) return; // now Empty
    for (const m of this.members.values()) {
      settleJoin(m, this.joinResultFor(m, m.memberId === this.members.leaderId));
      this.scheduleSessionExpiry(m, m.sessionTimeoutMs);
      m.isNew = false;
      this.pendingSyncMembers.add(m.memberId);
    }
    this.startSyncTimer();
  }

  private initNextGeneration(): void {
    this.generation += 1;
    this.pendingSyncMembers.clear();
    if (this.members.size === 0) {
      this.protocolNameValue = null;
      this.subscribedTopicsValue = null;
      this.stateValue = 'Empty';
      this.log.info({ generationId: this.generation }, 'group is empty');
      return;
    }
    this.protocolNameValue = selectProtocol([...this.members.values()]);
    this.subscribedTopicsValue = this.protocolType === 'consumer'
      ? subscribedTopicsOf(this.members.values(), this.protocolNameValue) : null;
    this.stateValue = 'CompletingRebalance';
    this.log.info({ generationId: this.generation, protocol: this.protocolNameValue,
      members: this.members.size, leader: this.members.leaderId }, 'group joined; awaiting sync');
  }

  // ---- SyncGroup and Heartbeat -----------------------------------------------------------

  sync(req: SyncRequest): Outcome<SyncResult> {
    const error = this.generationError(req.memberId, req.groupInstanceId, req.generationId);
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
        const pending = awaitSync(member);
        this.markSynced(member.memberId);
        if (member.memberId === this.members.leaderId) this.completeSync(req.assignments);
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
    const error = this.generationError(member.memberId, member.groupInstanceId, generationId);
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
      settleSync(m, this.syncResultFor(m, errorCode));
      this.scheduleSessionExpiry(m, m.sessionTimeoutMs);
    }
  }

  private markSynced(memberId: string): void {
    this.pendingSyncMembers.delete(memberId);
    if (this.pendingSyncMembers.size === 0) this.timers.clearSync();
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
      const current = this.members.staticMemberId(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.removeMemberAndUpdateGroup(this.members.get(current)!, 'static member removed');
      return ErrorCode.NONE;
    }
    if (this.pendingMembers.has(memberId)) {
      this.pendingMembers.remove(memberId);
      this.tryCompleteJoin();
      return ErrorCode.NONE;
    }
    const staticId = this.members.staticMemberId(groupInstanceId);
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
    settleJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    settleSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    this.members.remove(member);
    this.pendingSyncMembers.delete(member.memberId);
  }

  // ---- Offsets ---------------------------------------------------------------------------

  /** OffsetCommit's check (offset-rules.ts); a member's valid commit counts as a heartbeat. */
  validateOffsetCommit(generationId: number, memberId: string, groupInstanceId: string | null):
    number {
    const error = offsetCommitError(this, generationId, memberId, groupInstanceId);
    const member = this.members.get(memberId);
    if (error === ErrorCode.NONE && member !== undefined) {
      this.scheduleSessionExpiry(member, member.sessionTimeoutMs);
    }
    return error;
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
    this.timers.clearJoin();
    this.timers.clearSync();
    this.pendingMembers.clear();
    for (const m of this.members.values()) {
      clearSessionTimer(m);
      settleJoin(m, joinError(m.memberId, errorCode));
      settleSync(m, syncError(errorCode));
    }
    this.stateValue = 'Dead';
  }

  // ---- Helpers ---------------------------------------------------------------------------

  generationError(memberId: string, groupInstanceId: string | null,
    generationId: number): number {
    if (this.stateValue === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.members.validate(memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    return generationId === this.generation ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION;
  }

  private joinResultFor(member: Member, withMembers: boolean): JoinResult {
    const name = this.protocolNameValue;
    assert.ok(name !== null, 'join result without a protocol');
    const members = !withMembers ? [] : [...this.members.values()].map((m) => ({
      memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: metadataFor(m, name) }));
    return { errorCode: ErrorCode.NONE, generationId: this.generation,
      protocolType: this.protocolType, protocolName: name, leaderId: this.members.leaderId ?? '',
      memberId: member.memberId, skipAssignment: false, members };
  }

  /** Restarts the member's session clock; on expiry the member is removed. */
  private scheduleSessionExpiry(member: Member, timeoutMs: number): void {
    if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
    member.sessionTimer = this.timers.start(timeoutMs, (timer) => {
      if (member.sessionTimer !== timer || this.members.get(member.memberId) !== member) return;
      member.sessionTimer = null;
      // Waiting for a rebalance counts as alive; the rebalance restarts the clock. A new
      // member's JoinGroup, though, may only wait newMemberJoinTimeoutMs.
      if (!member.isNew && (member.joinWaiter !== null || member.syncWaiter !== null)) return;
      this.removeMemberAndUpdateGroup(member,
        member.isNew ? 'join timed out' : 'session timed out');
    });
  }

  /** Members that do not send SyncGroup within the rebalance timeout are removed, as in Kafka. */
  private startSyncTimer(): void {
    const generationId = this.generation;
    this.timers.setSync(this.members.rebalanceTimeoutMs(), () => {
      if (generationId !== this.generation || this.pendingSyncMembers.size === 0) return;
      assert.ok(this.stateValue === 'CompletingRebalance' || this.stateValue === 'Stable');
      const late = [...this.pendingSyncMembers];
      this.log.info({ members: late }, 'removing members that did not sync in time');
      for (const id of late) this.removeMember(this.members.get(id)!);
      this.prepareRebalance('members did not sync in time');
    });
  }

  private assertInvariants(): void {
    const s = this.stateValue;
    if (s === 'Dead') return;
    const n = this.members.size;
    assert.ok(s !== 'Empty' || n === 0, 'an Empty group has members');
    assert.ok(n > 0 || s === 'Empty' || s === 'PreparingRebalance', `${s} group without members`);
    assert.equal(this.timers.joinPending, s === 'PreparingRebalance', 'join timer vs state');
    assert.ok(!this.timers.syncPending || s === 'CompletingRebalance' || s === 'Stable');
    assert.ok(s === 'Empty' || s === 'PreparingRebalance' || this.protocolNameValue !== null);
    this.members.assertConsistent();
    for (const m of this.members.values()) {
      assert.ok(m.joinWaiter === null || s === 'PreparingRebalance', 'join waiter outside a join');
      assert.ok(m.syncWaiter === null || s === 'CompletingRebalance', 'sync waiter outside a sync');
    }
    for (const id of this.pendingSyncMembers) assert.ok(this.members.has(id), 'pending sync');
  }
}
