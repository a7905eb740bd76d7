/**
 * KIP-951 on Fetch (src/broker/fetch/current-leader.ts): a broker that does not lead the
 * partition answers a v12+ fetch NOT_LEADER_OR_FOLLOWER with the leader it knows in
 * `currentLeader`, and from v16 that broker's address in `nodeEndpoints`, so the Java consumer
 * moves the partition there at once instead of waiting for a metadata refresh. Two real brokers
 * on etcd; the requests are raw frames.
 */
import { afterEach, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as F from '../../protocol/generated/messages/fetch.js';
import type { TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/kafka-client.js';
import { connectToNonLeader } from '../helpers/non-leader.js';
import { RawClient } from '../helpers/raw-client.js';
import { answer, topicIdOf } from '../helpers/raw-requests.js';

const TOPIC = 'fetch-current-leader';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

async function fetchAt(client: RawClient, version: number, topicId: string,
  session: Partial<F.FetchRequest> = {}) {
  const req = { ...F.defaultFetchRequest(), maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
    topics: [{ ...F.defaultFetchRequestFetchTopic(), topic: TOPIC, topicId,
      partitions: [{ ...F.defaultFetchRequestFetchPartition(), partition: 0,
        partitionMaxBytes: 1 << 20 }] }], ...session };
  client.send(1, version, (w) => F.encodeFetchRequest(w, version, req));
  return F.decodeFetchResponse(await answer(client, 1, version), version);
}

it('names the current leader in a v12+ and its endpoint in a v16+ refused fetch', async () => {
  const setup = await connectToNonLeader(TOPIC);
  cluster = setup.cluster;
  const { leader, leaderBroker, client } = setup;
  try {
    // The other broker may learn of the topic a moment after the leader opened it.
    let topicId = '';
    let res = F.defaultFetchResponse();
    await waitFor('the other broker knows the topic', async () => {
      topicId = await topicIdOf(client, TOPIC);
      res = await fetchAt(client, 16, topicId);
      return res.responses[0]?.partitions[0]?.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER;
    });
    const p = res.responses[0]!.partitions[0]!;
    expect(p.currentLeader.leaderId).toBe(leader);
    expect(p.currentLeader.leaderEpoch).toBeGreaterThanOrEqual(0);
    expect(res.nodeEndpoints).toEqual([expect.objectContaining(
      { nodeId: leader, host: '127.0.0.1', port: leaderBroker.port })]);

    const v12 = await fetchAt(client, 12, topicId);
    const p12 = v12.responses[0]!.partitions[0]!;
    expect(p12.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect([p12.currentLeader.leaderId, p12.currentLeader.leaderEpoch])
      .toEqual([leader, p.currentLeader.leaderEpoch]);

    // In an incremental fetch session (KIP-227) an error is always news: the refusal, with the
    // leader and its endpoint, comes in every answer though the partition is no longer named.
    const opened = await fetchAt(client, 16, topicId, { sessionId: 0, sessionEpoch: 0 });
    expect(opened.sessionId).toBeGreaterThan(0);
    for (const sessionEpoch of [1, 2]) {
      const next = await fetchAt(client, 16, topicId,
        { sessionId: opened.sessionId, sessionEpoch, topics: [] });
      expect(next.responses[0]?.partitions[0]).toMatchObject({
        errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, currentLeader: { leaderId: leader } });
      expect(next.nodeEndpoints.map((e) => e.nodeId)).toEqual([leader]);
    }
  } finally {
    client.close();
  }
}, 120_000);
