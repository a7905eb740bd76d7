/**
 * Two brokers on etcd, a topic led by one, and a raw connection to the other: the setup of the
 * KIP-951 tests (a refused request names the leader).
 */
import { type TestCluster, startCluster } from './cluster.js';
import { createTopicWithLeader, kafkaClient } from './kafka-client.js';
import { RawClient } from './raw-client.js';

export interface NonLeaderSetup {
  cluster: TestCluster;
  leader: number;
  leaderBroker: TestCluster['brokers'][number];
  client: RawClient;
}

export async function connectToNonLeader(topic: string): Promise<NonLeaderSetup> {
  const cluster = await startCluster(2);
  const leader = await createTopicWithLeader(kafkaClient(cluster.bootstrap), topic);
  const leaderBroker = cluster.brokers[leader - 1]!;
  const other = cluster.brokers.find((b) => b !== leaderBroker)!;
  return { cluster, leader, leaderBroker, client: await RawClient.connect(other.port) };
}
