/**
 * The classic group coordinator's semantics, against a real (in-memory SQLite) metadata
 * coordinator, with vitest's fake timers driving session, rebalance and delay timeouts. The
 * last part runs the group handlers through their wire codecs at every registered version.
 */
import { ALLOW_ALL } from '../../src/security/authorizer.js';
import { SingleNodeView } from '../../src/cluster/cluster-view.js';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as describeGroupsCodec from '../../protocol/generated/messages/describe-groups.js';
import * as findCoordinatorCodec from '../../protocol/generated/messages/find-coordinator.js';
import * as heartbeatCodec from '../../protocol/generated/messages/heartbeat.js';
import * as joinGroupCodec from '../../protocol/generated/messages/join-group.js';
import * as leaveGroupCodec from '../../protocol/generated/messages/leave-group.js';
import * as listGroupsCodec from '../../protocol/generated/messages/list-groups.js';
import * as offsetCommitCodec from '../../protocol/generated/messages/offset-commit.js';
import * as offsetDeleteCodec from '../../protocol/generated/messages/offset-delete.js';
import * as offsetFetchCodec from '../../protocol/generated/messages/offset-fetch.js';
import * as syncGroupCodec from '../../protocol/generated/messages/sync-group.js';
import * as deleteGroupsCodec from '../../protocol/generated/messages/delete-groups.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import type { ApiHandler, RequestContext } from '../../src/broker/handler.js';
import { groupHandlers } from '../../src/broker/handlers/group-handlers.js';
import type { BrokerServices } from '../../src/broker/services.js';
import { GroupCoordinator } from '../../src/group/group-coordinator.js';
import type { JoinRequest, JoinResult, SyncResult } from '../../src/group/group-requests.js';
import { parseSubscribedTopics } from '../../src/group/protocol-selection.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { anonymousSession } from '../../src/security/principal.js';

const log = pino({ level: 'silent' });
const G = 'group-1';
const sessionMs = 10_000;
const rebalanceMs = 30_000;

let metadata: SqliteMetadata;
let groups: GroupCoordinator;
let groupCount = 0;

function start(initialDelayMs = 0): void {
  groups?.close();
  groups = new GroupCoordinator({
    metadata, log, nowMs: () => Date.now(), onGroupCount: (n) => { groupCount = n; },
    config: { groupInitialRebalanceDelayMs: initialDelayMs, groupSessionTimeoutMsMin: 1000,
      groupSessionTimeoutMsMax: 300_000 },
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  metadata = new SqliteMetadata(':memory:');
  start();
});

afterEach(async () => {
  groups.close();
  await metadata.close();
  vi.useRealTimers();
});

/** A ConsumerProtocolSubscription v0: version, topics, null user data. */
function subscription(topics: string[]): Buffer {
  const int16 = (n: number) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
  const int32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
  return Buffer.concat([int16(0), int32(topics.length),
    ...topics.flatMap((t) => [int16(Buffer.byteLength(t)), Buffer.from(t)]), int32(-1)]);
}

function joinReq(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId: '', groupInstanceId: null, clientId: 'client', clientHost: '127.0.0.1',
    sessionTimeoutMs: sessionMs, rebalanceTimeoutMs: rebalanceMs, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    requireKnownMemberId: false, supportSkippingAssignment: false, reason: null, ...overrides,
  };
}

/** Lets queued work and due timers run. */
const tick = (ms = 1) => vi.advanceTimersByTimeAsync(ms);

function track<T>(p: Promise<T>): { done: boolean; value: T | undefined } {
  const s: { done: boolean; value: T | undefined } = { done: false, value: undefined };
  void p.then((v) => { s.done = true; s.value = v; });
  return s;
}

const assignmentOf = (memberId: string) => Buffer.from(`assignment:${memberId}`);

function rejoin(r: JoinResult, overrides: Partial<JoinRequest> = {}): Promise<JoinResult> {
  return groups.join(G, joinReq({ memberId: r.memberId, ...overrides }));
}

function sync(r: JoinResult, withAssignments: boolean, groupInstanceId: string | null = null,
  members: JoinResult['members'] = r.members): Promise<SyncResult> {
  const assignments = withAssignments
    ? members.map((m) => ({ memberId: m.memberId, assignment: assignmentOf(m.memberId) })) : [];
  return groups.sync(G, { memberId: r.memberId, groupInstanceId, generationId: r.generationId,
    protocolType: null, protocolName: null, assignments });
}

/** Leader syncs last, after the followers are already waiting. */
async function syncAll(results: JoinResult[]): Promise<SyncResult[]> {
  const leader = results.find((r) => r.memberId === r.leaderId)!;
  const syncs = results.filter((r) => r !== leader).map((r) => sync(r, false));
  await tick(0);
  syncs.push(sync(leader, true));
  return Promise.all(syncs);
}

