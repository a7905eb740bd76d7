/**
 * A broker's Leadership against a real etcd: a handoff request is carried out once. The handoff
 * watch hands over every handoff key whenever any of them changes; the old code queued every key
 * each time, so a request queued again while its release was under way ran again after it, found
 * the old log still open (its close was queued behind) and released again: "leadership change
 * failed … FencedError … epoch 0 fenced by 1", ~1,200 times in 3.5 minutes under topic churn.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { encodeHandoff } from '../../src/cluster/controller.js';
import { encodeRegistration } from '../../src/cluster/membership.js';
import { Leadership } from '../../src/cluster/leadership.js';
import { loadConfig } from '../../src/config/config.js';
import { EtcdMetadata } from '../../src/metadata/etcd/metadata.js';
import { EtcdKeys } from '../../src/etcd/keys.js';
import type { HistoryReader } from '../../src/partition/partition-log.js';
import { memoryDurability } from '../helpers/memory-wal.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';
import type { Uploader } from '../../src/partition/uploader.js';
import { etcdPerFile } from '../helpers/etcd-per-file.js';
import { etcdServerLimits } from '../helpers/etcd-server.js';
import { waitFor } from '../helpers/kafka-client.js';
import { topicRecord } from '../metadata/contract/fixtures.js';

const etcd = etcdPerFile();
const NODE_ID = 1;
/** Writes to other handoff keys while the request is carried out: each is a re-delivery. */
const OTHER_WRITES = 40;

const emptyHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};

it('carries out a handoff request once, however often the watch re-delivers the handoff keys', async () => {
  const prefix = `/ledgerstream-test/${randomUUID()}/`;
  const keys = new EtcdKeys(prefix);
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  const coordinator = await EtcdMetadata.open({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    txnOpsMax: etcdServerLimits.txnOpsMax, log: () => undefined });
  let releases = 0;
  const release = coordinator.leadership.release.bind(coordinator.leadership);
  coordinator.leadership.release = async (...args) => { releases++; return release(...args); };
  const partitions = new PartitionManager(coordinator, { ...loadConfig([], {}), nodeId: NODE_ID },
    memoryDurability(), emptyHistory, NODE_ID, log, Date.now);
  const topic = topicRecord('moving', 2);
  const other = topicRecord('elsewhere', 4); // another broker's topic: its requests are not ours
  await coordinator.topics.create(topic, NODE_ID);
  await partitions.load();
  // The target is a live broker (a handoff to one not registered, or leaving, is not carried out).
  await etcd.raw.put(keys.broker(2)).value(encodeRegistration(
    { nodeId: 2, host: '127.0.0.1', port: 9002, rack: null, startedAtMs: Date.now() }));
  const leadership = new Leadership({ nodeId: NODE_ID, coordinator, partitions, leaseTtlMs: 6_000, client: etcd.raw, keys, log,
    uploader: { flush: async () => undefined } as unknown as Uploader, recovery: null });
  await leadership.start();
  try {
    const local = partitions.partitionLog('moving', 0)!;
    expect(local.leaderEpoch).toBe(0);
    await etcd.raw.put(keys.handoff(topic.topicId, 0))
      .value(encodeHandoff({ fromLeaderId: NODE_ID, toLeaderId: 2, epoch: 0 }));
    // Other requests come and go meanwhile (a controller pass per new topic under churn).
    await Promise.all(Array.from({ length: OTHER_WRITES }, (_, i) => etcd.raw.put(keys.handoff(other.topicId, i % 4))
      .value(encodeHandoff({ fromLeaderId: 3, toLeaderId: 2, epoch: i }))));
    await waitFor('partition 0 released to broker 2', async () => {
      const state = (await coordinator.leadership.states(topic.topicId))[0]!;
      return state.leaderId === 2 && partitions.partitionLog('moving', 0) === undefined;
    }, 10_000);
    await new Promise((r) => setTimeout(r, 500)); // a rerun, if any were queued, has run by now
    expect(releases).toBe(1);
    expect(lines.filter((l) => l.includes('fenced by'))).toEqual([]);
    expect(local.fenced).toBe(true);
    expect(partitions.partitionLog('moving', 1)).toBeDefined(); // not asked to move
  } finally {
    await leadership.close();
    await coordinator.close();
    await etcd.raw.delete().prefix(prefix);
  }
}, 30_000);
