/**
 * Benchmark settings come from flags or the environment: the setting `maxRecords` is the flag
 * `--max-records` (the broker's own kebab-case rule) and the variable `BENCH_MAX_RECORDS`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kebabCase } from '../../src/config/config.js';

export { kebabCase as flagName };

export function benchEnvName(name: string): string {
  return `BENCH_${kebabCase(name).replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Numeric settings: each key of `defaults` from its flag, else its variable, else the default.
 * Only numbers: a benchmark's settings are sizes, rates and durations.
 */
export function numericOptions<T extends Record<string, number>>(defaults: T): T {
  const { values } = parseArgs({ options: Object.fromEntries(Object.keys(defaults)
    .map((k) => [kebabCase(k), { type: 'string' as const }])) });
  const out: Record<string, number> = { ...defaults };
  for (const k of Object.keys(defaults)) {
    const raw = (values as Record<string, string | undefined>)[kebabCase(k)]
      ?? process.env[benchEnvName(k)];
    if (raw !== undefined) out[k] = Number(raw);
  }
  return out as T;
}

/**
 * One integer setting: its flag's value in `values` (from the caller's parseArgs), else its
 * variable, else `fallback`. Throws, naming the flag, unless it is an integer in `lo`..`hi`.
 */
export function integerSetting(values: Record<string, unknown>, name: string, fallback: number,
  [lo, hi]: readonly [number, number]): number {
  const raw = (values[kebabCase(name)] as string | undefined) ?? process.env[benchEnvName(name)];
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new Error(`--${kebabCase(name)} must be an integer in ${lo}..${hi}, got ${raw}`);
  }
  return v;
}

/** With `--help` in `argv`: prints the usage (the header comment of the script at `moduleUrl`). */
export function exitWithUsageIfAsked(argv: string[], moduleUrl: string): void {
  if (!argv.includes('--help')) return;
  const source = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  const header = source.slice(source.indexOf('/**') + 4, source.indexOf('*/'));
  process.stdout.write(`${header.replace(/^ \*( |$)/gm, '')}\n`);
  process.exit(0);
}
