/**
 * Runs bench/load-go (franz-go clients by the thousand, see its main.go) as a child process and
 * parses the one JSON object it prints. Built on first use, cached per content of its sources.
 * The child is reaped inside the run, so a ProcessMeter counts its CPU as the load generator's.
 */
import path from 'node:path';
import { runCommand } from '../../test/helpers/run-command.js';
import { buildGoProgram } from '../../test/helpers/go-build.js';

const SOURCE_DIR = path.resolve(import.meta.dirname, '../load-go');

/** Builds the generator before a run, so the build is not inside any measured window. */
export function buildGoLoad(): Promise<string> {
  return buildGoProgram(SOURCE_DIR, 'bench-load');
}

export async function runGoLoad<T>(subcommand: 'fleet' | 'scale',
  flags: Record<string, string | number>, timeoutMs: number): Promise<T> {
  const bin = await buildGoLoad();
  const args = [subcommand, ...Object.entries(flags).flatMap(([k, v]) => [`-${k}`, String(v)])];
  const r = await runCommand(bin, args, { timeoutMs });
  const fail = (why: string) => new Error(`bench-load ${args.join(' ')}: ${why}\n` +
    `--- stderr (tail)\n${r.stderr.slice(-6000)}`);
  if (r.code !== 0) throw fail(r.error ?? `exited ${r.code}`);
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw fail(`did not print JSON: ${r.stdout.slice(0, 2000)}`);
  }
}
