/**
 * Benchmark settings come from flags or the environment: the setting `maxRecords` is the flag
 * `--max-records` (the broker's own kebab-case rule) and the variable `BENCH_MAX_RECORDS`.
 */
import { kebabCase } from '../../src/config/config.js';

export { kebabCase as flagName };

export function benchEnvName(name: string): string {
  return `BENCH_${kebabCase(name).replace(/-/g, '_').toUpperCase()}`;
}
