/**
 * What a benchmark report says about where and on what it ran: the code's revision, the machine,
 * and a timestamped progress log on stderr (stdout stays free for the report).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');

/** The code measured: BENCH_REVISION if set, else the checkout's commit and whether broker code differs from it. */
export function revision(): string {
  if (process.env.BENCH_REVISION) return process.env.BENCH_REVISION;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src', 'storage', 'protocol') !== '';
    return dirty ? `${commit} with uncommitted changes in src/, storage/ or protocol/` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** "2 × AMD EPYC 7B13, 24 GiB RAM, Linux 6.1.0" */
export function machineSummary(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
    `${os.type()} ${os.release()}`;
}

export function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}
