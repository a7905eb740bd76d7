/**
 * What the compatibility suites for foreign clients (franz-go, confluent-kafka-python) share:
 * each drives a small program whose subcommands print one JSON object per step, and each checks
 * a producer's delivery reports the same way.
 */
import { expect } from 'vitest';
import type { BrokerProcess } from './broker-process.js';
import { runCommand } from './run-command.js';

// Also used without vitest (benchmarks), so they live in run-command.ts.
export { COMPAT_CACHE_DIR, type CommandResult, runCommand } from './run-command.js';
/** Every compression codec, and its id in a batch's attributes. */
export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export const CODEC_IDS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
/** compat.py's VALUE_PAD and franz/main.go's valuePad: keeps values compressible, so no client falls back to no compression. */
export const VALUE_PAD = 'agent-event agent-event agent-event agent-event agent-event agent-event';

/**
 * Runs one step (`cmd ...prefix <subcommand> <bootstrap> ...rest`) and parses the JSON it
 * prints; a failure names the step and carries its output and the broker's log tail.
 */
export async function runJsonStep<T>(label: string, cmd: string, prefix: string[], args: string[],
  broker: BrokerProcess, timeoutMs: number): Promise<T> {
  const r = await runCommand(cmd, [...prefix, args[0]!, broker.bootstrap, ...args.slice(1)], { timeoutMs });
  const fail = (why: string) => new Error(`${label} ${args.join(' ')}: ${why}\n--- stdout\n${r.stdout.slice(-8000)}`
    + `\n--- stderr\n${r.stderr.slice(-8000)}\n--- broker log (tail)\n${broker.output().slice(-6000)}`);
  if (r.code !== 0) throw fail(r.error ?? `exited ${r.code}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw fail('did not print JSON');
  }
}

/** A record as the compat programs report it: partition, offset, key, value, delivery error. */
export interface CompatRecord { p: number; o: number; k: string; v: string; err?: string }

/**
 * Checks one produce step's delivery reports: none failed; record i went to partition
 * i % partitions with key `k<p>` and value `<codec>-<i> <pad>`; and each partition's offsets
 * continue where the earlier steps' records (`sent`) ended, with no gap and no duplicate.
 */
export function expectContiguousDeliveries(delivered: CompatRecord[], sent: CompatRecord[], count: number,
  partitions: number, codec: string, valuePad: string): void {
  expect(delivered.filter((d) => d.err)).toEqual([]);
  expect(delivered).toHaveLength(count);
  for (let p = 0; p < partitions; p++) {
    const before = sent.filter((r) => r.p === p).length;
    const mine = delivered.filter((d) => d.p === p);
    expect(mine.map((d) => d.o)).toEqual(mine.map((_, i) => before + i));
  }
  delivered.forEach((d, i) => {
    expect(d.p).toBe(i % partitions);
    expect(d.k).toBe(`k${d.p}`);
    expect(d.v).toBe(`${codec}-${i} ${valuePad}`);
  });
}

/** A consumer read every record of `sent` once: per partition in produce order at offsets 0, 1, 2, ... */
export function expectEveryRecordOnce(records: CompatRecord[], sent: CompatRecord[], partitions: number): void {
  expect(records).toHaveLength(sent.length);
  for (let p = 0; p < partitions; p++) {
    const got = records.filter((r) => r.p === p);
    const want = sent.filter((r) => r.p === p);
    expect(got.map((r) => r.o)).toEqual(want.map((_, i) => i));
    expect(got.map((r) => `${r.k}=${r.v}`)).toEqual(want.map((r) => `${r.k}=${r.v}`));
  }
}
