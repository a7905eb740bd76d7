/**
 * A kafkajs consumer disconnected while its fetchers rebalance (a broker joined) must finish
 * disconnecting instead of spinning. kafkajs 2.2.4 leaves the rebalance's new fetchers running
 * after the runner stopped, and they loop on an empty fetch in microtasks, starving every timer of
 * the process: the chaos test's CI hang (see test/helpers/kafkajs-stopped-runner.ts, the patch).
 * The consumer runs in a child process, so a spin there shows as a child that never finishes and
 * cannot hang this test. (With 'unpatched' the child spins: no 'disconnected', no exit.)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { startCluster } from '../helpers/cluster.js';
import { kafkaClient, waitFor } from '../helpers/kafka-client.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const childScript = fileURLToPath(new URL('./kafkajs-stopped-runner-child.ts', import.meta.url));
const TOPIC = 'stopped-runner';
/** Far above what the disconnect takes (a fetch of at most 100 ms, a LeaveGroup). */
const disconnectMsMax = 30_000;

interface Child { lines: string[]; stderr: string; exit: number | string | null; kill(): void }

/** The consumer child, its stdout lines and stderr tail followed. */
function startChild(bootstrap: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript, bootstrap.join(','),
    TOPIC, 'patched'], { cwd: repoRoot, stdio: 'pipe' });
  const child: Child = { lines: [], stderr: '', exit: null, kill: () => void proc.kill('SIGKILL') };
  proc.stdout.on('data', (chunk: Buffer) => {
    child.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  });
  proc.stderr.on('data', (chunk: Buffer) => {
    child.stderr = (child.stderr + chunk.toString('utf8')).slice(-8192);
  });
  proc.once('exit', (code, signal) => { child.exit = code ?? signal; });
  return child;
}

it('a consumer disconnected in a fetcher rebalance finishes disconnecting', async () => {
  const cluster = await startCluster(1);
  let child: Child | null = null;
  try {
    const kafka = kafkaClient(cluster.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true,
      topics: [{ topic: TOPIC, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.disconnect();

    const c = child = startChild(cluster.bootstrap);
    await waitFor('the child to consume', () => c.lines.includes('consuming') || c.exit !== null);
    expect(c.lines, c.stderr).toContain('consuming');
    // The child's next metadata names two brokers: its fetchers rebalance.
    await cluster.addBroker();
    await waitFor('the child to finish disconnecting', () => c.exit !== null, disconnectMsMax)
      .catch(() => {}); // a child still running is reported below, with what it printed
    expect({ exit: c.exit, lines: c.lines }, c.stderr).toEqual({ exit: 0,
      lines: ['consuming', 'disconnecting', 'rebalanced after disconnect', 'disconnected'] });
  } finally {
    child?.kill();
    await cluster.destroy();
  }
}, 120_000);
