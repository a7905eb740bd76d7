/**
 * Starts a real broker as a child process (the compiled CLI, as users run it) on a free port of
 * 127.0.0.1, waits for its "listening on" line, and stops it with SIGTERM (graceful) or SIGKILL.
 * `npm test` compiles to dist/ before vitest runs, so the child runs the same code the tests see.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kebabCase } from '../../src/config/config.js';
import { BROKER_NODE_FLAGS } from '../../src/cli/node-flags.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/src/cli.js');
const STARTUP_MS_MAX = 30_000;
const STOP_MS_MAX = 40_000;
const OUTPUT_BYTES_MAX = 64 * 1024;

export interface BrokerProcess {
  port: number;
  dataDir: string;
  bootstrap: string;
  /** OS process id of the running broker (changes on restart; undefined before the first launch). */
  readonly pid: number | undefined;
  /** stderr (pino logs), last OUTPUT_BYTES_MAX bytes. */
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Starts again on the same port and data folder (after stop or kill); `env` adds
   *  environment variables for this launch only (e.g. LEDGERSTREAM_CRASH_POINTS). */
  restart(env?: Record<string, string>): Promise<void>;
  /** Stops if running and deletes the data folder. */
  destroy(): Promise<void>;
}

export interface BrokerOptions {
  /** Extra settings, e.g. { uploadIntervalMs: 50 }. */
  settings?: Record<string, string | number | boolean>;
  dataDir?: string;
  /** Every chunk of the broker's stdout and stderr as it arrives (output() keeps only the tail). */
  onOutput?: (chunk: string) => void;
  port?: number;
}


export async function startBroker(options: BrokerOptions = {}): Promise<BrokerProcess> {
  assert.ok(existsSync(CLI), `${CLI} missing: run \`npm run build\` (npm test does)`);
  const dataDir = options.dataDir ?? await mkdtemp(path.join(tmpdir(), 'ledgerstream-test-'));
  const settings = { groupInitialRebalanceDelayMs: 0, logLevel: 'info', ...options.settings };
  let port = options.port ?? 0;
  let child: ChildProcess | null = null;
  let output = '';
  let exited: Promise<number | null> = Promise.resolve(null);

  const launch = async (env: Record<string, string> = {}) => {
    const args = [...BROKER_NODE_FLAGS, CLI, 'start', '--port', String(port),
      '--data-dir', dataDir];
    for (const [k, v] of Object.entries(settings)) args.push(`--${kebabCase(k)}`, String(v));
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env } });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    const keep = (chunk: Buffer) => {
      options.onOutput?.(chunk.toString());
      output = (output + chunk.toString()).slice(-OUTPUT_BYTES_MAX);
    };
    proc.stderr!.on('data', keep);
    port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error(`broker did not start:\n${output}`)), STARTUP_MS_MAX);
      proc.stdout!.on('data', (chunk: Buffer) => {
        keep(chunk);
        stdout += chunk.toString();
        const m = /listening on [^:]+:(\d+)/.exec(stdout);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`broker exited ${code}:\n${output}`)); });
    });
  };

  const running = () => child !== null && child.exitCode === null && child.signalCode === null;
  const handle: BrokerProcess = {
    get port() { return port; },
    dataDir,
    get bootstrap() { return `127.0.0.1:${port}`; },
    get pid() { return child?.pid; },
    output: () => output,
    async stop() {
      if (!running()) return exited;
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), STOP_MS_MAX);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (!running()) return;
      child!.kill('SIGKILL');
      await exited;
    },
    async restart(env) {
      assert.ok(!running(), 'restart after stop or kill');
      await launch(env);
    },
    async destroy() {
      await handle.kill();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
  await launch();
  return handle;
}
