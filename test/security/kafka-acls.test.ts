/**
 * Kafka's kafka-acls.sh (AclCommand, the Java admin client) against a broker process with the
 * authorizer on: it adds, lists and removes ACLs (CreateAcls, DescribeAcls, DeleteAcls at the
 * versions the Java client picks), and what it adds takes effect on the next request of a
 * kafkajs client. Every connection is User:ANONYMOUS until authentication lands, so the ACLs
 * name User:ANONYMOUS; allowEveryoneIfNoAclFound keeps resources without ACLs open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { expectSuccess, javaAvailable, runKafkaTool } from '../helpers/kafka-tools.js';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';

const HAVE_JAVA = javaAvailable();
const TOOL_MS = 90_000;
const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';

describe.skipIf(!HAVE_JAVA)('kafka-acls.sh against the authorizer', () => {
  let broker: BrokerProcess;
  const acls = (args: string[]) => runKafkaTool('acls',
    ['--bootstrap-server', broker.bootstrap, ...args], { timeoutMs: TOOL_MS });

  beforeAll(async () => {
    broker = await startBroker({ settings: { authorizerClassName: STANDARD_AUTHORIZER,
      allowEveryoneIfNoAclFound: true } });
  }, 60_000);
  afterAll(async () => {
    await broker?.destroy();
  });

  it('adds, lists and removes ACLs, and a DENY it adds is enforced until removed', async () => {
    const kafka = kafkaClient(broker.bootstrap);
    const producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 0 } });
    await producer.connect();
    try {
      const send = (topic: string) => producer.send({ topic, messages: [{ value: 'v' }] });
      await send('secret-orders');

      // Everyone may write and describe secret-*, but ANONYMOUS is denied writing: DENY wins.
      expectSuccess(await acls(['--add', '--allow-principal', 'User:*', '--operation', 'Write',
        '--operation', 'Describe', '--topic', 'secret-', '--resource-pattern-type', 'prefixed']),
      'add');
      expectSuccess(await acls(['--add', '--deny-principal', 'User:ANONYMOUS', '--operation',
        'Write', '--topic', 'secret-', '--resource-pattern-type', 'prefixed']), 'add');
      expectSuccess(await acls(['--add', '--allow-principal', 'User:alice', '--allow-host',
        '10.0.0.1', '--operation', 'Read', '--operation', 'Describe', '--group', 'auditors']),
      'add');
      const listed = expectSuccess(await acls(['--list']), 'list').stdout;
      expect(listed).toMatch(
        /ResourcePattern\(resourceType=TOPIC, name=secret-, patternType=PREFIXED\)/);
      expect(listed).toMatch(
        /principal=User:ANONYMOUS, host=\*, operation=WRITE, permissionType=DENY/);
      expect(listed).toMatch(
        /principal=User:\*, host=\*, operation=WRITE, permissionType=ALLOW/);
      expect(listed).toMatch(
        /ResourcePattern\(resourceType=GROUP, name=auditors, patternType=LITERAL\)/);
      expect(listed).toMatch(
        /principal=User:alice, host=10\.0\.0\.1, operation=READ, permissionType=ALLOW/);
      expect(listed).toMatch(
        /principal=User:alice, host=10\.0\.0\.1, operation=DESCRIBE, permissionType=ALLOW/);
      const topicOnly = expectSuccess(await acls(['--list', '--topic', 'secret-orders',
        '--resource-pattern-type', 'match']), 'list').stdout;
      expect(topicOnly).toMatch(/name=secret-, patternType=PREFIXED/);
      expect(topicOnly).not.toMatch(/auditors/);

      await expect(send('secret-orders')).rejects.toThrow(/Not authorized to access topics/);
      // The broker's log reaches us through a pipe, maybe after the client's error.
      const denial = new RegExp(
        '"authorization":"denied","principal":"User:ANONYMOUS".*"api":"Produce".*'
        + '"resourceType":"TOPIC","resource":"secret-orders","operation":"WRITE"');
      await waitFor('the denial log line', () => denial.test(broker.output()), 10_000);
      await send('open-orders'); // no ACL applies to it

      expectSuccess(await acls(['--remove', '--force', '--deny-principal', 'User:ANONYMOUS',
        '--operation', 'Write', '--topic', 'secret-', '--resource-pattern-type', 'prefixed']),
      'remove');
      const after = expectSuccess(await acls(['--list']), 'list').stdout;
      expect(after).not.toMatch(/permissionType=DENY/);
      expect(after).toMatch(/name=secret-, patternType=PREFIXED/);
      expect(after).toMatch(/auditors/);
      await send('secret-orders');
    } finally {
      await producer.disconnect();
    }
  }, 300_000);
});
