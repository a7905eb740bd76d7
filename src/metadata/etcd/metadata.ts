/**
 * The etcd engine: every metadata store over one etcd key prefix, shared by every broker of the
 * cluster (cluster mode). Key layout in src/etcd/keys.ts, value codecs in codecs.ts, the
 * optimistic write loop in engine.ts.
 *
 * Reads: topics and partition states are served from memory, a cache loaded by a range read at
 * revision R and kept fresh by watches from R + 1 on `topics/` and `partitions/` (two watches:
 * one on the whole prefix would stream every segment entry written to every broker). A watch that
 * errors (e.g. its revision was compacted) or ends unasked triggers a reload (src/etcd/watch.ts),
 * which diffs the new snapshot against the cache and reports the differences to onChange
 * listeners. Each cached key remembers the revision it was last changed at, so a late watch event
 * never undoes a newer change. Another broker's change shows up after the watch delivers it
 * (milliseconds). Segment lookups, producer states, offsets and objects are read from etcd
 * directly, with limits.
 */
import assert from 'node:assert/strict';
import { openEtcdClient, type EtcdClient } from '../../etcd/client.js';
import { EtcdKeys, keyPrefixDefault } from '../../etcd/keys.js';
import { doesNotExist, getOp, putOp, rangesOf } from '../../etcd/txn.js';
import { EtcdWatch } from '../../etcd/watch.js';
import { newKafkaUuid } from '../rules.js';
import type { Metadata } from '../stores.js';
import { EtcdClientQuotas } from './client-quotas.js';
import { EtcdAclStore } from './acls.js';
import { EtcdEngine, type EngineLog } from './engine.js';
import { EtcdPartitionLeadership } from './leadership.js';
import { EtcdGroupOffsets } from './offsets.js';
import { EtcdProducerIds } from './producers.js';
import { EtcdScramCredentials } from './scram-credentials.js';
import { EtcdSegmentIndex } from './segments.js';
import type { MetadataChange } from './topic-cache.js';
import { EtcdTopicCatalog } from './topics.js';
import { EtcdTransactionStates } from './transactions.js';
import { etcdCoordinatorLimits } from '../../limits.js';

export { EtcdTxnTooLargeError } from '../../etcd/txn.js';
export { EtcdConflictError } from './engine.js';
export { commitSegmentsTxnOpsMax } from './segments.js';
export type { MetadataChange } from './topic-cache.js';


