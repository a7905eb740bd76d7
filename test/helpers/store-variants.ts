/**
 * The object store engines the broker suites run against: the local folder (embedded default)
 * and S3 (a real MinIO on loopback). Each variant yields the broker settings that select it.
 */
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
