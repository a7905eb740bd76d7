/**
 * EtcdClusterView against a real etcd: live brokers, the controller and partition leaders as the
 * Metadata / FindCoordinator / DescribeCluster handlers see them, following changes.
 */
import { randomUUID } from 'node:crypto';
import { openEtcdClient } from '../../src/etcd/client.js';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { rendezvous } from '../../src/cluster/cluster-view.js';
import { Controller } from '../../src/cluster/controller.js';
import { EtcdClusterView } from '../../src/cluster/etcd-view.js';
import { Membership } from '../../src/cluster/membership.js';
import { EtcdMetadata } from '../../src/metadata/etcd/metadata.js';
import { EtcdKeys } from '../../src/etcd/keys.js';
import { decodePartitionState } from '../../src/metadata/etcd/codecs.js';
import { etcdPerFile } from '../helpers/etcd-per-file.js';
import { topicRecord } from '../metadata/contract/fixtures.js';

const etcd = etcdPerFile();

const quiet = (): void => undefined;
let prefix: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  prefix = `/ledgerstream-test/${randomUUID()}/`;
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await etcd.raw.delete().prefix(prefix);
});

async function register(nodeId: number): Promise<Membership> {
  const membership = await Membership.register({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    endpoint: { nodeId, host: `b${nodeId}`, port: 9092, rack: 'r1' }, leaseTtlMs: 2_000,
    log: quiet });
  cleanups.push(() => membership.close());
  return membership;
}

async function within(deadlineMs: number, check: () => boolean): Promise<void> {
  const startMs = performance.now();
  while (!check()) {
    if (performance.now() - startMs > deadlineMs) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('follows live brokers, the controller and partition leaders', async () => {
  const coordinator = await EtcdMetadata.open({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    log: quiet });
  cleanups.push(() => coordinator.close());
  const topic = topicRecord('viewed', 3);
  await coordinator.topics.create(topic, 1);
  const t = topic.topicId;
  const first = await register(1);
  const controller = await Controller.start({ membership: first, coordinator, debounceMs: 10,
    log: quiet });
  cleanups.push(() => controller.close());
  const second = await register(2);

  const client = openEtcdClient({ hosts: etcd.server.endpoint, callTimeoutMs: 5_000 }); // the view outlives the memberships
  cleanups.push(async () => client.close());
  const view = await EtcdClusterView.open({ client, keys: new EtcdKeys(prefix), coordinator,
    log: quiet });
  cleanups.push(() => view.close());

  expect(view.brokers()).toEqual([{ nodeId: 1, host: 'b1', port: 9092, rack: 'r1' },
    { nodeId: 2, host: 'b2', port: 9092, rack: 'r1' }]);
  await within(2_000, () => view.controllerId() === 1);
  expect(view.leader(t, 0, 0)).toEqual({ leaderId: 1, leaderEpoch: 0 });
  expect(view.leader(t, 7, 4)).toEqual({ leaderId: -1, leaderEpoch: 4 }); // unknown: no leader
  for (const groupId of ['agents', 'billing', 'g-1', 'g-2']) {
    expect(view.groupCoordinator(groupId)).toEqual(rendezvous(groupId, view.brokers()));
  }

  await coordinator.leadership.release(t, 2, 0, 2); // as the rebalancing handoff would
  await within(1_000, () => view.leader(t, 2, 0).leaderId === 2);
  expect(view.leader(t, 2, 0)).toEqual({ leaderId: 2, leaderEpoch: 1 });

  await second.revoke(); // broker 2 leaves: its groups move, and the controller takes p2 back
  await within(1_000, () => view.brokers().length === 1);
  for (const groupId of ['agents', 'billing', 'g-1', 'g-2']) {
    expect(view.groupCoordinator(groupId)?.nodeId).toBe(1);
  }
  await within(2_000, () => view.leader(t, 2, 0).leaderId === 1);
  const [kv] = (await etcd.raw.kv.range({ key: Buffer.from(new EtcdKeys(prefix).partition(t, 2)) }))
    .kvs;
  expect(decodePartitionState(kv!.value)).toMatchObject(
    { leaderId: 1, leaderEpoch: 2, recoverFrom: 2 });

  await controller.close();
  await first.revoke(); // nobody left
  await within(1_000, () => view.brokers().length === 0 && view.controllerId() === -1);
  expect(view.groupCoordinator('agents')).toBeNull();

  await coordinator.topics.delete('viewed');
  await within(1_000, () => view.leader(t, 0, 5).leaderId === -1);
});
