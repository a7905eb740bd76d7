/**
 * StallWatchdog (test/helpers/stall-watchdog.ts) ends a process whose event loop stopped turning:
 * a child loops on resolved promises, which no timer of its own can interrupt; its watchdog must
 * SIGKILL the process it was given (a stand-in for a broker), say so on stderr, and SIGKILL the
 * child. Without the watchdog the child would spin until killed from outside.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { waitFor } from '../helpers/kafka-client.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const childScript = fileURLToPath(new URL('./stall-watchdog-child.ts', import.meta.url));

it('kills the processes it was given, then its own, when the event loop stops', async () => {
  const victim = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'],
    { stdio: 'ignore' });
  const victimExit = new Promise<string | null>((resolve) => {
    victim.once('exit', (_, signal) => resolve(signal));
  });
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, String(victim.pid)],
    { cwd: repoRoot, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  let childSignal: string | null | undefined;
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  child.once('exit', (_, signal) => { childSignal = signal; });
  try {
    // Bounded: a watchdog that never acts leaves the child running, reported below.
    await waitFor('the child to end', () => childSignal !== undefined, 30_000).catch(() => {});
    expect({ stdout, childSignal }, stderr)
      .toEqual({ stdout: 'spinning\n', childSignal: 'SIGKILL' });
    expect(stderr).toMatch(/STALL WATCHDOG \(stall-watchdog-child\): .* has not turned for \d+ ms/);
    expect(stderr).toContain(`SIGKILLed ${victim.pid} and now this process. ` +
      'It said last:\nabout to spin');
    expect(await victimExit).toBe('SIGKILL');
  } finally {
    child.kill('SIGKILL');
    victim.kill('SIGKILL');
  }
}, 60_000);
