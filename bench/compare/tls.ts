/**
 * The TLS scenario of the side-by-side benchmark (issue 10): what TLS costs each broker. The
 * broker serves an SSL listener beside its PLAINTEXT one, Kafka and Ledgerstream with the same
 * certificates (a throwaway CA and a server certificate for 127.0.0.1, made by openssl through
 * test/helpers/security.ts), and Kafka's own tools reach it with security.protocol=SSL:
 * server authentication only, no client certificate (ssl.client.auth=none, Kafka's default).
 *
 * After a system's plaintext workloads, on the systems --tls-systems names:
 *   warm-up        ProducerPerformance over TLS to a throw-away topic (JIT of the TLS paths);
 *   produce max    16 partitions, acks=-1, --max-records records as fast as the producer goes;
 *   produce fixed  16 partitions, acks=-1, at --rate records/s for --fixed-s seconds (latency);
 *   consume        ConsumerPerformance reads the max run's topic right after it was written.
 * The report puts each figure beside the plaintext run of the same workload.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Certificates, makeCertificates } from '../../test/helpers/security.js';
import { producerPerformance } from './java-perf.js';
import { type ConsumeRun, consumeRun, produceRun, type ProduceRun, produceWhat,
  type Step } from './workloads.js';

/** The certificates both brokers serve and the tools' client properties file. */
export interface BenchTls {
  certs: Certificates;
  /** Java client properties (security.protocol=SSL, the CA as a PEM truststore). */
  clientConfig: string;
}

export async function benchTls(): Promise<BenchTls> {
  const certs = await makeCertificates();
  const clientConfig = path.join(certs.dir, 'client-ssl.properties');
  await writeFile(clientConfig, ['security.protocol=SSL', 'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.caCert}`, ''].join('\n'));
  return { certs, clientConfig };
}

/** A Ledgerstream broker's settings for a PLAINTEXT and an SSL listener on these ports. */
export function ledgerstreamTlsSettings(tls: BenchTls, port: number, sslPort: number):
  Record<string, string> {
  return { listeners: `PLAINTEXT://127.0.0.1:${port},SSL://127.0.0.1:${sslPort}`,
    sslKeystoreLocation: tls.certs.serverPem, sslTruststoreLocation: tls.certs.caCert };
}

export interface TlsResults {
  produceMax: ProduceRun;
  produceFixed: ProduceRun;
  consume: ConsumeRun;
}

/** The TLS runs against the system's SSL listener; `st` is the system's plaintext step. */
export async function tlsRuns(st: Step): Promise<TlsResults> {
  const { system, s } = st;
  if (!system.tls) throw new Error(`${system.id} was started without an SSL listener`);
  const tlsStep: Step = { ...st, connection: system.tls, topic: (what) => st.topic(`tls-${what}`) };
  st.log(`${system.id}: TLS warm-up`);
  await system.createTopic(tlsStep.topic('warmup'), 16);
  await producerPerformance({ ...system.tls, topic: tlsStep.topic('warmup'),
    records: s.warmupRecords, recordBytes: s.recordBytes, throughput: -1, acks: 'all' });
  const produceMax = await produceRun(tlsStep, 'max', 16, 'all', 'TLS produce max 16p acks=all');
  const produceFixed = await produceRun(tlsStep, 'fixed', 16, 'all',
    'TLS produce fixed 16p acks=all');
  st.log(`${system.id}: TLS consume ${s.maxRecords} records just written`);
  const consume = await consumeRun(tlsStep, produceWhat('max', 16, 'all'),
    `${tlsStep.topic('hot')}-group`, 'TLS consume just written');
  return { produceMax, produceFixed, consume };
}
