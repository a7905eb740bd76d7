/**
 * KIP-951 on Produce (src/broker/produce/current-leader.ts): a broker that does not lead the
 * partition answers a v10+ produce NOT_LEADER_OR_FOLLOWER with the leader it knows in
 * `currentLeader` and that broker's address in `nodeEndpoints`, so a client that reads them (the
 * Java client, librdkafka 2.5+) resends there at once instead of backing off and asking Metadata.
 * A v9 answer has no such fields. Two real brokers on etcd; the requests are raw frames.
 */
import { afterEach, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  decodeProduceResponse, defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { encodeBatch } from '../../protocol/records/record.js';
import type { TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/kafka-client.js';
import { connectToNonLeader } from '../helpers/non-leader.js';
import { RawClient } from '../helpers/raw-client.js';
import { answer } from '../helpers/raw-requests.js';

const TOPIC = 'current-leader';

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

async function produceAt(client: RawClient, version: number) {
  const req = defaultProduceRequest();
  req.acks = -1;
  req.timeoutMs = 5_000;
  const records = await encodeBatch({ baseTimestamp: Date.now(),
    records: [{ key: null, value: Buffer.from('x') }] });
  req.topicData = [{ name: TOPIC, unknownTaggedFields: undefined,
    partitionData: [{ index: 0, unknownTaggedFields: undefined, records }] }];
  client.send(0, version, (w) => encodeProduceRequest(w, version, req));
  return decodeProduceResponse(await answer(client, 0, version), version);
}

it('names the current leader and its endpoint in a v10+ NOT_LEADER_OR_FOLLOWER', async () => {
  const setup = await connectToNonLeader(TOPIC);
  cluster = setup.cluster;
  const { leader, leaderBroker, client } = setup;
  try {
    // The other broker may learn of the topic a moment after the leader opened it.
    let res = await produceAt(client, 11);
    await waitFor('the other broker knows the topic', async () =>
      (res = await produceAt(client, 11)).responses[0]!.partitionResponses[0]!.errorCode
        === ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const p = res.responses[0]!.partitionResponses[0]!;
    expect(p.currentLeader.leaderId).toBe(leader);
    expect(p.currentLeader.leaderEpoch).toBeGreaterThanOrEqual(0);
    expect(res.nodeEndpoints).toEqual([expect.objectContaining(
      { nodeId: leader, host: '127.0.0.1', port: leaderBroker.port })]);

    const old = await produceAt(client, 9);
    expect(old.responses[0]!.partitionResponses[0]!.errorCode)
      .toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(old.nodeEndpoints).toEqual([]);
  } finally {
    client.close();
  }
}, 120_000);
