/**
 * ACLs in a three-broker cluster (etcd): an ACL created through broker 1 is enforced by broker 3
 * once broker 3's watch delivers it, and a deletion through broker 2 likewise; the delays are
 * measured and printed (Kafka peers take 30-60 s; the issue asks for within a second).
 * Connections are User:ANONYMOUS; allowEveryoneIfNoAclFound lets it administer ACLs (no ACL
 * applies to the cluster resource) and see topics no ACL applies to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_INFO } from '../../protocol/generated/errors.js';
import { AclOperation as Op, AclPermission, PatternType,
  ResourceType as R } from '../../src/security/acl.js';
import { AUTHORIZER_CLASS_NAMES } from '../../src/security/authorizer.js';
import { type TestCluster, startCluster } from '../helpers/cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { codecOf, type Send } from './matrix-harness.js';
import { HANDLERS } from '../../src/broker/handlers/index.js';
import { decodeResponseFrame } from '../../protocol/frame.js';

const ENFORCED_MS_MAX = 1_000;
const name = (code: number) => ERROR_INFO.get(code)?.name ?? String(code);

async function connect(port: number): Promise<{ send: Send; close(): void }> {
  const client = await RawClient.connect(port);
  const send: Send = async (apiName, version, request) => {
    const codec = await codecOf(apiName);
    const apiKey = HANDLERS.find((h) => h.name === apiName)!.apiKey;
    client.send(apiKey, version, (w) => codec.encodeRequest(w, version, request));
    const frame = await client.readFrame();
    if (frame === null) throw new Error(`${apiName}: connection closed`);
    return codec.decodeResponse(decodeResponseFrame(apiKey, version, frame).body, version);
  };
  return { send, close: () => client.close() };
}

describe('ACLs across a cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster(3, { authorizerClassName: AUTHORIZER_CLASS_NAMES[0]!,
      allowEveryoneIfNoAclFound: true });
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('enforces on broker 3 an ACL created through broker 1 within a second, and its removal',
    async () => {
    const [b1, b2, b3] = await Promise.all(cluster.brokers.map((b) => connect(b.port)));
    try {
      const created = await b1!.send('CreateTopics', 5, { topics: [{ name: 'guarded',
        numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000,
      validateOnly: false });
      expect(name(created.topics[0].errorCode)).toBe('NONE');
      const describeOn3 = async () => name((await b3!.send('Metadata', 9, {
        topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'guarded' }],
          allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false })).topics[0].errorCode);
      const until = async (want: string) => {
        const startMs = performance.now();
        while (await describeOn3() !== want) {
          if (performance.now() - startMs > 10_000) {
            throw new Error(`broker 3 never answered ${want}`);
          }
        }
        return performance.now() - startMs;
      };
      await until('NONE'); // broker 3 knows the topic

      const deny = { resourceType: R.TOPIC, resourceName: 'guard',
        resourcePatternType: PatternType.PREFIXED,
        principal: 'User:ANONYMOUS', host: '*', operation: Op.DESCRIBE,
          permissionType: AclPermission.DENY };
      const res = await b1!.send('CreateAcls', 3, { creations: [deny] });
      expect(name(res.results[0].errorCode)).toBe('NONE');
      const enforcedMs = await until('TOPIC_AUTHORIZATION_FAILED');

      const removed = await b2!.send('DeleteAcls', 3, { filters: [{ resourceTypeFilter: R.TOPIC,
        resourceNameFilter: 'guard', patternTypeFilter: PatternType.PREFIXED, principalFilter: null,
        hostFilter: null, operation: Op.ANY, permissionType: AclPermission.ANY }] });
      expect(removed.filterResults[0].matchingAcls).toHaveLength(1);
      const liftedMs = await until('NONE');
      console.log('ACL created through broker 1 enforced by broker 3 after '
        + `${enforcedMs.toFixed(1)} ms; `
        + `deleted through broker 2, lifted on broker 3 after ${liftedMs.toFixed(1)} ms`);
      expect(enforcedMs).toBeLessThan(ENFORCED_MS_MAX);
      expect(liftedMs).toBeLessThan(ENFORCED_MS_MAX);
    } finally {
      for (const c of [b1, b2, b3]) c?.close();
    }
  }, 120_000);
});
