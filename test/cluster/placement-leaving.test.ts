/**
 * A new topic's partitions start on brokers that are not leaving (cluster/placement.ts): a broker
 * whose registration says it is shutting down gracefully would only hand them over again, and a
 * producer that started at once would meet NOT_LEADER_OR_FOLLOWER. The leave itself is simulated
 * by rewriting the broker's registration in etcd, so the broker stays up and the placement alone is
 * tested.
 */
import { afterEach, expect, it } from 'vitest';
import { type TestCluster, markLeavingInEtcd, startCluster } from '../helpers/cluster.js';
import { createTopicWithLeader, kafkaClient, leaderOf } from '../helpers/kafka-client.js';

const PARTITIONS = 6;
/** How long the other brokers get to see the registration change (an etcd watch: milliseconds). */
const WATCH_SETTLE_MS = 2_000;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

it('gives a new topic\'s partitions only to brokers that are not leaving', async () => {
  cluster = await startCluster(3);
  await markLeavingInEtcd(cluster.etcd.endpoint, 3);
  await new Promise((r) => setTimeout(r, WATCH_SETTLE_MS));

  // Through broker 1: it places the partitions (the least-loaded brokers would include broker 3).
  const kafka = kafkaClient([cluster.brokers[0]!.bootstrap]);
  await createTopicWithLeader(kafka, 'placed', PARTITIONS);
  const leaders: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) leaders.push(await leaderOf(kafka, 'placed', p));
  expect(leaders.filter((l) => l === 3)).toEqual([]);
  expect(new Set(leaders)).toEqual(new Set([1, 2]));
}, 90_000);
