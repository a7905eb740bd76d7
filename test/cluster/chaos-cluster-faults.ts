/**
 * Faults of the chaos run that hit the cluster rather than one broker (see chaos.ts):
 *  - 'create-topic': a new topic is created and a plain (non-idempotent, retrying) kafkajs
 *    producer writes to all its partitions at once, as applications do right after creating one.
 *    Its high watermarks must equal exactly what was acknowledged: a partition that changed
 *    leader under the first sends would make kafkajs resend records already written.
 *  - 'grow-partitions': a side topic gains partitions through one broker; every broker must
 *    name the new count in Metadata (for the topic, and for all topics) within a deadline,
 *    without dropping a connection.
 *  - 'store-outage': the object store fails every request for a few seconds (the shared object
 *    folder is swapped for a plain file, so every put, get and list fails), then heals: the
 *    backlog built meanwhile must drain and nothing acknowledged be lost.
 *  - 'etcd-pause': etcd is SIGSTOPped past the brokers' lease, then resumed.
 * Each returns what it did; problems found (wrong high watermarks, Metadata that never
 * converged or dropped the connection) go to `anomalies`, which fail the run.
 */
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import {
  decodeMetadataResponse, defaultMetadataRequest, defaultMetadataRequestMetadataRequestTopic,
  encodeMetadataRequest,
} from '../../protocol/generated/messages/metadata.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import type { TestCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { bounded, chaosBounds, withRetries } from './chaos-bounds.js';

export type ClusterFaultKind = 'create-topic' | 'grow-partitions' | 'store-outage' | 'etcd-pause';
export const CLUSTER_FAULT_KINDS: ClusterFaultKind[] = ['create-topic', 'grow-partitions', 'store-outage', 'etcd-pause'];

export const clusterFaultLimits = {
  /** Records a create-topic fault writes into its new topic. */
  newTopicRecords: 24,
  newTopicPartitions: 3,
  growTopicPartitionsStart: 2,
  /** Every broker names a grown topic's new partition count within this. */
  metadataConvergeMsMax: 10_000,
  /** Partitions added per grow-partitions fault. */
  growStepMax: 2,
} as const;

export const GROW_TOPIC = 'chaos-grow';

export interface ClusterFaultSettings {
  storeOutageMs: [number, number];
  etcdPauseMs: [number, number];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/**
 * How many partitions one broker names for `topic` (Metadata v9 over its own connection);
 * 'dropped' if it closed the connection instead of answering, null if unreachable.
 */
export async function partitionCountAt(port: number, topic: string, allTopics: boolean,
  timeoutMs = 2000): Promise<number | 'dropped' | null> {
  let raw: RawClient | null = null;
  try {
    raw = await bounded('connect', RawClient.connect(port), timeoutMs);
    const req = defaultMetadataRequest();
    req.topics = allTopics ? null : [{ ...defaultMetadataRequestMetadataRequestTopic(), name: topic }];
    req.allowAutoTopicCreation = false;
    raw.send(ApiKey.Metadata, 9, (w) => encodeMetadataRequest(w, 9, req));
    const frame = await raw.readFrame(timeoutMs);
    if (frame === null) return 'dropped';
    const res = decodeMetadataResponse(decodeResponseFrame(ApiKey.Metadata, 9, frame).body, 9);
    const t = res.topics.find((x) => x.name === topic);
    return t === undefined || t.errorCode !== 0 ? 0 : t.partitions.length;
  } catch {
    return null;
  } finally {
    raw?.close();
  }
}

export class ClusterFaults {
  readonly anomalies: string[] = [];
  private growCount: number = clusterFaultLimits.growTopicPartitionsStart;
  private readonly kafka: Kafka;

