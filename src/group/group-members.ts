/**
 * The members of one classic group and who leads them: bookkeeping for the state machine in
 * group.ts, which decides when members come and go and answers their waiting requests. Here: the
 * members by id (in join order, which picks the next leader), the static members' instance ids,
 * the leader, and each member's own fields and waiters.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { type JoinRequest, type JoinResult, noBytes, type Protocol,
  type SyncResult } from './group-requests.js';

interface Waiter<T> { promise: Promise<T>; resolve(value: T): void }

export interface Member {
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

function waiter<T>(): Waiter<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** A member that has just joined: no assignment yet, nothing to answer yet. */
export function newMember(req: JoinRequest, memberId: string): Member {
  return {
    memberId, groupInstanceId: req.groupInstanceId, clientId: req.clientId,
    clientHost: req.clientHost, sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs, protocolType: req.protocolType,
    protocols: req.protocols, assignment: noBytes, isNew: true, joinWaiter: null,
    syncWaiter: null, sessionTimer: null,
  };
}

/** What a rejoining member may change. */
export function updateMember(member: Member, req: JoinRequest): void {
  member.protocolType = req.protocolType;
  member.protocols = req.protocols;
  member.sessionTimeoutMs = req.sessionTimeoutMs;
  member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
}

/** A repeated JoinGroup (a client retry) shares the answer of the first. */
export function awaitJoin(member: Member): Promise<JoinResult> {
  member.joinWaiter ??= waiter();
  return member.joinWaiter.promise;
}

export function awaitSync(member: Member): Promise<SyncResult> {
  member.syncWaiter ??= waiter();
  return member.syncWaiter.promise;
}

export function settleJoin(member: Member, result: JoinResult): void {
  member.joinWaiter?.resolve(result);
  member.joinWaiter = null;
}

export function settleSync(member: Member, result: SyncResult): void {
  member.syncWaiter?.resolve(result);
  member.syncWaiter = null;
}

export function clearSessionTimer(member: Member): void {
  if (member.sessionTimer !== null) clearTimeout(member.sessionTimer);
  member.sessionTimer = null;
}

export class GroupMembers {
  private readonly byId = new Map<string, Member>();
  /** groupInstanceId → memberId of the static members. */
  private readonly staticIds = new Map<string, string>();
  private leader: string | null = null;

  get size(): number { return this.byId.size; }
  get leaderId(): string | null { return this.leader; }

  get(memberId: string): Member | undefined { return this.byId.get(memberId); }
  has(memberId: string): boolean { return this.byId.has(memberId); }
  values(): IterableIterator<Member> { return this.byId.values(); }

  /** The member id of the static member with this instance id, if there is one. */
  staticMemberId(groupInstanceId: string | null): string | undefined {
    return groupInstanceId === null ? undefined : this.staticIds.get(groupInstanceId);
  }

  /** Every member shares one protocol type; null without members. */
  protocolType(): string | null {
    const first = this.byId.values().next();
    return first.done === true ? null : first.value.protocolType;
  }

  /** A group's first member leads it. */
  add(member: Member): void {
    assert.ok(!this.byId.has(member.memberId), `member ${member.memberId} added twice`);
    this.byId.set(member.memberId, member);
    const instanceId = member.groupInstanceId;
    if (instanceId !== null) this.staticIds.set(instanceId, member.memberId);
    this.leader ??= member.memberId;
  }

  /** Takes the member out (its session clock too); the next in join order leads if it led. */
  remove(member: Member): void {
    assert.ok(this.byId.get(member.memberId) === member, `member ${member.memberId} not in group`);
    this.byId.delete(member.memberId);
    if (member.groupInstanceId !== null) this.staticIds.delete(member.groupInstanceId);
    clearSessionTimer(member);
    if (this.leader === member.memberId) {
      const next = this.byId.keys().next();
      this.leader = next.done === true ? null : next.value;
    }
  }

  /** A static member's new process takes over its identity under a new member id. */
  rename(member: Member, newMemberId: string): void {
    const oldMemberId = member.memberId;
    assert.ok(member.groupInstanceId !== null && this.byId.get(oldMemberId) === member);
    this.byId.delete(oldMemberId);
    member.memberId = newMemberId;
    this.byId.set(newMemberId, member);
    if (this.leader === oldMemberId) this.leader = newMemberId;
    this.staticIds.set(member.groupInstanceId, newMemberId);
  }

  /** Kafka's validateCurrentMember: the instance id (if any) must map to this member id. */
  validate(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticIds.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.byId.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** Keeps the leader if it rejoined, else picks any member that did. */
  electJoinedLeader(): boolean {
    if (this.leader === null) return false;
    const leader = this.byId.get(this.leader);
    if (leader !== undefined && leader.joinWaiter !== null) return true;
    for (const m of this.byId.values()) {
      if (m.joinWaiter !== null) {
        this.leader = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** The longest rebalance timeout of the members: how long a join phase may wait. */
  rebalanceTimeoutMs(): number {
    let timeoutMs = 0;
    for (const m of this.byId.values()) timeoutMs = Math.max(timeoutMs, m.rebalanceTimeoutMs);
    return timeoutMs;
  }

  assertConsistent(): void {
    const n = this.byId.size;
    assert.ok(this.leader === null ? n === 0 : this.byId.has(this.leader), 'bad leader');
    let staticCount = 0;
    for (const [id, m] of this.byId) {
      assert.equal(m.memberId, id);
      assert.equal(m.protocolType, this.protocolType(), 'members differ in protocol type');
      if (m.groupInstanceId === null) continue;
      staticCount += 1;
      assert.equal(this.staticIds.get(m.groupInstanceId), id, 'static member map');
    }
    assert.equal(this.staticIds.size, staticCount, 'static member map size');
  }
}
