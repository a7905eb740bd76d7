/**
 * Cluster (etcd): a client quota set through broker 1 is enforced by broker 3, which follows the
 * quota table through its etcd watch; the delay from the alteration's answer to the first
 * throttled answer on broker 3 is printed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { kafkaClient, waitForStableLeaders } from '../helpers/kafka-client.js';
import { alterQuotas, describeQuotas } from '../helpers/quota-requests.js';
import { createTopic, produce } from '../helpers/raw-requests.js';
import { RawClient } from '../helpers/raw-client.js';

let cluster: TestCluster;
beforeAll(async () => { cluster = await startCluster(3); }, 120_000);
afterAll(async () => { await cluster?.destroy(); });

it('enforces on broker 3 a producer quota set through broker 1', async () => {
  const topic = 'quota-cluster';
  const [one, , three] = cluster.brokers;
  const admin1 = await RawClient.connect(one!.port, { clientId: 'quota-admin' });
  expect(await createTopic(admin1, topic, 3)).toBe(ErrorCode.NONE);
  const admin = kafkaClient(cluster.bootstrap).admin();
  await admin.connect();
  await waitForStableLeaders(admin, topic);
  const led = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions
    .find((p) => p.leader === 3);
  await admin.disconnect();
  expect(led, 'broker 3 leads a partition of the topic').toBeDefined();

  const producer = await RawClient.connect(three!.port, { clientId: 'cluster-producer' });
  expect(await produce(producer, topic, 60 * 1024, led!.partitionId))
    .toEqual({ errorCode: 0, throttleTimeMs: 0 }); // no quota yet: nothing is measured
  expect(await alterQuotas(admin1, { 'client-id': 'cluster-producer' },
    { producer_byte_rate: 10_000 })).toMatchObject({ errorCode: ErrorCode.NONE });
  const setAtMs = performance.now();
  const admin3 = await RawClient.connect(three!.port, { clientId: 'quota-admin' });
  expect(await describeQuotas(admin3)).toEqual([
    { entity: { 'client-id': 'cluster-producer' }, values: { producer_byte_rate: 10_000 } }]);
  // 60 KB a request against 10,000 B/s: the second request measured is over (100 KB a window).
  let throttleTimeMs = 0;
  for (let attempt = 0; attempt < 50 && throttleTimeMs === 0; attempt++) {
    const answer = await produce(producer, topic, 60 * 1024, led!.partitionId);
    expect(answer.errorCode).toBe(ErrorCode.NONE);
    throttleTimeMs = answer.throttleTimeMs;
  }
  const enforcedAfterMs = performance.now() - setAtMs;
  console.log(`quota set through broker 1 enforced by broker 3 ${enforcedAfterMs.toFixed(0)} ms ` +
    `after AlterClientQuotas was answered (throttle_time_ms ${throttleTimeMs})`);
  expect(throttleTimeMs).toBeGreaterThan(0);
  for (const c of [admin1, admin3, producer]) c.close();
}, 120_000);
