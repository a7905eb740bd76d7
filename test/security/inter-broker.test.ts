/**
 * Brokers talk to each other through `inter.broker.listener.name` with that listener's security:
 * a three-broker cluster (etcd) whose only listeners are SASL_SSL with required client
 * certificates and ACLs on. Brokers log in as User:admin (a super user, as in Kafka) with
 * SCRAM-SHA-512 from `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config`, presenting their
 * keystore certificate. A transaction over partitions led by every broker commits, so its markers
 * went from the coordinator to the other leaders as WriteTxnMarkers. The peers' liveness probes
 * connect there with TLS too. Misconfigured inter-broker settings stop start-up with one line
 * naming the setting.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestCluster, freePort, saveBrokerLogs, startCluster } from '../helpers/cluster.js';
import { waitForStableLeaders } from '../helpers/kafka-client.js';
import { readValues } from '../helpers/read-isolated.js';
import { ADMIN, type Certificates, kafkajsClient, makeCertificates } from '../helpers/security.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/src/cli.js');
const SCRAM_LOGIN = 'org.apache.kafka.common.security.scram.ScramLoginModule required ' +
  `username="${ADMIN.user}" password="${ADMIN.password}";`;

let certs: Certificates;
let cluster: TestCluster;

function clusterSettings(certs: Certificates) {
  return {
    saslEnabledMechanisms: 'SCRAM-SHA-512',
    scramBootstrapUsers: `SCRAM-SHA-512=[name=${ADMIN.user},password=${ADMIN.password}]`,
    sslKeystoreLocation: certs.serverPem, sslTruststoreLocation: certs.caCert,
    sslClientAuth: 'required',
    authorizerClassName: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    superUsers: `User:${ADMIN.user}`,
    interBrokerListenerName: 'SASL_SSL', saslMechanismInterBrokerProtocol: 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': SCRAM_LOGIN,
  };
}

const metricsPorts: number[] = [];

beforeAll(async () => {
  certs = await makeCertificates();
  cluster = await startCluster(3, clusterSettings(certs), async () => {
    metricsPorts.push(await freePort());
    return { listeners: `SASL_SSL://127.0.0.1:${await freePort()}`,
      metricsPort: metricsPorts.at(-1)! };
  });
}, 180_000);
afterAll(async () => {
  await cluster?.destroy();
  await certs?.cleanup();
});

function adminClient(bootstrap: string) {
  return kafkajsClient(bootstrap, {
    sasl: { mechanism: 'scram-sha-512', username: ADMIN.user, password: ADMIN.password },
    ssl: { ca: [readFileSync(certs.caCert, 'utf8')], key: readFileSync(certs.clientKey, 'utf8'),
      cert: readFileSync(certs.clientCert, 'utf8') } });
}

/** Connections a broker holds on its SASL_SSL listener (counted once TLS is established). */
async function saslSslConnections(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`,
    { signal: AbortSignal.timeout(5000) })).text();
  const m = /^ledgerstream_listener_connections\{listener="SASL_SSL"\} (\d+)$/m.exec(text);
  return Number(m?.[1] ?? 0);
}

it('probes its peers\' liveness over TLS on the inter-broker listener', async () => {
  // Before any client: the two peers' probes are each broker's only connections. A probe without
  // TLS would never finish a handshake, so never count (and fail it as an authentication).
  for (const port of metricsPorts) {
    await expect.poll(() => saslSslConnections(port), { timeout: 20_000 }).toBe(2);
  }
  const refusals = cluster.brokers.flatMap((b) => b.output().split('\n'))
    .filter((l) => l.includes('"authentication":"failed"'));
  expect(refusals).toEqual([]);
}, 60_000);

it('commits a transaction whose markers cross brokers over SASL_SSL', async () => {
  const kafka = adminClient(cluster.bootstrap[0]!);
  const admin = kafka.admin();
  await admin.connect();
  const topic = 'inter-broker-txn';
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
  await waitForStableLeaders(admin, topic);
  const leaders = new Set((await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!
    .partitions.map((p) => p.leader));
  await admin.disconnect();
  expect(leaders.size).toBe(3); // whichever broker coordinates, others lead some partitions
  const producer = kafka.producer({ transactionalId: 'inter-broker-tx', idempotent: true,
    maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  await txn.send({ topic, messages: Array.from({ length: 12 }, (_, i) =>
    ({ partition: i % 6, value: `committed-${i}` })) });
  await txn.commit();
  await producer.disconnect();
  const values = await readValues(kafka, topic, false, 12);
  if (values.length !== 12) console.log(await saveBrokerLogs(cluster.brokers, 'inter-broker'));
  expect(values).toEqual(Array.from({ length: 12 }, (_, i) => `committed-${i}`).sort());
  const refused = cluster.brokers.flatMap((b) => b.output().split('\n'))
    .filter((l) => l.includes('transaction markers'));
  expect(refused).toEqual([]);
}, 120_000);

/** The one line a broker prints when its settings stop start-up. */
async function startupRefusal(extra: string[]): Promise<string[]> {
  const shared = cluster.sharedDir;
  const args = [CLI, 'start', '--node-id', '9', '--coordinator', 'etcd', '--etcd-endpoints',
    cluster.etcd.endpoint, '--wal-mode', 'shared', '--shared-wal-dir', path.join(shared, 'wal'),
    '--object-store-dir', path.join(shared, 'objects'), '--data-dir', path.join(shared, 'b9'),
    '--listeners', `SASL_SSL://127.0.0.1:${await freePort()}`,
    '--sasl-enabled-mechanisms', 'SCRAM-SHA-512', '--ssl-keystore-location', certs.serverPem,
    '--ssl-truststore-location', certs.caCert, ...extra];
  const failed = await promisify(execFile)(process.execPath, args, { timeout: 30_000 })
    .then(() => ({ stderr: 'started' }), (e: unknown) => e as { stderr: string });
  return failed.stderr.trim().split('\n');
}

it('stops start-up with one line naming a wrong inter-broker setting', async () => {
  expect(await startupRefusal(['--inter-broker-listener-name', 'INTERNAL'])).toEqual([
    'ledgerstream: invalid setting interBrokerListenerName: no listener is named INTERNAL ' +
      '(listeners: SASL_SSL)']);
  expect(await startupRefusal([])).toEqual(['ledgerstream: invalid setting ' +
    'interBrokerListenerName: brokers of a cluster talk through one listener: none is ' +
    'PLAINTEXT (Kafka\'s default security.inter.broker.protocol), so name one of SASL_SSL']);
  expect(await startupRefusal(['--inter-broker-listener-name', 'SASL_SSL',
    '--sasl.mechanism.inter.broker.protocol', 'SCRAM-SHA-512'])).toEqual([
    'ledgerstream: invalid setting listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config: the ' +
      'broker logs in to its peers\' SASL_SSL listener with this: …LoginModule required ' +
      'username="…" password="…";']);
  expect(await startupRefusal(['--security.inter.broker.protocol', 'SASL_SSL',
    '--sasl.mechanism.inter.broker.protocol', 'SCRAM-SHA-512',
    '--listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config',
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="a" ' +
      'password="b";'])).toEqual([
    'ledgerstream: invalid setting listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config: ' +
      'SCRAM-SHA-512 logs in with org.apache.kafka.common.security.scram.ScramLoginModule, not ' +
      'org.apache.kafka.common.security.plain.PlainLoginModule']);
}, 120_000);
