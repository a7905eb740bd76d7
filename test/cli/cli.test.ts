/**
 * The `ledgerstream` command line against a real broker, run as users run it (bin/ledgerstream.js):
 * every client subcommand once, with its output checked, and the usage and connection errors.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/ledgerstream.js');
const VERSION = (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as
  { version: string }).version;

interface Run { code: number; stdout: string; stderr: string }

let broker: BrokerProcess;
let metricsPort: number;

/** Runs the CLI against the test broker; never throws on a non-zero exit. */
function cli(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], {
      env: { ...process.env, LEDGERSTREAM_BOOTSTRAP: broker.bootstrap }, timeout: 60_000 },
    (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr }));
    child.stdin!.end(stdin ?? '');
  });
}

/** The rows of a table the CLI printed, split on runs of spaces, header excluded. */
function rows(stdout: string, firstCell: string): string[][] {
  return stdout.split('\n').map((l) => l.trim().split(/\s{2,}/)).filter((r) => r[0] === firstCell);
}

beforeAll(async () => {
  metricsPort = await freePort();
  broker = await startBroker({ settings: { metricsPort, uploadIntervalMs: 50 } });
}, 60_000);
afterAll(async () => broker?.destroy());

describe('ledgerstream CLI', () => {
  it('prints its version and help for every command', async () => {
    expect((await cli(['--version'])).stdout.trim()).toBe(VERSION);
    for (const args of [['--help'], ['topic', '--help'], ['topic', 'create', '--help'], ['produce', '--help'],
      ['consume', '--help'], ['group', 'reset', '--help'], ['cluster', 'status', '--help']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^Usage: ledgerstream/);
    }
    const start = await cli(['start', '--help']);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('--client-memory-bytes-max');
  }, 120_000);

  it('creates, lists, describes, alters and deletes topics', async () => {
    const created = await cli(['topic', 'create', 'cli-orders', '-p', '3', '-c', 'retention.ms=86400000']);
    expect(created).toMatchObject({ code: 0, stdout: 'created topic cli-orders with 3 partitions\n' });
    const again = await cli(['topic', 'create', 'cli-orders']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('topic "cli-orders" already exists');
    expect((await cli(['topic', 'list'])).stdout.split('\n')).toContain('cli-orders');

    const altered = await cli(['topic', 'alter', 'cli-orders', '-p', '4', '-c', 'retention.bytes=1000000']);
    expect(altered.code).toBe(0);
    const described = await cli(['topic', 'describe', 'cli-orders']);
    expect(described.stdout).toContain('PartitionCount: 4');
    // The earlier setting survives the change of another (AlterConfigs replaces the whole set).
    expect(described.stdout).toMatch(/Configs: .*retention\.bytes=1000000/);
    expect(described.stdout).toMatch(/Configs: .*retention\.ms=86400000/);
    expect(rows(described.stdout, '3')).toEqual([['3', '1', '0', '0']]);

    expect((await cli(['topic', 'delete', 'cli-orders'])).code).toBe(0);
    expect((await cli(['topic', 'list'])).stdout.split('\n')).not.toContain('cli-orders');
    const missing = await cli(['topic', 'describe', 'cli-orders']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  }, 120_000);

  it('produces lines with keys and consumes them from the beginning, from an offset and from a time', async () => {
    expect((await cli(['topic', 'create', 'cli-lines', '-p', '1'])).code).toBe(0);
    const produced = await cli(['produce', 'cli-lines', '-k', ':'], 'k0:v0\nk1:v1\nk2:v2\n');
    expect(produced).toMatchObject({ code: 0, stderr: 'produced 3 records to cli-lines\n' });
    const afterFirst = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    expect((await cli(['produce', 'cli-lines'], 'v3\nv4\n')).code).toBe(0);

    const all = await cli(['consume', 'cli-lines', '--from-beginning', '-n', '5', '--print-key']);
    expect(all.stdout).toBe('k0\tv0\nk1\tv1\nk2\tv2\n\tv3\n\tv4\n');
    const fromOffset = await cli(['consume', 'cli-lines', '--offset', '3', '-n', '2', '--print-offset']);
    expect(fromOffset.stdout).toBe('0:3\tv3\n0:4\tv4\n');
    const fromTime = await cli(['consume', 'cli-lines', '--from-time', new Date(afterFirst).toISOString(), '-n', '2']);
    expect(fromTime.stdout).toBe('v3\nv4\n');
    // A reader without --group leaves no group behind.
    expect((await cli(['group', 'list'])).stdout).not.toContain('ledgerstream-cli-');
  }, 120_000);

  it('consumes as a group, describes its lag, resets it (dry run, then --execute) and deletes it', async () => {
    expect((await cli(['topic', 'create', 'cli-lag', '-p', '1'])).code).toBe(0);
    expect((await cli(['produce', 'cli-lag'], 'a\nb\nc\nd\ne\n')).code).toBe(0);
    const read = await cli(['consume', 'cli-lag', '-g', 'cli-billing', '--from-beginning', '-n', '2']);
    expect(read.stdout).toBe('a\nb\n');

    expect(rows((await cli(['group', 'list'])).stdout, 'cli-billing')).toEqual([['cli-billing', 'Empty', '0']]);
    const described = await cli(['group', 'describe', 'cli-billing']);
    // TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    expect(rows(described.stdout, 'cli-lag')).toEqual([['cli-lag', '0', '2', '5', '3', '-', '-', '-']]);

    const dry = await cli(['group', 'reset', 'cli-billing', '-t', 'cli-lag', '--to-offset', '4']);
    expect(dry.stdout).toContain('dry run');
    expect(rows((await cli(['group', 'describe', 'cli-billing'])).stdout, 'cli-lag')[0]![2]).toBe('2');
    const executed = await cli(['group', 'reset', 'cli-billing', '-t', 'cli-lag', '--shift-by', '-1', '--execute']);
    expect(rows(executed.stdout, 'cli-lag')).toEqual([['cli-lag', '0', '1']]);
    expect(rows((await cli(['group', 'describe', 'cli-billing'])).stdout, 'cli-lag')[0]!.slice(2, 5)).toEqual(['1', '5', '4']);
    // The group goes on from the reset offset.
    expect((await cli(['consume', 'cli-lag', '-g', 'cli-billing', '-n', '1'])).stdout).toBe('b\n');

    expect((await cli(['group', 'delete', 'cli-billing'])).stdout).toBe('deleted consumer group cli-billing\n');
    expect((await cli(['group', 'list'])).stdout).not.toContain('cli-billing');
  }, 120_000);

  it('shows the cluster: brokers, controller, leaders and the object-store backlog', async () => {
    const withMetrics = await cli(['cluster', 'status', '--metrics-url', `http://127.0.0.1:${metricsPort}`]);
    expect(withMetrics.code).toBe(0);
    expect(rows(withMetrics.stdout, '1')[0]!.slice(0, 3)).toEqual(['1', `127.0.0.1:${broker.port}`, 'controller']);
    expect(withMetrics.stdout).toContain('every partition has a leader');
    expect(withMetrics.stdout).toMatch(/object-store backlog at http:\/\/127\.0\.0\.1:\d+: \d+ bytes not yet in object storage/);
    const without = await cli(['cluster', 'status']);
    expect(without.stdout).toContain('object-store backlog: unknown (pass --metrics-url');
  }, 60_000);

  it('names the fix when it cannot connect or the command is wrong', async () => {
    const port = await freePort();
    const refused = await cli(['topic', 'list', '--bootstrap-server', `127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`ledgerstream: cannot reach a broker at 127.0.0.1:${port}: is one running? ` +
      'Start one with `npx ledgerstream start`, or pass --bootstrap-server host:port');
    expect((await cli(['topic', 'list', '-b', 'nohostport'])).code).toBe(2);
    expect((await cli(['consume', 'x', '--offset', 'abc'])).code).toBe(2);
    expect((await cli(['no-such-command'])).code).toBe(2);
    const reset = await cli(['group', 'reset', 'g', '-t', 'cli-lines']);
    expect(reset.code).toBe(2);
    expect(reset.stderr).toContain('choose one of --to-earliest');
  }, 60_000);
});
