/**
 * The `ledgerstream` command line against a real broker, run as users run it (bin/ledgerstream.js):
 * every client subcommand once, with its output checked, and the usage and connection errors.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRequestFrame, encodeResponseFrame } from '../../protocol/frame.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import * as MD from '../../protocol/generated/messages/metadata.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/ledgerstream.js');
const VERSION = (JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as
  { version: string }).version;

interface Run { code: number; stdout: string; stderr: string }

let broker: BrokerProcess;
let metricsPort: number;

/** The test broker, and its metrics port as `cluster status` finds it without --metrics-url. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, LEDGERSTREAM_BOOTSTRAP: broker.bootstrap, LEDGERSTREAM_METRICS_PORT: String(metricsPort), ...env };
}

/** Runs the CLI against the test broker; never throws on a non-zero exit. */
function cli(args: string[], stdin?: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { env: cliEnv(env), timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr }));
    child.stdin!.end(stdin ?? '');
  });
}

/** Runs `check` until it holds (a wait for a state, not a timing assertion). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never happened: ${what}`);
}

/** The subcommands a help page lists (its "Commands:" section), without `help`. */
function subcommands(help: string): string[] {
  const section = help.split(/\nCommands:\n/)[1] ?? '';
  return section.split('\n').map((l) => /^ {2}([a-z-]+)/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined && c !== 'help');
}

/** The rows of a table the CLI printed, split on runs of spaces, header excluded. */
function rows(stdout: string, firstCell: string): string[][] {
  return stdout.split('\n').map((l) => l.trim().split(/\s{2,}/)).filter((r) => r[0] === firstCell);
}

beforeAll(async () => {
  metricsPort = await freePort();
  // Uploads every 10 minutes: what is produced stays in the upload backlog `cluster status` reports.
  broker = await startBroker({ settings: { metricsPort, uploadIntervalMs: 600_000 } });
}, 60_000);
afterAll(async () => broker?.destroy());