  constructor(private readonly cluster: TestCluster, private readonly random: () => number,
    private readonly settings: ClusterFaultSettings) {
    this.kafka = new Kafka({ clientId: 'chaos-cluster-faults', brokers: cluster.bootstrap,
      logLevel: logLevel.NOTHING, requestTimeout: 10_000,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
  }

  private between([lo, hi]: [number, number]): number {
    return lo + this.random() * (hi - lo);
  }

  /** Creates the side topic the grow-partitions faults grow. */
  async setUp(admin: Admin): Promise<void> {
    await bounded('createTopics', admin.createTopics({ waitForLeaders: true,
      topics: [{ topic: GROW_TOPIC, numPartitions: clusterFaultLimits.growTopicPartitionsStart }] }), chaosBounds.callMs);
  }

  async inject(index: number, kind: ClusterFaultKind, admin: Admin): Promise<string> {
    if (kind === 'create-topic') return this.createTopic(index, admin);
    if (kind === 'grow-partitions') return this.growPartitions(admin);
    if (kind === 'store-outage') return this.storeOutage();
    return this.etcdPause();
  }

  private async createTopic(index: number, admin: Admin): Promise<string> {
    const topic = `chaos-new-${index}`;
    const partitions = clusterFaultLimits.newTopicPartitions;
    const t0 = performance.now();
    await bounded('createTopics', admin.createTopics({ topics: [{ topic, numPartitions: partitions }] }),
      chaosBounds.callMs);
    const createdMs = Math.round(performance.now() - t0);
    // kafkajs's default producer: not idempotent, retries a failed request whole.
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    const sent = Array.from({ length: partitions }, () => 0);
    try {
      await bounded('producer connect', producer.connect(), chaosBounds.callMs);
      const messages = Array.from({ length: clusterFaultLimits.newTopicRecords }, (_, i) => {
        sent[i % partitions]!++;
        return { partition: i % partitions, value: `${topic}:${i}` };
      });
      await bounded('send', producer.send({ topic, acks: -1, messages }), chaosBounds.sendMs);
    } catch (err) {
      // Every record's fate is unknown: the high watermarks can only be bounded, not checked.
      this.anomalies.push(`${topic}: the send right after creation failed: ${String(err).slice(0, 200)}`);
      return `created ${topic} in ${createdMs} ms; send FAILED`;
    } finally {
      await bounded('producer disconnect', producer.disconnect(), chaosBounds.disconnectMs).catch(() => {});
    }
    const ackedMs = Math.round(performance.now() - t0);
    const highs = Array.from({ length: partitions }, () => -1);
    // The new topic's leaders may move right after creation (a broker that lost its lease in an
    // earlier fault hands its partitions over): read again, as the Java admin client would.
    const offsets = await withRetries(() => bounded('fetchTopicOffsets', admin.fetchTopicOffsets(topic),
      chaosBounds.callMs));
    for (const o of offsets) highs[o.partition] = Number(o.high);
    if (highs.some((h, p) => h !== sent[p])) {
      this.anomalies.push(`${topic}: high watermarks ${highs.join(',')} after acknowledged sends of ${sent.join(',')}`);
    }
    return `created ${topic} (${partitions} partitions) in ${createdMs} ms, ${clusterFaultLimits.newTopicRecords} ` +
      `records acknowledged after ${ackedMs} ms; high watermarks ${highs.join(',')}`;
  }

  private async growPartitions(admin: Admin): Promise<string> {
    const to = this.growCount + 1 + Math.floor(this.random() * clusterFaultLimits.growStepMax);
    const t0 = performance.now();
    await bounded('createPartitions', admin.createPartitions({ topicPartitions: [{ topic: GROW_TOPIC, count: to }] }),
      chaosBounds.callMs);
    this.growCount = to;
    const ports = this.cluster.brokers.map((b) => b.port);
    const deadline = performance.now() + clusterFaultLimits.metadataConvergeMsMax;
    let last: string[] = [];
    while (performance.now() < deadline) {
      const answers = await Promise.all(ports.flatMap((port) =>
        [false, true].map((all) => partitionCountAt(port, GROW_TOPIC, all))));
      last = answers.map(String);
      const dropped = answers.filter((a) => a === 'dropped').length;
      if (dropped > 0) {
        this.anomalies.push(`${GROW_TOPIC} grown to ${to}: ${dropped} Metadata requests answered by a dropped connection`);
        break;
      }
      if (answers.every((a) => a === to)) {
        return `grew ${GROW_TOPIC} to ${to} partitions; every broker said so after ${Math.round(performance.now() - t0)} ms`;
      }
      await sleep(100);
    }
    if (!this.anomalies.some((a) => a.startsWith(`${GROW_TOPIC} grown to ${to}:`))) {
      this.anomalies.push(`${GROW_TOPIC} grown to ${to}: brokers still said ${last.join(',')} ` +
        `(topic, all topics per broker) after ${clusterFaultLimits.metadataConvergeMsMax} ms`);
    }
    return `grew ${GROW_TOPIC} to ${to} partitions; Metadata did NOT converge: ${last.join(',')}`;
  }

  /**
   * Every object store request fails while a plain file stands where the folder was. A broker's
   * put re-creates a missing folder (mkdir -p), so the folder may come back between two of these
   * steps: whatever stands at the folder's path is then moved aside whole (one rename, so a put
   * lands either before, and is kept, or fails) and merged back into the store at the end.
   * Before, a folder re-created between the rename and the write of the file failed the write,
   * the folder was never put back, and the rest of the run read an empty store.
   */
  private async storeOutage(): Promise<string> {
    const folder = path.join(this.cluster.sharedDir, 'objects');
    const away = `${folder}.outage`;
    const block = `${folder}.block`;
    const outage = this.between(this.settings.storeOutageMs);
    const aside: string[] = [];
    const moveAside = async (): Promise<void> => {
      if (!(await lstat(folder).catch(() => null))?.isDirectory()) {
        await rm(folder, { force: true });
        return;
      }
      const to = `${folder}.aside-${aside.length}`;
      await rename(folder, to);
      aside.push(to);
    };
    await writeFile(block, 'object store outage (chaos)\n');
    await rename(folder, away);
    let detail = `object store failing for ${Math.round(outage)} ms`;
    try {
      if (!await retried(async () => rename(block, folder), moveAside)) {
        detail = 'object store outage NOT in place (the folder kept coming back)';
      }
      await sleep(outage);
    } finally {
      await rm(block, { force: true }); // if it never took the folder's place
      await moveAside(); // the file, or a folder re-created meanwhile
      if (!await retried(async () => rename(away, folder), moveAside)) {
        throw new Error(`could not put the object store back from ${away}`);
      }
      for (const dir of aside) {
        await mergeInto(dir, folder);
        await rm(dir, { recursive: true, force: true });
      }
    }
    return aside.length === 0 ? detail : `${detail}; merged ${aside.length} folder(s) re-created meanwhile`;
  }

  private async etcdPause(): Promise<string> {
    const pid = this.cluster.etcd.pid;
    const pause = this.between(this.settings.etcdPauseMs);
    process.kill(pid, 'SIGSTOP');
    try {
      await sleep(pause);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    return `etcd SIGSTOPped for ${Math.round(pause)} ms`;
  }
}

/** `step`, after `clear` when it failed, a few times; false if it never succeeded. */
async function retried(step: () => Promise<void>, clear: () => Promise<void>): Promise<boolean> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await step();
      return true;
    } catch {
      await clear();
    }
  }
  return false;
}

/** Moves every object below `from` to the same key below `to` (temp files of puts excepted). */
async function mergeInto(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await mkdir(target, { recursive: true });
      await mergeInto(source, target);
    } else if (!entry.name.startsWith('.tmp-')) {
      await rename(source, target);
    }
  }
}
