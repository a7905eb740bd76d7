/**
 * Security fixtures for tests: a throwaway CA with server and client certificates made by openssl
 * in a temp folder, a broker with one listener per security protocol on free ports, and client
 * settings for kafkajs, kcat (librdkafka) and Kafka's Java client and tools.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { type BrokerOptions, type BrokerProcess, startBroker } from './broker-process.js';
import { freePort } from './ports.js';

const execFileP = promisify(execFile);

export interface Certificates {
  dir: string;
  caCert: string;
  /** Server key and certificate in one PEM file (a Kafka PEM keystore). */
  serverPem: string;
  /** Client key and certificate of CN=alice,OU=agents,O=ledger, in one PEM file. */
  clientPem: string;
  clientKey: string;
  clientCert: string;
  /** A client certificate from a CA the broker does not trust. */
  strangerPem: string;
  cleanup(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await execFileP('openssl', args, { cwd: dir });
}

async function signed(dir: string, name: string, subject: string, ca: string,
  san?: string): Promise<string> {
  await openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out',
    `${name}.csr`, '-subj', subject]);
  const ext = path.join(dir, `${name}.ext`);
  await writeFile(ext, san === undefined ? 'basicConstraints=CA:FALSE\n' :
    `subjectAltName=${san}\n`);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey',
    `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', '2', '-extfile', ext]);
  const pem = path.join(dir, `${name}.pem`);
  await writeFile(pem, (await readFile(path.join(dir, `${name}.key`), 'utf8')) +
    (await readFile(path.join(dir, `${name}.crt`), 'utf8')));
  return pem;
}

export async function makeCertificates(): Promise<Certificates> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-certs-'));
  for (const ca of ['ca', 'other-ca']) {
    await openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`,
      '-out', `${ca}.crt`,
      '-days', '2', '-subj', `/CN=${ca}`]);
  }
  const serverPem = await signed(dir, 'server', '/CN=localhost', 'ca',
    'IP:127.0.0.1,DNS:localhost');
  const clientPem = await signed(dir, 'client', '/O=ledger/OU=agents/CN=alice', 'ca');
  const strangerPem = await signed(dir, 'stranger', '/CN=mallory', 'other-ca');
  return { dir, caCert: path.join(dir, 'ca.crt'), serverPem, clientPem, strangerPem,
    clientKey: path.join(dir, 'client.key'), clientCert: path.join(dir, 'client.crt'),
    cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Signs a new server certificate (same name, new key and serial) and swaps it into serverPem. */
export async function renewServerCertificate(certs: Certificates): Promise<void> {
  const fresh = await signed(certs.dir, 'server-renewed', '/CN=localhost', 'ca',
    'IP:127.0.0.1,DNS:localhost');
  const { rename } = await import('node:fs/promises');
  await rename(fresh, certs.serverPem);
}

export interface SecureBroker {
  broker: BrokerProcess;
  /** host:port of each listener, by protocol name (PLAINTEXT, SASL_PLAINTEXT, SASL_SSL, SSL). */
  address: Record<'PLAINTEXT' | 'SASL_PLAINTEXT' | 'SASL_SSL' | 'SSL', string>;
}

export const ADMIN = { user: 'admin', password: 'admin-secret' };
export const ALICE = { user: 'alice', password: 'alice-secret' };

/** A broker with all four listeners; admin and alice exist as SCRAM-SHA-256 and -512 users. */
export async function startSecureBroker(certs: Certificates, settings: BrokerOptions['settings'] =
  {},
  options: Omit<BrokerOptions, 'settings'> = {}): Promise<SecureBroker> {
  const [p1, p2, p3, p4] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const users = [ADMIN, ALICE].flatMap((u) => ['256', '512'].map((bits) =>
    `SCRAM-SHA-${bits}=[name=${u.user},password=${u.password}]`)).join(' ');
  const broker = await startBroker({ ...options, settings: {
    listeners: `PLAINTEXT://127.0.0.1:${p1},SASL_PLAINTEXT://127.0.0.1:${p2},SASL_SSL://127.0.0.1:${p3},SSL://127.0.0.1:${p4}`,
    saslEnabledMechanisms: 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    scramBootstrapUsers: users,
    sslKeystoreLocation: certs.serverPem,
    sslTruststoreLocation: certs.caCert,
    sslClientAuth: 'requested',
    sslPrincipalMappingRules: 'RULE:^CN=([^,]+),OU=agents,.*$/$1/L,DEFAULT',
    ...settings,
  } });
  return { broker, address: { PLAINTEXT: `127.0.0.1:${p1}`, SASL_PLAINTEXT: `127.0.0.1:${p2}`,
    SASL_SSL: `127.0.0.1:${p3}`, SSL: `127.0.0.1:${p4}` } };
}

export type KafkajsMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

/** A kafkajs client; `sasl` and `ssl` as kafkajs takes them. */
export function kafkajsClient(bootstrap: string, extra: Pick<KafkaConfig, 'sasl' | 'ssl'>): Kafka {
  return new Kafka({ clientId: 'security-test', brokers: [bootstrap], logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 }, ...extra });
}

/** Java client properties for a listener, as an operator writes them. */
export function javaClientProperties(protocol: 'SASL_PLAINTEXT' | 'SASL_SSL' | 'SSL',
  certs: Certificates,
  login?: { mechanism: string; user: string; password: string }): string {
  const lines = [`security.protocol=${protocol}`];
  if (protocol !== 'SASL_PLAINTEXT') lines.push('ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.caCert}`);
  if (protocol === 'SSL') lines.push('ssl.keystore.type=PEM',
    `ssl.keystore.location=${certs.clientPem}`);
  if (login !== undefined) {
    const module = login.mechanism === 'PLAIN' ?
      'org.apache.kafka.common.security.plain.PlainLoginModule'
      : 'org.apache.kafka.common.security.scram.ScramLoginModule';
    lines.push(`sasl.mechanism=${login.mechanism}`,
      `sasl.jaas.config=${module} required username="${login.user}" password="${login.password}";`);
  }
  return `${lines.join('\n')}\n`;
}
