/**
 * Runs membership-child.ts in a child process and follows its stdout lines, so a test can wait for
 * a line, then SIGSTOP, SIGCONT or SIGKILL the child as a real broker process would be.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const childScript = fileURLToPath(new URL('./membership-child.ts', import.meta.url));

export class ChildBroker {
  readonly lines: string[] = [];
  private stderr = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-8_192);
    });
    this.exited = new Promise((resolve) => child.once('exit', () => {
      for (const wake of this.waiters.splice(0)) wake();
      resolve();
    }));
  }

  static start(endpoint: string, keyPrefix: string, nodeId: number, leaseTtlMs: number,
    mode: 'membership' | 'controller' = 'membership'): ChildBroker {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, endpoint, keyPrefix,
      String(nodeId), String(leaseTtlMs), mode], { cwd: repoRoot, stdio: 'pipe' });
    const broker = new ChildBroker(child);
    // A test process that ends without killing the child must not leave it running.
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    void broker.exited.then(() => process.removeListener('exit', killOnExit));
    return broker;
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('the child did not start');
    return pid;
  }

  /** The first line (from `from` on) starting with `prefix`; waits up to `timeoutMs`. */
  async waitFor(prefix: string, timeoutMs = 15_000, from = 0): Promise<string> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.slice(from).find((l) => l.startsWith(prefix));
      if (line !== undefined) return line;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`child exited before "${prefix}"; stderr:\n${this.stderr}`);
      }
      const leftMs = deadlineMs - Date.now();
      if (leftMs <= 0) {
        throw new Error(`no "${prefix}" within ${timeoutMs} ms; lines: ${this.lines.join(' | ')}` +
          `; stderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(leftMs, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(command: string): void {
    this.child.stdin.write(command + '\n');
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}
