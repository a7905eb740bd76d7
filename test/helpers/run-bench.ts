/**
 * Runs a benchmark script (bench/.../main.ts) the way `npm run bench*` does, for the tests that
 * prove a benchmark still works at a tiny size; keeps the tail of its stderr (its progress log)
 * for the failure message, and SIGKILLs it after `timeoutMs`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');
const STDERR_CHARS_MAX = 20_000;

export function runBenchScript(script: string, args: string[], timeoutMs: number):
  Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, script), ...args],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-STDERR_CHARS_MAX);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
