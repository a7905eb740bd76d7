/**
 * Runs every store's contract suite against one engine: each suite in its own describe block,
 * each test on fresh, empty metadata from `makeHarness`. An engine's test file calls this once
 * per configuration (a SQLite file, SQLite in memory, etcd).
 */
import { afterEach, beforeEach, describe, type TestContext } from 'vitest';
import type { Metadata } from '../../../src/metadata/stores.js';
import { clientQuotasContract } from './client-quotas.contract.js';
import { aclStoreContract } from './acl-store.contract.js';
import { durabilityContract } from './durability.contract.js';
import type { Current, MetadataHarness, Reopen } from './fixtures.js';
import { groupOffsetsContract } from './group-offsets.contract.js';
import { partitionLeadershipContract } from './partition-leadership.contract.js';
import { producerIdsContract } from './producer-ids.contract.js';
import { scramCredentialsContract } from './scram-credentials.contract.js';
import { segmentIndexContract } from './segment-index.contract.js';
import { topicCatalogContract } from './topic-catalog.contract.js';
import { transactionStatesContract } from './transactions.contract.js';

/** The contract suites, by the store (or, last, the stores together) they hold to account. */
const contracts: [string, (current: Current, reopen: Reopen) => void][] = [
  ['TopicCatalog', topicCatalogContract],
  ['PartitionLeadership', (current) => partitionLeadershipContract(current)],
  ['SegmentIndex', (current) => segmentIndexContract(current)],
  ['ProducerIds', producerIdsContract],
  ['GroupOffsets', (current) => groupOffsetsContract(current)],
  ['ClientQuotaStore', clientQuotasContract],
  ['ScramCredentials', scramCredentialsContract],
  ['AclStore', aclStoreContract],
  ['TransactionStates', transactionStatesContract],
  ['Metadata (every store, reopened)', durabilityContract],
];

export function runMetadataContracts(engine: string,
  makeHarness: () => Promise<MetadataHarness>): void {
  for (const [store, contract] of contracts) {
    describe(`${store} contract: ${engine}`, () => {
      let h: MetadataHarness;
      let c: Metadata;
      beforeEach(async () => {
        h = await makeHarness();
        c = h.metadata;
      });
      afterEach(async () => {
        await h.cleanup();
      });
      // Tests that reopen replace `c`; the getter keeps every test looking at the live instance.
      const current: Current = () => ({ c, h });
      const reopen = async (ctx: TestContext): Promise<Metadata> => {
        if (h.reopen === undefined) return ctx.skip(`${engine} has no durable storage to reopen`);
        c = await h.reopen();
        return c;
      };
      contract(current, reopen);
    });
  }
}
