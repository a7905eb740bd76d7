/**
 * Graceful shutdown of a group coordinator in the middle of a rebalance: a JoinGroup held open
 * (waiting for a member that will not rejoin) is answered NOT_COORDINATOR at once, as Kafka's
 * coordinator answers on resignation, so the member goes looking for the group's next
 * coordinator and the broker's drain does not wait for the rebalance timeout.
 */
import { afterEach, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import {
  decodeJoinGroupResponse, defaultJoinGroupRequest, defaultJoinGroupRequestJoinGroupRequestProtocol, encodeJoinGroupRequest,
  type JoinGroupResponse,
} from '../../protocol/generated/messages/join-group.js';
import {
  decodeSyncGroupResponse, defaultSyncGroupRequest, defaultSyncGroupRequestSyncGroupRequestAssignment, encodeSyncGroupRequest,
} from '../../protocol/generated/messages/sync-group.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';

const JOIN_GROUP = 11;
const SYNC_GROUP = 14;
const JOIN_VERSION = 5;
const SYNC_VERSION = 3;
/** Far longer than the test: a held JoinGroup can only end early through the shutdown. */
const REBALANCE_TIMEOUT_MS = 120_000;

let broker: BrokerProcess | undefined;
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await broker?.destroy();
});

async function join(c: RawClient, memberId: string): Promise<JoinGroupResponse | null> {
  c.send(JOIN_GROUP, JOIN_VERSION, (w) => encodeJoinGroupRequest(w, JOIN_VERSION, {
    ...defaultJoinGroupRequest(), groupId: 'held', sessionTimeoutMs: REBALANCE_TIMEOUT_MS,
    rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS, memberId, protocolType: 'consumer',
    protocols: [{ ...defaultJoinGroupRequestJoinGroupRequestProtocol(), name: 'range', metadata: Buffer.from([0, 1]) }],
  }));
  const frame = await c.readFrame(REBALANCE_TIMEOUT_MS);
  return frame === null ? null : decodeJoinGroupResponse(decodeResponseFrame(JOIN_GROUP, JOIN_VERSION, frame).body, JOIN_VERSION);
}

/** JoinGroup v4+: the first call only hands out a member id. */
async function joinWithId(c: RawClient): Promise<JoinGroupResponse | null> {
  const first = await join(c, '');
  expect(first?.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  return join(c, first!.memberId);
}

it('SIGTERM answers a held JoinGroup with NOT_COORDINATOR and exits 0', async () => {
  broker = await startBroker({ settings: { shutdownTimeoutMs: 60_000 } });
  const a = await RawClient.connect(broker.port);
  const b = await RawClient.connect(broker.port);
  clients.push(a, b);

  // Member A forms the group (generation 1) and syncs; it never heartbeats or rejoins again.
  const joinedA = await joinWithId(a);
  expect(joinedA).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1 });
  a.send(SYNC_GROUP, SYNC_VERSION, (w) => encodeSyncGroupRequest(w, SYNC_VERSION, {
    ...defaultSyncGroupRequest(), groupId: 'held', generationId: 1, memberId: joinedA!.memberId,
    assignments: [{ ...defaultSyncGroupRequestSyncGroupRequestAssignment(), memberId: joinedA!.memberId, assignment: Buffer.from([0]) }],
  }));
  const synced = decodeSyncGroupResponse(decodeResponseFrame(SYNC_GROUP, SYNC_VERSION, (await a.readFrame())!).body, SYNC_VERSION);
  expect(synced.errorCode).toBe(ErrorCode.NONE);

  // Member B's JoinGroup starts a rebalance that waits for A to rejoin: it is held.
  const first = await join(b, '');
  expect(first?.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  const heldJoin = join(b, first!.memberId);
  // Wait until the broker holds it (the group shows a rebalance in progress to A's next sync).
  await new Promise((r) => setTimeout(r, 500));

  const exited = broker.stop();
  const answer = await heldJoin;
  expect(answer, 'the held JoinGroup was never answered: the connection closed first').not.toBeNull();
  expect(answer!.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
  expect(await exited).toBe(0);
}, REBALANCE_TIMEOUT_MS);
