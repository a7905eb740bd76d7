/**
 * The object store engines the broker suites run against: the local folder (embedded default)
 * and S3 (a real MinIO on loopback). Each variant yields the broker settings that select it.
 */
import { type BrokerProcess, startBroker } from './broker-process.js';
import { freePort } from './ports.js';
import { type S3Server, startS3Server } from './s3-server.js';

export interface StoreVariant {
  name: 'local' | 's3';
  /** Starts what the variant needs; returns broker settings and a cleanup. */
  setup(): Promise<{ settings: Record<string, string | number | boolean>; teardown(): Promise<void> }>;
}

let bucketCounter = 0;

export const STORE_VARIANTS: StoreVariant[] = [
  { name: 'local', setup: async () => ({ settings: {}, teardown: async () => {} }) },
  {
    name: 's3',
    setup: async () => {
      const s3: S3Server = await startS3Server();
      return {
        settings: {
          objectStore: 's3', s3Endpoint: s3.endpoint, s3Region: s3.region,
          s3Bucket: `ledgerstream-test-${process.pid}-${++bucketCounter}`,
          s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey, s3CreateBucket: true,
        },
        teardown: () => s3.stop(),
      };
    },
  },
];

/** A broker on a variant's store with /metrics on a free port; `stop` ends both. */
export interface VariantBroker {
  broker: BrokerProcess;
  metricsPort: number;
  stop(): Promise<void>;
}

export async function startVariantBroker(variant: StoreVariant,
  settings: Record<string, string | number | boolean>): Promise<VariantBroker> {
  const env = await variant.setup();
  const metricsPort = await freePort();
  const broker = await startBroker({ settings: { ...env.settings, metricsPort, ...settings } });
  return { broker, metricsPort, stop: async () => {
    await broker.destroy();
    await env.teardown();
  } };
}

/** One sample of a broker's /metrics: `name{labels}`, 0 when it has none yet. */
export async function metricValue(metricsPort: number, name: string,
  labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  // A series without labels is printed as `name value`.
  const series = labels === '' ? `${name} ` : `${name}{${labels}}`;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
