import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The benchmark harness's end-to-end run (about 4 minutes: Kafka, MinIO, a cluster) keeps the
    // default run within its 15 minutes on 2 cores; `npm run test:bench` runs it (CI does too).
    exclude: [...configDefaults.exclude, ...(process.env['RUN_BENCH_HARNESS_TEST'] === '1' ? []
      : ['test/bench/compare-harness.test.ts'])],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Broker integration tests start real processes; two cores means little is gained by more.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