describe('ledgerstream CLI', () => {
  it('prints its version and help for every command', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    // Every command the help pages list, found by walking them, so a new command is covered too.
    const seen: string[] = [];
    const walk = async (command: string[]): Promise<void> => {
      const r = await cli([...command, '--help']);
      expect(r.code, command.join(' ')).toBe(0);
      expect(r.stdout, command.join(' ')).toMatch(new RegExp(`^Usage: ledgerstream ${command.join(' ')}`));
      seen.push(command.join(' '));
      for (const sub of subcommands(r.stdout)) if (sub !== 'start') await walk([...command, sub]);
    };
    await walk([]);
    expect(seen.sort()).toEqual(['', 'cluster', 'cluster status', 'consume', 'group', 'group delete', 'group describe',
      'group list', 'group reset', 'produce', 'topic', 'topic alter', 'topic create', 'topic delete', 'topic describe',
      'topic list']);
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
    expect(rows(dry.stdout, 'cli-lag')).toEqual([['cli-lag', '0', '4']]);
    // Each target, within what the log holds (offsets 0 to 5).
    const targets: [string[], string][] = [[['--to-earliest'], '0'], [['--to-latest'], '5'], [['--shift-by', '-10'], '0'],
      [['--to-offset', '99'], '5'], [['--to-datetime', '2000-01-01T00:00:00Z'], '0'], [['--to-datetime', '2999-01-01'], '5']];
    for (const [target, offset] of targets) {
      const r = await cli(['group', 'reset', 'cli-billing', '-t', 'cli-lag', ...target]);
      expect(rows(r.stdout, 'cli-lag'), target.join(' ')).toEqual([['cli-lag', '0', offset]]);
    }
    expect(rows((await cli(['group', 'describe', 'cli-billing'])).stdout, 'cli-lag')[0]![2]).toBe('2');
    const executed = await cli(['group', 'reset', 'cli-billing', '-t', 'cli-lag', '--shift-by', '-1', '--execute']);
    expect(rows(executed.stdout, 'cli-lag')).toEqual([['cli-lag', '0', '1']]);
    expect(rows((await cli(['group', 'describe', 'cli-billing'])).stdout, 'cli-lag')[0]!.slice(2, 5)).toEqual(['1', '5', '4']);
    // The group goes on from the reset offset.
    expect((await cli(['consume', 'cli-lag', '-g', 'cli-billing', '-n', '1'])).stdout).toBe('b\n');
    // A partition the group never committed in is listed too, its offset and lag unknown.
    expect((await cli(['topic', 'alter', 'cli-lag', '-p', '2'])).code).toBe(0);
    expect(rows((await cli(['group', 'describe', 'cli-billing'])).stdout, 'cli-lag')).toEqual([
      ['cli-lag', '0', '2', '5', '3', '-', '-', '-'], ['cli-lag', '1', '-', '0', '-', '-', '-', '-']]);

    expect((await cli(['group', 'delete', 'cli-billing'])).stdout).toBe('deleted consumer group cli-billing\n');
    expect((await cli(['group', 'list'])).stdout).not.toContain('cli-billing');
    const gone = await cli(['group', 'delete', 'cli-billing']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('ledgerstream: consumer group "cli-billing" does not exist (see `ledgerstream group list`)\n');
  }, 120_000);

  it('shows an active group\'s members and will not reset or delete it while they run', async () => {
    expect((await cli(['topic', 'create', 'cli-live', '-p', '1'])).code).toBe(0);
    const reader = spawn(process.execPath, [BIN, 'consume', 'cli-live', '-g', 'cli-live-readers'], { env: cliEnv({}) });
    let readerOut = '';
    reader.stdout.on('data', (chunk: Buffer) => { readerOut += chunk.toString(); });
    const readerExit = new Promise<number | null>((resolve) => reader.once('exit', resolve));
    try {
      await until('the reader joins', async () => (await cli(['group', 'list'])).stdout.includes('cli-live-readers  Stable'));
      expect((await cli(['produce', 'cli-live'], 'x\n')).code).toBe(0);
      await until('the reader prints the record', async () => readerOut === 'x\n');
      const described = await cli(['group', 'describe', 'cli-live-readers']);
      expect(described.stdout).toContain("Consumer group 'cli-live-readers' is Stable with 1 member(s).");
      const [row] = rows(described.stdout, 'cli-live');
      // Nothing committed yet (it commits when it stops); the member holds the partition.
      expect(row!.slice(0, 5)).toEqual(['cli-live', '0', '-', '1', '-']);
      expect(row![5]).toMatch(/^ledgerstream-cli-/);
      expect(row!.slice(6)).toEqual(['/127.0.0.1', 'ledgerstream-cli']);

      const reset = await cli(['group', 'reset', 'cli-live-readers', '-t', 'cli-live', '--to-earliest', '--execute']);
      expect(reset.code).toBe(1);
      expect(reset.stderr).toContain('has 1 active member(s): stop its consumers first');
      const deleted = await cli(['group', 'delete', 'cli-live-readers']);
      expect(deleted.code).toBe(1);
      expect(deleted.stderr).toBe('ledgerstream: consumer group "cli-live-readers" has active members: ' +
        'stop its consumers first, then delete it\n');
    } finally {
      reader.kill('SIGINT');
    }
    expect(await readerExit).toBe(0);
    // Ctrl-C commits what was printed.
    expect(rows((await cli(['group', 'describe', 'cli-live-readers'])).stdout, 'cli-live')[0]!.slice(2, 5))
      .toEqual(['1', '1', '0']);
  }, 120_000);

  it('shows the cluster: brokers, controller, leaders and the object-store backlog', async () => {
    expect((await cli(['produce', 'cli-backlog'], 'waiting for upload\n')).code).toBe(0);
    const page = `http://127.0.0.1:${metricsPort}/metrics`;
    const metrics = await (await fetch(page)).text();
    const backlogBytes = Number(/^ledgerstream_upload_backlog_bytes (\d+)$/m.exec(metrics)![1]);
    expect(backlogBytes).toBeGreaterThan(0);

    // Without --metrics-url, the broker's host at LEDGERSTREAM_METRICS_PORT (cli() sets it).
    for (const args of [['cluster', 'status'], ['cluster', 'status', '--metrics-url', `http://127.0.0.1:${metricsPort}`]]) {
      const status = await cli(args);
      expect(status.code).toBe(0);
      const [, brokers, topics, partitions] = /^cluster \S+: (\d+) broker\(s\), (\d+) topic\(s\), (\d+) partition\(s\)$/m
        .exec(status.stdout)!;
      expect([brokers, topics]).toEqual(['1', String((await cli(['topic', 'list'])).stdout.trim().split('\n').length)]);
      // BROKER ADDRESS ROLE LEADS: the one broker leads every partition.
      expect(rows(status.stdout, '1')).toEqual([['1', `127.0.0.1:${broker.port}`, 'controller', partitions]]);
      expect(status.stdout).toContain('every partition has a leader');
      // Nothing uploads between the two reads (uploads every 10 minutes), so the figures match.
      expect(status.stdout).toMatch(new RegExp(`^object-store backlog of broker 1: ${backlogBytes} bytes not yet in ` +
        `object storage, the oldest \\d+\\.\\d s old \\(${page}\\)$`, 'm'));
    }
    const closedPort = await freePort();
    const unreadable = await cli(['cluster', 'status'], undefined, { LEDGERSTREAM_METRICS_PORT: String(closedPort) });
    expect(unreadable.code).toBe(0);
    expect(unreadable.stdout).toContain(`object-store backlog of broker 1: unknown (http://127.0.0.1:${closedPort}/metrics: ` +
      'connection refused); if it serves metrics (--metrics-port N), pass --metrics-url http://127.0.0.1:N\n');
  }, 60_000);

  it('lists partitions without a live leader, which kafkajs would refuse to show', async () => {
    // A listener that answers Metadata as a cluster in the middle of a failover does.
    const P = (partitionIndex: number, leaderId: number, errorCode = 0) =>
      ({ ...MD.defaultMetadataResponseMetadataResponsePartition(), partitionIndex, leaderId, errorCode });
    const answer = { ...MD.defaultMetadataResponse(), clusterId: 'failing-over', controllerId: 2,
      brokers: [1, 2].map((nodeId) => ({ ...MD.defaultMetadataResponseMetadataResponseBroker(), nodeId,
        host: '127.0.0.1', port: 9000 + nodeId })),
      topics: [{ ...MD.defaultMetadataResponseMetadataResponseTopic(), name: 'orders',
        partitions: [P(0, 1), P(1, -1, ErrorCode.LEADER_NOT_AVAILABLE), P(2, 3)] }] };
    const listener = createServer((socket) => socket.once('data', (frame: Buffer) => {
      const { header } = decodeRequestFrame(frame.subarray(4));
      for (const chunk of encodeResponseFrame(header.requestApiKey, header.requestApiVersion, header.correlationId,
        (w) => MD.encodeMetadataResponse(w, header.requestApiVersion, answer))) socket.write(chunk);
    }));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = listener.address() as AddressInfo;
      const status = await cli(['cluster', 'status', '-b', `127.0.0.1:${port}`]);
      expect(status.code).toBe(0);
      expect(status.stdout.split('\n').slice(0, 5)).toEqual([
        'cluster failing-over: 2 broker(s), 1 topic(s), 3 partition(s)',
        'BROKER  ADDRESS         ROLE        LEADS',
        '1       127.0.0.1:9001  -           1',
        '2       127.0.0.1:9002  controller  0',
        'partitions without a live leader (2): orders-1 (LEADER_NOT_AVAILABLE), orders-2',
      ]);
    } finally {
      listener.close();
    }
    // The metrics port is no Kafka listener: said so, not a decoding error.
    const notKafka = await cli(['cluster', 'status', '-b', `127.0.0.1:${metricsPort}`]);
    expect(notKafka.code).toBe(1);
    expect(notKafka.stderr).toBe(`ledgerstream: 127.0.0.1:${metricsPort} answered with something other than Kafka's ` +
      'protocol; is --bootstrap-server a Kafka listener?\n');
  }, 60_000);

  it('names the fix when it cannot connect or the command is wrong', async () => {
    const port = await freePort();
    const refused = await cli(['topic', 'list', '--bootstrap-server', `127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`ledgerstream: cannot reach a broker at 127.0.0.1:${port}: is one running? ` +
      'Start one with `npx ledgerstream start`, or pass --bootstrap-server host:port');
    // cluster status reads Metadata without kafkajs, and says the same.
    const statusRefused = await cli(['cluster', 'status', '--bootstrap-server', `127.0.0.1:${port}`]);
    expect(statusRefused).toMatchObject({ code: 1, stderr: refused.stderr });
    expect((await cli(['topic', 'list', '-b', 'nohostport'])).code).toBe(2);
    expect((await cli(['consume', 'x', '--offset', 'abc'])).code).toBe(2);
    expect((await cli(['no-such-command'])).code).toBe(2);
    const noSubcommand = await cli(['topic']);
    expect(noSubcommand.code).toBe(2);
    expect(noSubcommand.stderr).toMatch(/^Usage: ledgerstream topic/);
    const reset = await cli(['group', 'reset', 'g', '-t', 'cli-lines']);
    expect(reset.code).toBe(2);
    expect(reset.stderr).toContain('choose one of --to-earliest');
  }, 60_000);
});
