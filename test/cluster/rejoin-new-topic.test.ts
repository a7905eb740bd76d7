/**
 * A broker's Leadership and PartitionManager against a real etcd, right after the broker lost its
 * lease and rejoined, when a topic it leads a partition of is created at that moment. Found by the
 * chaos run ("chaos-new-5: high watermarks 0,8,8 after acknowledged sends of 8,8,8"): in a
 * rejoined session this broker serves only epochs it took itself, so the new partition's change
 * event bumped epoch 0 to 1; meanwhile a Metadata or Produce request installed the topic
 * (PartitionManager.topicNow, outside the leadership queue) with a log at epoch 0, which took and
 * acknowledged 8 records; the epoch-1 event then replaced that log with an empty one built from the
 * segment index. The 8 records were in the WAL only: their upload was fenced by the bump, and no
 * one replays a WAL for a partition its own broker still leads. Acknowledged, and gone.
 *
 * The orderings are injected: the etcd watch delivers topic and partition keys through separate
 * watchers, so a partition's event may come before its topic's, and the install by a request is
 * placed at the moment of the epoch write (or, in the second test, of a reacquire's release).
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { validateBatch } from '../../protocol/records/batch-header.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { Leadership } from '../../src/cluster/leadership.js';
import { loadConfig } from '../../src/config/config.js';
import { EtcdKeys } from '../../src/etcd/keys.js';
import { EtcdMetadata, type MetadataChange } from '../../src/metadata/etcd/metadata.js';
import type { TopicRecord } from '../../src/metadata/records.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';
import type { Uploader } from '../../src/partition/uploader.js';
import { etcdPerFile } from '../helpers/etcd-per-file.js';
import { etcdServerLimits } from '../helpers/etcd-server.js';
import { waitFor } from '../helpers/kafka-client.js';
import { topicRecord } from '../metadata/contract/fixtures.js';
import { memoryDurability } from '../helpers/memory-wal.js';
import { emptyHistory } from '../helpers/partition-fakes.js';

const etcd = etcdPerFile();
const NODE_ID = 1;
/** Records of the one send, as kafkajs sends them to a partition: one batch. */
const RECORDS = 8;
const SETTLE_MS_MAX = 10_000;

interface Broker {
  coordinator: EtcdMetadata;
  partitions: PartitionManager;
  leadership: Leadership;
  /** Delivers the change events held back so far, and stops holding any. */
  deliverHeld: () => void;
  close: () => Promise<void>;
}

/**
 * One broker's Leadership and PartitionManager on a real etcd; `holdBack` change events do not
 * reach its Leadership until `deliverHeld` (the fault injected: an ordering of the watch).
 */
async function startBroker(prefix: string, topics: TopicRecord[],
  holdBack: (change: MetadataChange) => boolean): Promise<Broker> {
  const coordinator = await EtcdMetadata.open({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    txnOpsMax: etcdServerLimits.txnOpsMax, log: () => undefined });
  for (const topic of topics) await coordinator.topics.create(topic, NODE_ID);
  const log = pino({ level: 'silent' });
  const partitions = new PartitionManager(coordinator, { ...loadConfig([], {}), nodeId: NODE_ID },
    memoryDurability(), emptyHistory, NODE_ID, log, Date.now);
  await partitions.load();
  const held: MetadataChange[] = [];
  let holding = true;
  let deliver: (change: MetadataChange) => void = () => undefined;
  const view = Object.create(coordinator) as EtcdMetadata;
  view.onChange = (listener) => {
    deliver = listener;
    return coordinator.onChange((change) => {
      if (holding && holdBack(change)) held.push(change);
      else listener(change);
    });
  };
  const leadership = new Leadership({ nodeId: NODE_ID, coordinator: view, partitions,
    client: etcd.raw, keys: new EtcdKeys(prefix), leaseTtlMs: 6_000, log,
    uploader: { flush: async () => undefined } as unknown as Uploader, recovery: null });
  await leadership.start();
  return { coordinator, partitions, leadership,
    deliverHeld: () => {
      holding = false;
      for (const change of held.splice(0)) deliver(change);
    },
    close: async () => {
      await leadership.close();
      await coordinator.close();
      await etcd.raw.delete().prefix(prefix);
    } };
}

/** The lease was lost (every log held) and the broker registered again: it re-acquires. */
async function loseLeaseAndRejoin(broker: Broker): Promise<void> {
  broker.partitions.holdAppends();
  await broker.leadership.reacquire(() => true, {});
  expect(broker.partitions.holdingAppends).toBe(false);
}

