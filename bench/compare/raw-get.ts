/**
 * The raw GET baseline of the S3 rows (issue 13, target 5): every object in the bucket read
 * whole, with the broker's own S3 client (storage/object-store/s3.ts: the same SDK, keep-alive
 * agent and socket limit), a fixed number of GETs in flight. The catch-up read of the same
 * system cannot beat this; its ratio to it is what the broker's read path costs.
 */
import { S3Store } from '../../storage/object-store/s3.js';

export interface S3Access {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RawGetResult {
  objects: number;
  /** Object bytes (segments with their framing and footers), 10^6 per MB. */
  bytes: number;
  mbPerS: number;
  inFlight: number;
}

/** As many GETs in flight as partitions the catch-up reads at once (16), each a whole object. */
const IN_FLIGHT = 16;

export async function rawGetThroughput(s3: S3Access): Promise<RawGetResult> {
  const store = new S3Store({ endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket,
    accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
  try {
    const keys: string[] = [];
    for await (const o of store.list('')) keys.push(o.key);
    let next = 0;
    let bytes = 0;
    const begin = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const body = await store.get(key);
        if (body === null) throw new Error(`raw GET: ${key} was listed and is gone`);
        bytes += body.length;
      }
    }));
    const s = (performance.now() - begin) / 1000;
    return { objects: keys.length, bytes, mbPerS: bytes / s / 1e6, inFlight: IN_FLIGHT };
  } finally {
    await store.close();
  }
}
