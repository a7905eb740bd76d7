/**
 * Runs a helper program and keeps its output; where built helper programs are cached. Free of
 * vitest, so benchmarks can use it as well as the compatibility suites.
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';

const OUTPUT_BYTES_MAX = 64 * 1024 * 1024;

/** Where built compat programs and venvs are cached between runs (as .ci/ scripts use it). */
const CACHE_HOME = process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache');
export const COMPAT_CACHE_DIR = path.join(CACHE_HOME, 'ledgerstream');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Runs a command; never rejects on a non-zero exit (SIGKILL after `timeoutMs`). */
export function runCommand(cmd: string, args: string[],
  options: { cwd?: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: OUTPUT_BYTES_MAX,
      env: { ...process.env, ...options.env }, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      resolve({ code, stdout, stderr, error: e?.message });
    });
  });
}

