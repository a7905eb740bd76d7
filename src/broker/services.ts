/**
 * What handlers may call: the broker's services, assembled once in broker.ts. Handlers translate
 * wire ↔ domain; the logic lives behind these.
 */
import type { ClusterView } from '../cluster/cluster-view.js';
import type { BrokerConfig } from '../config/config.js';
import type { GroupCoordinator } from '../group/group-coordinator.js';
import type { Metadata } from '../metadata/stores.js';
import type { Metrics } from '../metrics.js';
import type { HistoryReader } from '../partition/partition-log.js';
import type { PartitionManager } from '../partition/partition-manager.js';
import type { Uploader } from '../partition/uploader.js';
import type { MemoryBudget } from './memory-budget.js';
import type { FetchSessionCache } from './fetch/fetch-sessions.js';
import type { ClientQuotas } from '../quota/client-quotas.js';
import type { Authorizer } from '../security/authorizer.js';
import type { TransactionCoordinator } from '../txn/transaction-coordinator.js';

export interface BrokerServices {
  config: BrokerConfig;
  nodeId: number;
  clusterId: string;
  /** Host and port clients are told to connect to. */
  advertised: { host: string; port: number };
  /** Brokers, controller, partition leaders and group coordinators, as this broker knows them. */
  cluster: ClusterView;
  metadata: Metadata;
  partitions: PartitionManager;
  groups: GroupCoordinator;
  /** Transactional ids coordinated here, and the checks leaders make against them. */
  transactions: TransactionCoordinator;
  uploader: Uploader;
  /** Reads of data that left the in-memory tail (object storage through the read cache). */
  history: HistoryReader;
  metrics: Metrics;
  /** Decides every request's operations on resources (allow-all without authorizerClassName). */
  authorizer: Authorizer;
  /** Bytes held for clients, broker-wide: connections are admitted against it, fetches shrink to it. */
  memory: MemoryBudget;
  /** Incremental fetch sessions (KIP-227) opened on this broker. */
  fetchSessions: FetchSessionCache;
  /** Client quotas in force (the store's table, followed) and the rates measured against them. */
  quotas: ClientQuotas;
  /** The handlers' version ranges, for ApiVersions. */
  apiVersions(): { apiKey: number; minVersion: number; maxVersion: number }[];
  /** Deletes objects that no longer hold live data (best effort; orphans are collected later). */
  deleteObjects(keys: string[]): void;
  nowMs(): number;
}