export interface EtcdMetadataOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`. */
  hosts: string | string[];
  /** Every key lives under it; `/…/`. Default `/ledgerstream/`. */
  keyPrefix?: string;
  /** Ops one transaction branch may carry; must not exceed the server's --max-txn-ops. */
  txnOpsMax?: number;
  producerIdsPerBlock?: number;
  callTimeoutMs?: number;
  nowMs?: () => number;
  /** Where listener and watch failures are reported; without it, process warnings. */
  log?: EngineLog;
}

export class EtcdMetadata implements Metadata {
  readonly topics: EtcdTopicCatalog;
  readonly leadership: EtcdPartitionLeadership;
  readonly segments: EtcdSegmentIndex;
  readonly producers: EtcdProducerIds;
  readonly offsets: EtcdGroupOffsets;
  readonly quotas: EtcdClientQuotas;
  readonly scramCredentials: EtcdScramCredentials;
  readonly acls: EtcdAclStore;
  readonly transactions: EtcdTransactionStates;
  private readonly engine: EtcdEngine;
  private clusterIdValue = '';
  private closed = false;
  /** Follows topics/ and partitions/ into the cache; null until open() started it. */
  private watch: EtcdWatch | null = null;

  private constructor(private readonly client: EtcdClient, options: EtcdMetadataOptions) {
    this.engine = new EtcdEngine(client, new EtcdKeys(options.keyPrefix ?? keyPrefixDefault),
      options.txnOpsMax ?? etcdCoordinatorLimits.txnOpsMaxDefault, options.nowMs ?? Date.now,
      options.log ?? ((message, error) => process.emitWarning(`${message}: ${error}`)));
    this.segments = new EtcdSegmentIndex(this.engine);
    this.topics = new EtcdTopicCatalog(this.engine, this.segments);
    this.leadership = new EtcdPartitionLeadership(this.engine);
    this.producers = new EtcdProducerIds(this.engine, options.producerIdsPerBlock ??
      etcdCoordinatorLimits.producerIdsPerBlockDefault);
    this.offsets = new EtcdGroupOffsets(this.engine);
    this.quotas = new EtcdClientQuotas(this.engine);
    this.scramCredentials = new EtcdScramCredentials(this.engine);
    this.acls = new EtcdAclStore(this.engine);
    this.transactions = new EtcdTransactionStates(this.engine);
  }

  /** Connects, creates the cluster id on first use, loads the cache and starts the watches. */
  static async open(options: EtcdMetadataOptions): Promise<EtcdMetadata> {
    const client = openEtcdClient({ hosts: options.hosts,
      callTimeoutMs: options.callTimeoutMs ?? etcdCoordinatorLimits.callTimeoutMsDefault });
    const metadata = new EtcdMetadata(client, options);
    try {
      metadata.clusterIdValue = await metadata.ensureClusterId();
      await metadata.startWatch();
    } catch (error) {
      await metadata.close();
      throw error;
    }
    return metadata;
  }

  clusterId(): string {
    assert.ok(this.clusterIdValue.length === 22, 'open() loaded the cluster id');
    return this.clusterIdValue;
  }

  /** Calls `listener` for every topic or partition change, own and other brokers'. Returns the
   *  unsubscribe function. Listeners run synchronously inside the cache update: keep them short. */
  onChange(listener: (change: MetadataChange) => void): () => void {
    return this.engine.onChange(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watch?.close();
    await this.quotas.close();
    this.client.close();
  }

  /**
   * Cache reloads after a watch failure, the newest revision the cache has seen, whether the
   * watch is up, and transactions that lost a compare (each retried): for metrics and tests.
   */
  watchStatus(): { reloads: number; revision: number; watching: boolean; conflicts: number } {
    const status = this.watch?.status() ?? { reloads: 0, revision: 0, watching: false };
    return { ...status, conflicts: this.engine.conflicts };
  }

  // Test hooks: the watch's failure paths are hard to provoke from outside.

  /** Cancels the live watches as etcd would: they end unasked, which must trigger a reload. */
  async cancelWatchForTesting(): Promise<void> {
    await this.watch?.cancelForTesting();
  }

  /** Stops watching without reloading; resumeWatchForTesting restarts from where it stopped. */
  async pauseWatchForTesting(): Promise<void> {
    await this.watch?.pauseForTesting();
  }

  /** Resumes the watch from the revision after the last one seen, as a reconnect does; if etcd
   *  compacted that revision meanwhile, the watch is refused and the cache reloads. */
  async resumeWatchForTesting(): Promise<void> {
    await this.watch?.resumeForTesting();
  }

  private async ensureClusterId(): Promise<string> {
    const key = this.engine.keys.clusterId();
    const candidate = newKafkaUuid();
    const response = await this.engine.txn([doesNotExist(key)], [putOp(key, candidate)],
      [getOp(key)]);
    const clusterId = response.succeeded ? candidate
      : rangesOf(response)[0]?.kvs[0]?.value.toString('utf8');
    assert.ok(clusterId !== undefined && clusterId.length === 22, 'cluster id is a Kafka Uuid');
    return clusterId;
  }

  /** Loads topics, partitions and ACLs into memory at one revision, then follows them (one
   *  watch stream: a watch refused after a compaction reloads all three together). */
  private async startWatch(): Promise<void> {
    const { engine, acls } = this;
    this.watch = await EtcdWatch.open(this.client,
      [{ key: engine.keys.topicsPrefix() }, { key: engine.keys.partitionsPrefix() },
        { key: engine.keys.aclsPrefix() }], {
        onSnapshot: (kvs, revision) => {
          acls.replace(kvs.filter((kv) => acls.owns(kv.key.toString('utf8'))), revision);
          engine.emit(engine.cache.replace(kvs.filter((kv) => !acls.owns(kv.key.toString('utf8'))),
            revision));
        },
        onChanges: (changes) => {
          acls.applyWatched(changes.filter((c) => acls.owns(c.key)));
          for (const c of changes) {
            if (!acls.owns(c.key)) engine.applyChange(c.key, c.modRevision, c.value);
          }
        },
      }, { log: engine.log, failedMessage: 'metadata watch failed; reloading the topic cache',
        reloadFailedMessage: 'metadata cache reload failed; retrying',
        reloadBackoffMsMax: etcdCoordinatorLimits.reloadBackoffMsMax });
  }
}
