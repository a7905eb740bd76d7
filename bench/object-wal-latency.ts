/**
 * Object-WAL produce latency at a fixed rate (issue 13 target 4), on its own and with a store as
 * slow as S3: one broker in walMode=object on a loopback MinIO, optionally behind a proxy that
 * delays every MinIO answer (bench/lib/latency-proxy.ts), and Kafka's ProducerPerformance with
 * the Java producer's defaults, once per acks setting. It prints, per run, the producer's
 * latency percentiles and, from the broker's /metrics over the run, its PUTs a second and its
 * upload (PUT + commit) latency. A benchmark, not a test: it asserts nothing.
 *
 * Run with `npm run bench:object-wal` (compiles first). Flags (or BENCH_<NAME>):
 * --put-delay-ms 0 (added to every MinIO answer), --rate 5000 (records/s), --seconds 10,
 * --partitions 16, --puts-per-second-max 10 (the broker's --object-wal-puts-per-second-max).
 *
 * Reading the figures: the PUTs a second are over the tool's whole run, JVM start included (about
 * a second), so 10 s at 10 PUTs/s shows about 9. With the Java producer's defaults the window of
 * 5 requests in flight is full a few ms after each acknowledgement, so a record waits for the
 * next acknowledgement in the producer, then for the next PUT: about 1.5 PUT gaps at p50.
 */
import { startBroker } from '../test/helpers/broker-process.js';
import { freePort } from '../test/helpers/ports.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { producerPerformance } from './compare/java-perf.js';
import { kafkaFor } from './lib/kafkajs-load.js';
import { delta, histogramWindowMs, scrape, storeRequestRates } from './lib/broker-metrics.js';
import { numericOptions } from './lib/flags.js';
import { startLatencyProxy } from './lib/latency-proxy.js';
import { log, machineSummary, revision } from './lib/run-info.js';

const OPTIONS = { putDelayMs: 0, rate: 5000, seconds: 10, partitions: 16, putsPerSecondMax: 10 };
type Options = typeof OPTIONS;
const RECORD_BYTES = 1024;
const UPLOAD = 'ledgerstream_upload_seconds';

function options(): Options {
  return numericOptions(OPTIONS);
}

async function main(): Promise<void> {
  const o = options();
  log(`object-WAL latency, ${revision()}, ${machineSummary()}: ${JSON.stringify(o)}`);
  const s3 = await startS3Server();
  const proxy = o.putDelayMs > 0 ? await startLatencyProxy(s3.endpoint, o.putDelayMs) : null;
  const metricsPort = await freePort();
  const broker = await startBroker({ settings: { walMode: 'object', objectStore: 's3',
    s3Endpoint: proxy?.endpoint ?? s3.endpoint, s3Region: s3.region, s3Bucket: 'object-wal',
    s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey, s3CreateBucket: true,
    objectWalPutsPerSecondMax: o.putsPerSecondMax, metricsPort } });
  try {
    const admin = kafkaFor(broker.bootstrap, 'bench-admin').admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: ['warmup', 'acks-all', 'acks-1']
      .map((topic) => ({ topic, numPartitions: o.partitions })) });
    await admin.disconnect();
    await producerPerformance({ bootstrap: broker.bootstrap, topic: 'warmup', records: 10_000,
      recordBytes: RECORD_BYTES, throughput: -1, acks: 'all' });
    for (const acks of ['all', '1'] as const) {
      const before = await scrape(metricsPort);
      const startMs = Date.now();
      const r = await producerPerformance({ bootstrap: broker.bootstrap, topic: `acks-${acks}`,
        records: o.rate * o.seconds, recordBytes: RECORD_BYTES, throughput: o.rate, acks });
      const wallS = (Date.now() - startMs) / 1000;
      const after = await scrape(metricsPort);
      const uploads = delta(after, before, `${UPLOAD}_count`);
      const uploadMeanMs = delta(after, before, `${UPLOAD}_sum`) / uploads * 1000;
      const [uploadP99Ms] = histogramWindowMs(after, before, UPLOAD, [0.99]);
      log(`acks=${acks}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, p99.9 ${r.p999Ms} ms, ` +
        `${r.recordsPerS.toFixed(0)} records/s; ` +
        `${storeRequestRates(after, before, wallS).putsPerS.toFixed(2)} PUTs/s; upload (PUT + ` +
        `commit) mean ${uploadMeanMs.toFixed(1)} ms, p99 ≤ ${uploadP99Ms} ms`);
    }
  } finally {
    await broker.stop();
    await broker.destroy();
    await proxy?.close();
    await s3.stop();
  }
}

await main();
