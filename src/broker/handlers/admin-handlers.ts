/**
 * The administrative APIs (SASL refusal, records, epochs, ACLs, configs, partitions, client
 * quotas, cluster and producers), in key order; handlers/index.ts merges them into the registry.
 */
import type { ApiHandler } from '../handler.js';
import { handler as saslHandshake } from './17-sasl-handshake.js';
import { handler as deleteRecords } from './21-delete-records.js';
import { handler as offsetForLeaderEpoch } from './23-offset-for-leader-epoch.js';
import { handler as describeAcls } from './29-describe-acls.js';
import { handler as createAcls } from './30-create-acls.js';
import { handler as deleteAcls } from './31-delete-acls.js';
import { handler as describeConfigs } from './32-describe-configs.js';
import { handler as alterConfigs } from './33-alter-configs.js';
import { handler as createPartitions } from './37-create-partitions.js';
import { handler as incrementalAlterConfigs } from './44-incremental-alter-configs.js';
import { handler as describeClientQuotas } from './48-describe-client-quotas.js';
import { handler as alterClientQuotas } from './49-alter-client-quotas.js';
import { handler as describeCluster } from './60-describe-cluster.js';
import { handler as describeProducers } from './61-describe-producers.js';

export const adminHandlers: readonly ApiHandler[] = [
  saslHandshake, deleteRecords, offsetForLeaderEpoch, describeAcls, createAcls, deleteAcls,
  describeConfigs, alterConfigs, createPartitions, incrementalAlterConfigs, describeClientQuotas,
  alterClientQuotas, describeCluster, describeProducers,
];
