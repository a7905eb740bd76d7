/**
 * SCRAM users in a three-broker cluster (etcd coordinator): a user created through broker 1 —
 * with kafka-configs.sh, and with a bare AlterUserScramCredentials — logs in at broker 3. The
 * delay from the created answer to broker 3's first successful login is printed (credentials are
 * read from etcd at each login, so it is one etcd read).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { type TestCluster, freePort, startCluster } from '../helpers/cluster.js';
import { expectSuccess, javaAvailable, runKafkaTool } from '../helpers/kafka-tools.js';
import { RawClient } from '../helpers/raw-client.js';
import { alterScramUser, scramLogin } from '../helpers/sasl-client.js';
import { kafkajsClient } from '../helpers/security.js';

const HAVE_JAVA = javaAvailable();
let cluster: TestCluster;
const ports = new Map<number, { plaintext: number; sasl: number }>();

beforeAll(async () => {
  cluster = await startCluster(3, { saslEnabledMechanisms: 'SCRAM-SHA-512' }, async (nodeId) => {
    const p = { plaintext: await freePort(), sasl: await freePort() };
    ports.set(nodeId, p);
    return { listeners: `PLAINTEXT://127.0.0.1:${p.plaintext},SASL_PLAINTEXT://127.0.0.1:${p.sasl}` };
  });
}, 180_000);
afterAll(async () => {
  await cluster?.destroy();
});

/** Logs in at broker 3 until it works; the milliseconds that took. */
async function msUntilLoginAtBroker3(user: string, password: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const c = await RawClient.connect(ports.get(3)!.sasl);
    const res = await scramLogin(c, 'SCRAM-SHA-512', user, password);
    c.close();
    if (res?.errorCode === ErrorCode.NONE) return performance.now() - started;
    expect(performance.now() - started).toBeLessThan(10_000);
  }
}

it('a user created through broker 1 logs in at broker 3', async () => {
  const answer = await alterScramUser(ports.get(1)!.plaintext, 'erin', 'SCRAM-SHA-512',
    'erin-secret');
  expect(answer.results[0]!.errorCode).toBe(ErrorCode.NONE);
  const ms = await msUntilLoginAtBroker3('erin', 'erin-secret');
  console.log(`SCRAM user created through broker 1 (AlterUserScramCredentials) logged in at ` +
    `broker 3 after ${ms.toFixed(1)} ms`);
  // Metadata on a SASL connection names every broker's SASL port (from its registration), so a
  // producer reaches the leaders on other brokers through the same listener.
  const kafka = kafkajsClient(`127.0.0.1:${ports.get(3)!.sasl}`,
    { sasl: { mechanism: 'scram-sha-512', username: 'erin', password: 'erin-secret' } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'spread', numPartitions: 6 }],
    waitForLeaders: true });
  const brokers = (await admin.describeCluster()).brokers;
  await admin.disconnect();
  expect(brokers.map((b) => b.port).sort()).toEqual([...ports.values()].map((p) => p.sasl).sort());
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'spread', acks: -1, messages: Array.from({ length: 12 }, (_, i) =>
    ({ key: `k${i}`, value: 'v' })) });
  await producer.disconnect();
}, 60_000);

it.skipIf(!HAVE_JAVA)('kafka-configs.sh through broker 1; broker 3 enforces it', async () => {
  expectSuccess(await runKafkaTool('configs', ['--bootstrap-server',
    `127.0.0.1:${ports.get(1)!.plaintext}`, '--alter',
    '--add-config', 'SCRAM-SHA-512=[password=dora-secret]', '--entity-type', 'users',
      '--entity-name', 'dora'], { timeoutMs: 90_000 }));
  const ms = await msUntilLoginAtBroker3('dora', 'dora-secret');
  console.log(`SCRAM user created by kafka-configs.sh through broker 1 logged in at broker 3 ` +
    `after ${ms.toFixed(1)} ms`);
  const c = await RawClient.connect(ports.get(3)!.sasl);
  expect((await scramLogin(c, 'SCRAM-SHA-512', 'dora',
    'not-hers'))!.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
}, 120_000);