async function stableGroup(clientIds: string[], overrides: Partial<JoinRequest> = {}):
  Promise<JoinResult[]> {
  const joins = clientIds.map((clientId) => groups.join(G, joinReq({ clientId, ...overrides })));
  await tick();
  const results = await Promise.all(joins);
  await syncAll(results);
  return results;
}

const hb = (r: JoinResult, generationId = r.generationId, groupInstanceId: string | null = null) =>
  groups.heartbeat(G, { memberId: r.memberId, groupInstanceId }, generationId);

describe('join, sync, heartbeat', () => {
  it('forms a group of three: one leader, two followers, each gets its assignment', async () => {
    const joins = ['a', 'b', 'c'].map((clientId) => groups.join(G, joinReq({ clientId })));
    await tick();
    const results = await Promise.all(joins);
    const [r1, r2, r3] = results as [JoinResult, JoinResult, JoinResult];
    for (const r of results) {
      expect(r).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, protocolName: 'range',
        protocolType: 'consumer', leaderId: r1.memberId });
    }
    expect(r1.memberId).toMatch(/^a-[0-9a-f-]{36}$/);
    expect(new Set([r1.memberId, r2.memberId, r3.memberId]).size).toBe(3);
    expect(r1.members.map((m) => m.memberId)).toEqual([r1.memberId, r2.memberId, r3.memberId]);
    expect(r1.members[1]!.metadata).toEqual(subscription(['t']));
    expect(r2.members).toEqual([]);
    expect(r3.members).toEqual([]);

    const s2 = track(sync(r2, false));
    const s3 = track(sync(r3, false));
    await tick(0);
    expect(s2.done).toBe(false); // followers wait for the leader
    expect((await groups.describeGroups([G]))[0]!.state).toBe('CompletingRebalance');
    const s1 = await sync(r1, true);
    await tick(0);
    expect(s1).toMatchObject({ errorCode: ErrorCode.NONE, assignment: assignmentOf(r1.memberId) });
    expect(s2.value).toMatchObject({ errorCode: ErrorCode.NONE, assignment: assignmentOf(r2.memberId) });
    expect(s3.value!.assignment).toEqual(assignmentOf(r3.memberId));

    for (const r of results) expect(await hb(r)).toBe(ErrorCode.NONE);
    const [described] = await groups.describeGroups([G]);
    expect(described).toMatchObject({ state: 'Stable', protocolType: 'consumer', protocolName: 'range' });
    expect(described!.members.map((m) => m.assignment)).toEqual(results.map((r) => assignmentOf(r.memberId)));
    expect(described!.members[0]).toMatchObject({ clientId: 'a', clientHost: '127.0.0.1' });
    // A stable group answers SyncGroup with the current assignment.
    expect((await sync(r2, false)).assignment).toEqual(assignmentOf(r2.memberId));
    expect(groupCount).toBe(1);
  });

  it('a fourth member joining rebalances the group into the next generation', async () => {
    const first = await stableGroup(['a', 'b', 'c']);
    const joining = track(groups.join(G, joinReq({ clientId: 'd' })));
    await tick(0);
    expect(joining.done).toBe(false);
    for (const r of first) expect(await hb(r)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(await sync(first[1]!, false)).toMatchObject({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    const rejoined = await Promise.all(first.map((r) => rejoin(r)));
    await tick(0);
    const all = [...rejoined, joining.value!];
    for (const r of all) expect(r).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
    expect(rejoined[0]!.leaderId).toBe(first[0]!.memberId); // the leader rejoined and stays
    expect(rejoined[0]!.members).toHaveLength(4);
    const syncs = await syncAll(all);
    expect(syncs.every((s) => s.errorCode === ErrorCode.NONE)).toBe(true);
    expect(await hb(first[0]!, 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  it('evicts a member that stops heartbeating after its session timeout, then rebalances', async () => {
    const [a, b, c] = await stableGroup(['a', 'b', 'c']) as [JoinResult, JoinResult, JoinResult];
    await tick(6000);
    expect(await hb(a)).toBe(ErrorCode.NONE);
    expect(await hb(b)).toBe(ErrorCode.NONE);
    await tick(3000); // c: 9s of silence, still a member
    expect((await groups.describeGroups([G]))[0]!.members).toHaveLength(3);
    await tick(1500); // c: 10.5s
    expect(await hb(c)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const [ra, rb] = await Promise.all([rejoin(a), rejoin(b)]);
    expect(ra).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, leaderId: a.memberId });
    expect(ra.members.map((m) => m.memberId)).toEqual([a.memberId, b.memberId]);
    await syncAll([ra, rb!]);
    // Everyone gone quiet: both are evicted, the group empties and leaves memory.
    await tick(sessionMs + 1);
    expect((await groups.describeGroups([G]))[0]!.state).toBe('Dead');
    expect(groupCount).toBe(0);
  });

  it('removes members that do not rejoin within the rebalance timeout', async () => {
    const long = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 5000 };
    const [a, b, c] = await stableGroup(['a', 'b', 'c'], long) as [JoinResult, JoinResult, JoinResult];
    const ra = track(rejoin(b, long)); // a follower rejoining forces nothing while Stable...
    await tick(0);
    expect(ra.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, members: [] });
    const leaderRejoin = track(rejoin(a, long)); // ...the leader rejoining does
    await tick(0);
    expect(leaderRejoin.done).toBe(false);
    await tick(4999);
    expect(leaderRejoin.done).toBe(false);
    await tick(1);
    expect(leaderRejoin.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
    expect(leaderRejoin.value!.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(await hb(b)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(c)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('removes members that never send SyncGroup, and rebalances the rest', async () => {
    const long = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 5000 };
    const joins = ['a', 'b'].map((clientId) => groups.join(G, joinReq({ clientId, ...long })));
    await tick();
    const [a, b] = await Promise.all(joins) as [JoinResult, JoinResult];
    const s = await sync(a, true); // b never syncs
    expect(s.errorCode).toBe(ErrorCode.NONE);
    await tick(4990);
    expect(await hb(b)).toBe(ErrorCode.NONE);
    await tick(10);
    expect(await hb(b)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('answers a lost JoinGroup again while completing, and rejects stale or unknown syncs', async () => {
    const joins = ['a', 'b'].map((clientId) => groups.join(G, joinReq({ clientId })));
    await tick();
    const [a, b] = await Promise.all(joins) as [JoinResult, JoinResult];
    expect(await rejoin(a)).toEqual(a); // same metadata: the same answer, no new rebalance
    expect(await hb(b)).toBe(ErrorCode.NONE); // waiting for SyncGroup is not an error
    expect(await groups.sync(G, { memberId: b.memberId, groupInstanceId: null, generationId: 7,
      protocolType: null, protocolName: null, assignments: [] }))
      .toMatchObject({ errorCode: ErrorCode.ILLEGAL_GENERATION });
    expect(await groups.sync(G, { memberId: 'nobody', groupInstanceId: null, generationId: 1,
      protocolType: null, protocolName: null, assignments: [] }))
      .toMatchObject({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID });
    expect(await groups.sync(G, { memberId: b.memberId, groupInstanceId: null, generationId: 1,
      protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] }))
      .toMatchObject({ errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL });
    // A follower waiting in SyncGroup is told to rejoin when a new member arrives.
    const waiting = track(sync(b, false));
    await tick(0);
    const c = track(groups.join(G, joinReq({ clientId: 'c' })));
    await tick(0);
    expect(waiting.value).toMatchObject({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    expect(await hb(a, 0)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await sync(a, true)).toMatchObject({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    await Promise.all([rejoin(a), rejoin(b)]);
    await tick(0);
    expect(c.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
  });

  it('chooses the protocol by vote among those every member supports', async () => {
    const rr = { name: 'roundrobin', metadata: subscription(['t']) };
    const range = { name: 'range', metadata: subscription(['t']) };
    const sticky = { name: 'sticky', metadata: subscription(['t']) };
    const joins = [[sticky, rr, range], [rr, range], [range, rr]].map((protocols) =>
      groups.join(G, joinReq({ protocols })));
    await tick();
    const results = await Promise.all(joins);
    expect(results.map((r) => r.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin']);
    const none = await groups.join(G, joinReq({ protocols: [sticky] }));
    expect(none.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await groups.join(G, joinReq({ protocolType: 'connect' }));
    expect(otherType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('validates the group id, session timeout and protocols of a join', async () => {
    expect((await groups.join('', joinReq())).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await groups.join(G, joinReq({ sessionTimeoutMs: 999 }))).errorCode)
      .toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await groups.join(G, joinReq({ sessionTimeoutMs: 300_001 }))).errorCode)
      .toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await groups.join(G, joinReq({ protocols: [] }))).errorCode)
      .toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await groups.join(G, joinReq({ memberId: 'made-up' }))).errorCode)
      .toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(groupCount).toBe(0);
  });
});

describe('member id required, initial delay, leave', () => {
  it('v4+: a new member first gets MEMBER_ID_REQUIRED with an id it must rejoin with', async () => {
    const first = await groups.join(G, joinReq({ clientId: 'kafkajs', requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^kafkajs-/);
    expect(first.generationId).toBe(-1);
    expect((await groups.listGroups([], [])).groups).toEqual([
      { groupId: G, protocolType: '', state: 'Empty', groupType: 'classic' }]);
    const joined = groups.join(G, joinReq({ memberId: first.memberId, requireKnownMemberId: true }));
    await tick();
    expect(await joined).toMatchObject({ errorCode: ErrorCode.NONE, memberId: first.memberId,
      leaderId: first.memberId, generationId: 1 });
    // An id that was never handed out is unknown.
    expect((await groups.join(G, joinReq({ memberId: 'kafkajs-x', requireKnownMemberId: true })))
      .errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a pending member id expires after the session timeout', async () => {
    const first = await groups.join(G, joinReq({ requireKnownMemberId: true }));
    expect(groupCount).toBe(1);
    await tick(sessionMs);
    expect(groupCount).toBe(0);
    expect((await groups.join(G, joinReq({ memberId: first.memberId }))).errorCode)
      .toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('delays the first rebalance of an empty group, extended while members keep joining', async () => {
    start(3000);
    const a = track(groups.join(G, joinReq({ clientId: 'a', rebalanceTimeoutMs: 10_000 })));
    await tick(2000);
    const b = track(groups.join(G, joinReq({ clientId: 'b', rebalanceTimeoutMs: 10_000 })));
    await tick(1000); // t=3000: a member arrived during the delay, so wait another 3000
    expect(a.done).toBe(false);
    await tick(2999);
    expect(a.done).toBe(false);
    await tick(1); // t=6000
    expect(a.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1 });
    expect(a.value!.members).toHaveLength(2);
    expect(b.value!.leaderId).toBe(a.value!.memberId);
  });

  it('v3+ leave: a batch of members, with an error per member', async () => {
    const [a, b, c] = await stableGroup(['a', 'b', 'c']) as [JoinResult, JoinResult, JoinResult];
    const result = await groups.leave(G, [
      { memberId: b.memberId, groupInstanceId: null }, { memberId: c.memberId, groupInstanceId: null },
      { memberId: 'nobody', groupInstanceId: null }]);
    expect(result.errorCode).toBe(ErrorCode.NONE);
    expect(result.members.map((m) => m.errorCode))
      .toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await hb(b)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await hb(a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const ra = await rejoin(a); // the only member left: completes at once
    expect(ra).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2, leaderId: a.memberId });
    expect(ra.members).toHaveLength(1);
    expect((await groups.leave(G, [{ memberId: a.memberId, groupInstanceId: null }])).members[0]!
      .errorCode).toBe(ErrorCode.NONE);
    await tick(0);
    expect(groupCount).toBe(0);
    expect((await groups.leave('unknown', [{ memberId: 'x', groupInstanceId: null }])).members[0]!
      .errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a leader leaving mid-rebalance hands leadership to a member that rejoined', async () => {
    const [a, b] = await stableGroup(['a', 'b']) as [JoinResult, JoinResult];
    const rb = track(rejoin(b, { protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] }));
    await tick(0);
    await groups.leave(G, [{ memberId: a.memberId, groupInstanceId: null }]);
    await tick(0);
    expect(rb.value).toMatchObject({ errorCode: ErrorCode.NONE, leaderId: b.memberId, generationId: 2 });
  });
});

describe('static membership', () => {
  it('a restarted static member takes over its identity without a rebalance', async () => {
    const joins = [groups.join(G, joinReq({ clientId: 'a', groupInstanceId: 'i-a' })),
      groups.join(G, joinReq({ clientId: 'b', groupInstanceId: 'i-b' }))];
    await tick();
    const [a, b] = await Promise.all(joins) as [JoinResult, JoinResult];
    expect(a.memberId).toMatch(/^i-a-/);
    await Promise.all([sync(b, false, 'i-b'), sync(a, true, 'i-a')]);

    const b2 = await groups.join(G, joinReq({ clientId: 'b', groupInstanceId: 'i-b' }));
    expect(b2).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leaderId: a.memberId,
      members: [] });
    expect(b2.memberId).not.toBe(b.memberId);
    expect(await hb(b, 1, 'i-b')).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(await hb(b2, 1, 'i-b')).toBe(ErrorCode.NONE);
    expect(await sync(b2, false, 'i-b')).toMatchObject({ assignment: assignmentOf(b.memberId) });
    const [described] = await groups.describeGroups([G]);
    expect(described!.state).toBe('Stable');
    expect(described!.members.map((m) => m.groupInstanceId).sort()).toEqual(['i-a', 'i-b']);

    // The leader restarting: with v9 it is told it leads but may skip the assignment; an older
    // client is shown the old leader id, so it does not assign.
    const a2 = await groups.join(G, joinReq({ groupInstanceId: 'i-a', supportSkippingAssignment: true }));
    expect(a2).toMatchObject({ leaderId: a2.memberId, skipAssignment: true });
    expect(a2.members).toHaveLength(2);
    const a3 = await groups.join(G, joinReq({ groupInstanceId: 'i-a' }));
    expect(a3).toMatchObject({ leaderId: a2.memberId, skipAssignment: false, members: [] });
    expect(await groups.commitOffsets(G, { generationId: 1, memberId: a2.memberId,
      groupInstanceId: 'i-a', offsets: [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1,
        metadata: null }] })).toEqual([ErrorCode.FENCED_INSTANCE_ID]);
  });

  it('fences the old instance still waiting in SyncGroup and keeps static members through a rebalance', async () => {
    const long = { sessionTimeoutMs: 60_000, rebalanceTimeoutMs: 5000 };
    const joins = [groups.join(G, joinReq({ groupInstanceId: 'i-a', ...long })),
      groups.join(G, joinReq({ groupInstanceId: 'i-b', ...long }))];
    await tick();
    const [a, b] = await Promise.all(joins) as [JoinResult, JoinResult];
    const waiting = track(sync(b, false, 'i-b'));
    await tick(0);
    const b2 = track(groups.join(G, joinReq({ groupInstanceId: 'i-b', ...long })));
    await tick(0);
    expect(waiting.value).toMatchObject({ errorCode: ErrorCode.FENCED_INSTANCE_ID });
    // CompletingRebalance: the leader must learn the new id, so a rebalance starts; a rejoins,
    // b2 already waits. No member is dropped.
    const ra = await rejoin(a, { groupInstanceId: 'i-a', ...long });
    await tick(0);
    expect(ra).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
    expect(ra.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b2.value!.memberId].sort());
    // A static member that does not rejoin stays in the group past the rebalance timeout.
    await Promise.all([sync(ra, true, 'i-a', ra.members), sync(b2.value!, false, 'i-b')]);
    const again = track(rejoin(ra, { groupInstanceId: 'i-a', ...long }));
    await tick(5000);
    expect(again.value).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 3 });
    expect(again.value!.members).toHaveLength(2);
    // An admin may remove a static member by instance id alone.
    const left = await groups.leave(G, [{ memberId: '', groupInstanceId: 'i-b' },
      { memberId: '', groupInstanceId: 'i-zzz' }]);
    expect(left.members.map((m) => m.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
  });
});

describe('offsets', () => {
  const at = (topic: string, partition: number, offset: number, metadata: string | null = null) =>
    ({ topic, partition, offset, leaderEpoch: -1, metadata });

  it('simple commits (no generation, no member) are allowed only while the group has no members', async () => {
    const simple = { generationId: -1, memberId: '', groupInstanceId: null };
    expect(await groups.commitOffsets('solo', { ...simple, offsets: [at('t', 0, 10, 'm'), at('t', 1, 20)] }))
      .toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    const fetched = await groups.fetchOffsets('solo', [{ topic: 't', partitions: [0, 1, 2] }]);
    expect(fetched.topics[0]!.partitions).toEqual([
      { partition: 0, offset: 10, leaderEpoch: -1, metadata: 'm', errorCode: ErrorCode.NONE },
      { partition: 1, offset: 20, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE },
      { partition: 2, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }]);
    expect((await groups.fetchOffsets('solo', null)).topics).toEqual([{ topic: 't',
      partitions: [expect.objectContaining({ partition: 0 }), expect.objectContaining({ partition: 1 })] }]);
    expect((await groups.fetchOffsets('nobody', null)).topics).toEqual([]);
    expect(groupCount).toBe(0); // offsets alone keep no group in memory

    const [a] = await stableGroup(['a']) as [JoinResult];
    expect(await groups.commitOffsets(G, { ...simple, offsets: [at('t', 0, 1)] }))
      .toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await groups.commitOffsets(G, { generationId: 1, memberId: a.memberId,
      groupInstanceId: null, offsets: [at('t', 0, 7), at('t', 1, 8, 'x'.repeat(4097))] }))
      .toEqual([ErrorCode.NONE, ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    expect(await groups.commitOffsets(G, { generationId: 0, memberId: a.memberId,
      groupInstanceId: null, offsets: [at('t', 0, 9)] })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(await groups.commitOffsets(G, { generationId: 1, memberId: 'who',
      groupInstanceId: null, offsets: [at('t', 0, 9)] })).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await groups.commitOffsets('never-seen', { generationId: 3, memberId: 'm',
      groupInstanceId: null, offsets: [at('t', 0, 9)] })).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    const committed = await groups.fetchOffsets(G, [{ topic: 't', partitions: [0, 1] }]);
    expect(committed.topics[0]!.partitions.map((p) => p.offset)).toEqual([7, -1]);
  });

  it('commits count as heartbeats; REBALANCE_IN_PROGRESS while awaiting sync', async () => {
    const joins = ['a', 'b'].map((clientId) => groups.join(G, joinReq({ clientId })));
    await tick();
    const [a, b] = await Promise.all(joins) as [JoinResult, JoinResult];
    const commit = (r: JoinResult) => groups.commitOffsets(G, { generationId: r.generationId,
      memberId: r.memberId, groupInstanceId: null, offsets: [at('t', 0, 1)] });
    expect(await commit(a)).toEqual([ErrorCode.REBALANCE_IN_PROGRESS]);
    await syncAll([a, b]);
    for (let i = 0; i < 3; i++) {
      await tick(6000);
      expect(await commit(a)).toEqual([ErrorCode.NONE]);
      expect(await hb(b)).toBe(ErrorCode.NONE);
    }
    expect((await groups.describeGroups([G]))[0]!.members).toHaveLength(2);
  });

  it('deletes offsets unless an active consumer group subscribes to the topic', async () => {
    const [a] = await stableGroup(['a']) as [JoinResult];
    await groups.commitOffsets(G, { generationId: 1, memberId: a.memberId, groupInstanceId: null,
      offsets: [at('t', 0, 1), at('other', 0, 2)] });
    const result = await groups.deleteOffsets(G, [{ topic: 't', partition: 0 }, { topic: 'other', partition: 0 }]);
    expect(result).toEqual({ errorCode: ErrorCode.NONE,
      partitionErrors: [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE] });
    expect((await groups.fetchOffsets(G, null)).topics.map((t) => t.topic)).toEqual(['t']);
    expect((await groups.deleteOffsets('nobody', [{ topic: 't', partition: 0 }])).errorCode)
      .toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    await groups.leave(G, [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(await groups.deleteOffsets(G, [{ topic: 't', partition: 0 }]))
      .toEqual({ errorCode: ErrorCode.NONE, partitionErrors: [ErrorCode.NONE] });
    expect((await groups.fetchOffsets(G, null)).topics).toEqual([]);
  });

  it('parses consumer subscriptions, and is conservative when they do not parse', () => {
    expect(parseSubscribedTopics(subscription(['a', 'bb']))).toEqual(['a', 'bb']);
    expect(parseSubscribedTopics(Buffer.from([0, 0, 0, 0, 0, 9, 0]))).toBeNull();
    expect(parseSubscribedTopics(Buffer.alloc(0))).toBeNull();
  });

  it('lists, describes and deletes groups, including those with offsets only', async () => {
    const simple = { generationId: -1, memberId: '', groupInstanceId: null };
    await groups.commitOffsets('offsets-only', { ...simple, offsets: [at('t', 0, 1)] });
    const [a] = await stableGroup(['a']) as [JoinResult];
    expect((await groups.listGroups([], [])).groups).toEqual([
      { groupId: G, protocolType: 'consumer', state: 'Stable', groupType: 'classic' },
      { groupId: 'offsets-only', protocolType: '', state: 'Empty', groupType: 'classic' }]);
    expect((await groups.listGroups(['empty'], [])).groups.map((g) => g.groupId)).toEqual(['offsets-only']);
    expect((await groups.listGroups([], ['consumer'])).groups).toEqual([]);
    const described = await groups.describeGroups(['offsets-only', 'nothing']);
    expect(described.map((d) => d.state)).toEqual(['Empty', 'Dead']);
    expect(await groups.deleteGroups([G, 'offsets-only', 'nothing'])).toEqual([
      { groupId: G, errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'offsets-only', errorCode: ErrorCode.NONE },
      { groupId: 'nothing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND }]);
    expect(await metadata.offsets.listGroups()).toEqual([]);
    await groups.leave(G, [{ memberId: a.memberId, groupInstanceId: null }]);
    expect(await groups.deleteGroups([G])).toEqual([{ groupId: G, errorCode: ErrorCode.GROUP_ID_NOT_FOUND }]);
  });

  it('close answers waiting joins and clears every timer', async () => {
    start(3000);
    const waiting = groups.join(G, joinReq());
    await tick(10);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    groups.close();
    expect((await waiting).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(vi.getTimerCount()).toBe(0);
    expect((await groups.join(G, joinReq())).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('handlers on the wire', () => {
  interface Codec<Req> {
    encodeReq(w: Writer, v: number, req: Req): void;
    decodeRes(r: Reader, v: number): any;
  }

  const ctx = (): RequestContext => ({
    // OffsetCommit asks the partition manager whether a partition exists: topic 't' has 8.
    services: { groups, metadata, nodeId: 7, advertised: { host: 'broker', port: 9092 },
      partitions: { partitionExists: (topic: string, p: number) => topic === 't' && p < 8 },
      cluster: new SingleNodeView({ nodeId: 7, host: 'broker', port: 9092, rack: null }),
      authorizer: ALLOW_ALL,
    } as unknown as BrokerServices,
    clientId: 'wire', ...anonymousSession('10.0.0.1'), correlationId: 1, api: 'test', log,
  });

  /** Request → bytes → handler → response bytes → decoded response, at `version`. */
  async function call<Req>(apiKey: number, codec: Codec<Req>, version: number, req: Req): Promise<any> {
    const handler = groupHandlers.find((h) => h.apiKey === apiKey) as ApiHandler<Req, unknown>;
    const w = new Writer();
    codec.encodeReq(w, version, req);
    const decoded = handler.decodeRequest(new Reader(w.toBuffer()), version);
    const pending = Promise.resolve(handler.handle(ctx(), decoded, version));
    await tick();
    const response = await pending;
    const out = new Writer();
    handler.encodeResponse(out, version, response);
    return codec.decodeRes(new Reader(out.toBuffer()), version);
  }

  const join: Codec<joinGroupCodec.JoinGroupRequest> = { encodeReq: joinGroupCodec.encodeJoinGroupRequest,
    decodeRes: joinGroupCodec.decodeJoinGroupResponse };
  const syncC: Codec<syncGroupCodec.SyncGroupRequest> = { encodeReq: syncGroupCodec.encodeSyncGroupRequest,
    decodeRes: syncGroupCodec.decodeSyncGroupResponse };

  it('registers the group APIs in key order with the tested ranges', () => {
    expect(groupHandlers.map((h) => `${h.apiKey}:${h.minVersion}-${h.maxVersion}`)).toEqual([
      '8:0-8', '9:0-9', '10:0-5', '11:0-9', '12:0-4', '13:0-5', '14:0-5', '15:0-5', '16:0-5',
      '42:0-2', '47:0-0']);
  });

  it('JoinGroup, SyncGroup, Heartbeat, OffsetCommit/Fetch, Describe, List, Leave at every version', async () => {
    for (let v = 0; v <= 9; v++) {
      const groupId = `wire-${v}`;
      const base = { ...joinGroupCodec.defaultJoinGroupRequest(), groupId, sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: v >= 1 ? 20_000 : -1, protocolType: 'consumer', reason: v >= 8 ? 'test' : null,
        protocols: [{ name: 'range', metadata: subscription(['t']), unknownTaggedFields: undefined }] };
      let res = await call(11, join, v, base);
      if (v >= 4) {
        expect(res.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
        expect(res.protocolName).toBe(v >= 7 ? null : '');
        res = await call(11, join, v, { ...base, memberId: res.memberId });
      }
      expect(res).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, protocolName: 'range',
        protocolType: v >= 7 ? 'consumer' : null });
      expect(res.memberId).toMatch(/^wire-/);
      expect(res.leader).toBe(res.memberId);
      const memberId: string = res.memberId;
      const synced = await call(14, syncC, Math.min(v, 5), { ...syncGroupCodec.defaultSyncGroupRequest(),
        groupId, generationId: 1, memberId, protocolType: v >= 5 ? 'consumer' : null,
        protocolName: v >= 5 ? 'range' : null,
        assignments: [{ memberId, assignment: Buffer.from('x'), unknownTaggedFields: undefined }] });
      expect(synced).toMatchObject({ errorCode: ErrorCode.NONE, assignment: Buffer.from('x') });
      const beat = await call(12, { encodeReq: heartbeatCodec.encodeHeartbeatRequest,
        decodeRes: heartbeatCodec.decodeHeartbeatResponse }, Math.min(v, 4),
      { ...heartbeatCodec.defaultHeartbeatRequest(), groupId, generationId: 1, memberId });
      expect(beat.errorCode).toBe(ErrorCode.NONE);
      await commitAndFetch(groupId, memberId, v);
      await describeAndList(groupId, v);
      const leaveV = Math.min(v, 5);
      const left = await call(13, { encodeReq: leaveGroupCodec.encodeLeaveGroupRequest,
        decodeRes: leaveGroupCodec.decodeLeaveGroupResponse }, leaveV, {
        ...leaveGroupCodec.defaultLeaveGroupRequest(), groupId, memberId: leaveV < 3 ? memberId : '',
        members: leaveV < 3 ? [] : [{ memberId, groupInstanceId: null, reason: null, unknownTaggedFields: undefined },
          { memberId: 'ghost', groupInstanceId: null, reason: null, unknownTaggedFields: undefined }] });
      expect(left.errorCode).toBe(ErrorCode.NONE);
      if (leaveV >= 3) {
        expect(left.members.map((m: { errorCode: number }) => m.errorCode))
          .toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
      }
    }
  });

  async function commitAndFetch(groupId: string, memberId: string, v: number): Promise<void> {
    const commitV = Math.min(v, 8);
    const committed = await call(8, { encodeReq: offsetCommitCodec.encodeOffsetCommitRequest,
      decodeRes: offsetCommitCodec.decodeOffsetCommitResponse }, commitV, {
      ...offsetCommitCodec.defaultOffsetCommitRequest(), groupId,
      generationIdOrMemberEpoch: commitV >= 1 ? 1 : -1, memberId: commitV >= 1 ? memberId : '',
      topics: [{ name: 't', unknownTaggedFields: undefined, partitions: [{
        ...offsetCommitCodec.defaultOffsetCommitRequestOffsetCommitRequestPartition(),
        partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: commitV >= 6 ? 3 : -1 }] }] });
    // v0 has no member: a simple commit, refused while the group has members.
    expect(committed.topics[0].partitions[0].errorCode)
      .toBe(commitV >= 1 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID);
    const fetchCodec = { encodeReq: offsetFetchCodec.encodeOffsetFetchRequest,
      decodeRes: offsetFetchCodec.decodeOffsetFetchResponse };
    const wanted = [{ name: 't', partitionIndexes: [0, 1], unknownTaggedFields: undefined }];
    const req = v >= 8
      ? { ...offsetFetchCodec.defaultOffsetFetchRequest(), topics: [], groups: [{
        ...offsetFetchCodec.defaultOffsetFetchRequestOffsetFetchRequestGroup(), groupId, topics: wanted }] }
      : { ...offsetFetchCodec.defaultOffsetFetchRequest(), groupId, topics: wanted };
    const fetched = await call(9, fetchCodec, v, req);
    const partitions = v >= 8 ? fetched.groups[0].topics[0].partitions : fetched.topics[0].partitions;
    const expected = commitV >= 1 ? 42n : -1n;
    expect(partitions.map((p: { committedOffset: bigint }) => p.committedOffset)).toEqual([expected, -1n]);
    if (commitV >= 6 && v >= 5) expect(partitions[0].committedLeaderEpoch).toBe(3);
  }

  async function describeAndList(groupId: string, v: number): Promise<void> {
    const dv = Math.min(v, 5);
    const described = await call(15, { encodeReq: describeGroupsCodec.encodeDescribeGroupsRequest,
      decodeRes: describeGroupsCodec.decodeDescribeGroupsResponse }, dv, {
      ...describeGroupsCodec.defaultDescribeGroupsRequest(), groups: [groupId],
      includeAuthorizedOperations: dv >= 3 });
    expect(described.groups[0]).toMatchObject({ groupId, groupState: 'Stable', protocolData: 'range',
      authorizedOperations: dv >= 3 ? 328 : -2147483648 });
    expect(described.groups[0].members[0]).toMatchObject({ clientId: 'wire', clientHost: '10.0.0.1',
      memberAssignment: Buffer.from('x') });
    const lv = Math.min(v, 5);
    const listed = await call(16, { encodeReq: listGroupsCodec.encodeListGroupsRequest,
      decodeRes: listGroupsCodec.decodeListGroupsResponse }, lv, {
      ...listGroupsCodec.defaultListGroupsRequest(), statesFilter: lv >= 4 ? ['Stable'] : [],
      typesFilter: lv >= 5 ? ['classic'] : [] });
    const mine = listed.groups.find((g: { groupId: string }) => g.groupId === groupId);
    expect(mine).toMatchObject({ protocolType: 'consumer', groupState: lv >= 4 ? 'Stable' : '',
      groupType: lv >= 5 ? 'classic' : '' });
  }

  it('FindCoordinator answers groups and transactions with this broker, batched at v4+', async () => {
    const codec = { encodeReq: findCoordinatorCodec.encodeFindCoordinatorRequest,
      decodeRes: findCoordinatorCodec.decodeFindCoordinatorResponse };
    for (let v = 0; v <= 5; v++) {
      const base = findCoordinatorCodec.defaultFindCoordinatorRequest();
      if (v < 4) {
        const res = await call(10, codec, v, { ...base, key: 'g' });
        expect(res).toMatchObject({ errorCode: 0, nodeId: 7, host: 'broker', port: 9092 });
        continue;
      }
      const res = await call(10, codec, v, { ...base, keyType: 1, coordinatorKeys: ['tx1', 'tx2'] });
      expect(res.coordinators).toMatchObject([{ key: 'tx1', nodeId: 7, host: 'broker', port: 9092, errorCode: 0 },
        { key: 'tx2', nodeId: 7 }]);
      const bad = await call(10, codec, v, { ...base, keyType: 2, coordinatorKeys: ['s'] });
      expect(bad.coordinators[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
    }
  });

  it('OffsetDelete and DeleteGroups over the wire', async () => {
    await metadata.topics.create({ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitionCount: 2,
      configs: {}, createdAtMs: 0 }, 7);
    await groups.commitOffsets('od', { generationId: -1, memberId: '', groupInstanceId: null,
      offsets: [0, 1].map((partition) => ({ topic: 't', partition, offset: 1, leaderEpoch: -1,
        metadata: null })) });
    const p = (partitionIndex: number) => ({ partitionIndex, unknownTaggedFields: undefined });
    const res = await call(47, { encodeReq: offsetDeleteCodec.encodeOffsetDeleteRequest,
      decodeRes: offsetDeleteCodec.decodeOffsetDeleteResponse }, 0, {
      ...offsetDeleteCodec.defaultOffsetDeleteRequest(), groupId: 'od', topics: [
        { name: 't', partitions: [p(0), p(5)], unknownTaggedFields: undefined },
        { name: 'missing', partitions: [p(0)], unknownTaggedFields: undefined }] });
    expect(res.errorCode).toBe(0);
    expect(res.topics.map((t: { partitions: { errorCode: number }[] }) => t.partitions.map((x) => x.errorCode)))
      .toEqual([[ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    expect((await groups.fetchOffsets('od', null)).topics[0]!.partitions.map((x) => x.partition)).toEqual([1]);
    for (let v = 0; v <= 2; v++) {
      const deleted = await call(42, { encodeReq: deleteGroupsCodec.encodeDeleteGroupsRequest,
        decodeRes: deleteGroupsCodec.decodeDeleteGroupsResponse }, v, {
        ...deleteGroupsCodec.defaultDeleteGroupsRequest(), groupsNames: ['od'] });
      expect(deleted.results).toMatchObject([{ groupId: 'od',
        errorCode: v === 0 ? ErrorCode.NONE : ErrorCode.GROUP_ID_NOT_FOUND }]);
    }
  });
});
