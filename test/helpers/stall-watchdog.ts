/**
 * The last resort against a test process whose event loop stops turning (a loop of promises that
 * never yields to the macrotask queue, a synchronous loop): no timer of that process fires, so
 * neither vitest's test timeout nor a run's own deadline can end it, and CI hangs until killed.
 * A worker thread (its own event loop) watches a heartbeat the main thread writes every
 * `beatMs`; when none came for `stallMsMax`, it SIGKILLs the processes the test started (read at
 * the last beat), says so on stderr, and SIGKILLs this process: the run fails instead of hanging.
 */
import { Worker } from 'node:worker_threads';

export const stallWatchdogLimits = {
  beatMs: 200,
  /** Processes (brokers, etcd) the watchdog can kill; more are ignored. */
  pidsMax: 16,
  /** What the test said last (its progress lines), printed with the stall; the tail is kept. */
  contextBytesMax: 4096,
} as const;

const PIDS_AT = 8;
const CONTEXT_LENGTH_AT = PIDS_AT + 4 * stallWatchdogLimits.pidsMax;
const CONTEXT_AT = CONTEXT_LENGTH_AT + 4;

/**
 * Runs in the worker: plain JavaScript, no imports of the test's modules. It writes to fd 2
 * itself: a worker's process.stderr goes through the main thread, whose loop is the one stuck.
 */
const workerSource = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { shared, stallMsMax, label, checkMs, at } = workerData;
const beat = new Float64Array(shared, 0, 1);
const pids = new Int32Array(shared, at.pids, at.pidsMax);
const contextLength = new Int32Array(shared, at.contextLength, 1);
const context = new Uint8Array(shared, at.context);
setInterval(() => {
  const silentMs = Date.now() - beat[0];
  if (silentMs < stallMsMax) return;
  const killed = [];
  for (const pid of pids) {
    if (pid <= 0) continue;
    try { process.kill(pid, 'SIGCONT'); process.kill(pid, 'SIGKILL'); killed.push(pid); } catch {}
  }
  writeSync(2, 'STALL WATCHDOG (' + label + '): the event loop of process ' + process.pid +
    ' has not turned for ' + silentMs + ' ms (limit ' + stallMsMax + ' ms): a loop that ' +
    'never yields to timers (e.g. promises resolved at once). SIGKILLed ' +
    (killed.join(', ') || 'nothing') + ' and now this process. It said last:\\n' +
    Buffer.from(context.slice(0, contextLength[0])).toString('utf8') + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, checkMs);
`;

export class StallWatchdog {
  private readonly shared =
    new SharedArrayBuffer(CONTEXT_AT + stallWatchdogLimits.contextBytesMax);
  private readonly beat = new Float64Array(this.shared, 0, 1);
  private readonly pids = new Int32Array(this.shared, PIDS_AT, stallWatchdogLimits.pidsMax);
  private readonly contextLength = new Int32Array(this.shared, CONTEXT_LENGTH_AT, 1);
  private readonly context = new Uint8Array(this.shared, CONTEXT_AT);
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;

  /**
   * `pidsNow` and `contextNow` are read at every beat: the processes to kill should the loop
   * stall, and what to print with it.
   */
  constructor(label: string, readonly stallMsMax: number,
    private readonly pidsNow: () => (number | undefined)[],
    private readonly contextNow: () => string = () => '') {
    if (stallMsMax < 10 * stallWatchdogLimits.beatMs) {
      throw new Error(`stallMsMax ${stallMsMax}: too short for a beat every ` +
        `${stallWatchdogLimits.beatMs} ms`);
    }
    this.onBeat();
    const at = { pids: PIDS_AT, pidsMax: stallWatchdogLimits.pidsMax,
      contextLength: CONTEXT_LENGTH_AT, context: CONTEXT_AT };
    const checkMs = stallWatchdogLimits.beatMs;
    this.worker = new Worker(workerSource, { eval: true,
      workerData: { shared: this.shared, stallMsMax, label, checkMs, at } });
    this.worker.unref();
    this.timer = setInterval(() => this.onBeat(), stallWatchdogLimits.beatMs);
    this.timer.unref();
  }

  private onBeat(): void {
    const pids = this.pidsNow().filter((p): p is number => p !== undefined && p > 0);
    for (let i = 0; i < this.pids.length; i++) this.pids[i] = pids[i] ?? 0;
    const context = Buffer.from(this.contextNow(), 'utf8');
    const tail = context.subarray(Math.max(0, context.length - this.context.length));
    this.context.set(tail);
    this.contextLength[0] = tail.length;
    this.beat[0] = Date.now();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.worker.terminate();
  }
}