/**
 * A produce of RECORDS records to partition 0, as the broker's Produce handler makes it (the topic
 * through topicNow). Returns how many were acknowledged: all of them, or none.
 */
async function produce(partitions: PartitionManager, topic: string): Promise<number> {
  const log = (await partitions.topicNow(topic))?.logs[0];
  if (log === undefined) return 0; // NOT_LEADER_OR_FOLLOWER: the client retries
  const batch = await encodeBatch({ baseTimestamp: 1, records: Array.from({ length: RECORDS },
    (_, i) => ({ key: null, value: Buffer.from(`${topic}:${i}`) })) });
  const check = validateBatch(batch, 0, 'client');
  if (!check.ok) throw new Error(check.detail);
  const settings = { messageBytesMax: 1 << 20, logAppendTime: false };
  const outcome = log.append(batch, check.header, settings, 1);
  if (outcome.kind !== 'appended') return 0;
  await outcome.durable;
  return RECORDS;
}

/** Waits until the partition is open here at the epoch the coordinator has for it. */
async function waitUntilOpen(broker: Broker, topic: TopicRecord): Promise<void> {
  await waitFor(`${topic.name}-0 open at its current epoch`, async () => {
    const state = (await broker.coordinator.leadership.states(topic.topicId))[0]!;
    const local = broker.partitions.partitionLog(topic.name, 0);
    return state.leaderId === NODE_ID && local !== undefined && !local.fenced && !local.draining
      && local.leaderEpoch === state.leaderEpoch;
  }, SETTLE_MS_MAX);
}

it('keeps what a new partition acknowledged while its epoch was taken after a rejoin', async () => {
  const prefix = `/ledgerstream-test/${randomUUID()}/`;
  const created = topicRecord('created-at-rejoin', 1);
  // The partition's event comes before its topic's (separate watchers).
  const broker = await startBroker(prefix, [],
    (change) => change.kind === 'topic' && change.name === created.name);
  try {
    await loseLeaseAndRejoin(broker);
    const { leadership } = broker.coordinator;
    const setLeader = leadership.setLeader.bind(leadership);
    let acknowledged = 0;
    leadership.setLeader = async (topicId, ...rest) => {
      // The epoch is being taken: a client's request installs the topic right now.
      if (topicId === created.topicId && acknowledged === 0) {
        acknowledged += await produce(broker.partitions, created.name);
      }
      return setLeader(topicId, ...rest);
    };
    await broker.coordinator.topics.create(created, NODE_ID); // by another broker, as it were
    await waitUntilOpen(broker, created);
    // Refused in the window (or not): the client sends until acknowledged.
    if (acknowledged === 0) acknowledged = await produce(broker.partitions, created.name);
    expect(acknowledged).toBe(RECORDS);
    const local = broker.partitions.partitionLog(created.name, 0)!;
    expect(local.highWatermark, 'every acknowledged record is in the partition')
      .toBe(acknowledged);
    const read = await local.read(0, 1 << 20, true);
    expect(read.kind === 'ok' ? read.batches.length : -1).toBe(1);
    broker.deliverHeld();
  } finally {
    await broker.close();
  }
}, 30_000);

it('opens a topic installed while a reacquire runs, after it listed the logs', async () => {
  const prefix = `/ledgerstream-test/${randomUUID()}/`;
  const existing = topicRecord('led-before', 1);
  const installed = topicRecord('installed-mid-reacquire', 1);
  const broker = await startBroker(prefix, [existing], (change) =>
    (change.kind === 'topic' && change.name === installed.name)
    || (change.kind === 'partition' && change.topicId === installed.topicId));
  try {
    broker.partitions.holdAppends();
    await broker.coordinator.topics.create(installed, NODE_ID); // its events are on their way
    const { leadership } = broker.coordinator;
    const release = leadership.release.bind(leadership);
    let installs = 0;
    leadership.release = async (...args) => {
      // The reacquire listed the logs already; a Metadata request installs the topic now.
      if (installs++ === 0) await broker.partitions.topicNow(installed.name);
      return release(...args);
    };
    await broker.leadership.reacquire(() => true, {});
    expect(installs).toBe(1);
    broker.deliverHeld();
    await waitUntilOpen(broker, installed);
    expect(await produce(broker.partitions, installed.name)).toBe(RECORDS);
  } finally {
    await broker.close();
  }
}, 30_000);
