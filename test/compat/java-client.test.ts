/**
 * Compatibility: Apache Kafka's own Java client and CLI tools against a real broker process.
 *
 * The jars (Kafka 4.x from Maven Central, via bench/kafka/fetch-kafka.sh) are run as the bin/
 * scripts run them: each tool is its main class in a JVM of its own (about 1.5 s each). Covered:
 * kafka-topics (create, list, describe, alter partitions, delete), the console producer with
 * every compression codec (and the batches' codec checked on the broker with a raw Fetch), the
 * console consumer in a group, kafka-consumer-groups (describe offsets and lag, reset offsets,
 * delete), kafka-configs on topics, and a small program (test/compat/java/Compat.java) driving
 * AdminClient and an idempotent KafkaProducer.
 *
 * Needs `java` (17+) and, the first time, `mvn` to fetch the jars (.ci/install-kafka.sh). Skipped,
 * with a message, only when there is no `java` at all.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import {
  type KafkaJars, type KafkaTool, type RunOptions, type RunResult, compileJava, describeRun, expectSuccess,
  javaAvailable, kafkaJars, runJava, runKafkaTool,
} from '../helpers/kafka-tools.js';
import { CODEC_IDS, CODECS } from '../helpers/compat-steps.js';
import { waitFor } from '../helpers/kafka-client.js';
import { fetchStoredBatches } from '../helpers/stored-batches.js';
import { freePort } from '../helpers/ports.js';
import { metricValue } from '../helpers/store-variants.js';

const HAVE_JAVA = javaAvailable();
if (!HAVE_JAVA) {
  console.warn('test/compat/java-client.test.ts: SKIPPED: no `java` on PATH (install a JDK 17+, e.g. '
    + '`apt-get install openjdk-17-jdk-headless`, then `bash .ci/install-kafka.sh`)');
}

const TOOL_MS = 60_000;
const RECORDS_PER_CODEC = 40;
const COMPAT_SOURCE = path.resolve(import.meta.dirname, 'java/Compat.java');

interface GroupRow { topic: string; partition: number; current: number | null; end: number; lag: number | null }

/** The rows of `kafka-consumer-groups --describe --group G` (GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...). */
function groupRows(stdout: string, group: string): GroupRow[] {
  const num = (s: string | undefined) => (s === undefined || s === '-' ? null : Number(s));
  return stdout.split('\n').map((l) => l.trim().split(/\s+/))
    .filter((c) => c[0] === group && /^\d+$/.test(c[2] ?? ''))
    .map((c) => ({ topic: c[1]!, partition: Number(c[2]), current: num(c[3]), end: Number(c[4]), lag: num(c[5]) }))
    .sort((a, b) => a.partition - b.partition);
}

interface Consumed { partition: number; offset: number; key: string; value: string }

/** Console consumer output with print.partition, print.offset and print.key. */
function consumedLines(stdout: string): Consumed[] {
  return stdout.split('\n').filter((l) => l.startsWith('Partition:')).map((l) => {
    const m = /^Partition:(\d+)\tOffset:(\d+)\t([^\t]*)\t(.*)$/.exec(l);
    if (!m) throw new Error(`unexpected console consumer line: ${JSON.stringify(l)}`);
    return { partition: Number(m[1]), offset: Number(m[2]), key: m[3]!, value: m[4]! };
  });
}

/** `name=value` lines printed by Compat.java. */
function parseKeyValues(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

describe.skipIf(!HAVE_JAVA)(`Apache Kafka Java client and CLI tools against a broker process${HAVE_JAVA ? '' : ' (SKIPPED: no java on PATH)'}`, () => {
  let broker: BrokerProcess;
  let jars: KafkaJars;
  let compatClasses: string;
  let metricsPort: number;

  beforeAll(async () => {
    jars = await kafkaJars();
    [broker, compatClasses] = await Promise.all([
      freePort().then((port) => {
        metricsPort = port;
        return startBroker({ settings: { groupInitialRebalanceDelayMs: 0, metricsPort } });
      }),
      compileJava([COMPAT_SOURCE]),
    ]);
  }, 600_000);
  afterAll(async () => {
    await broker?.destroy();
  });

  /** Incremental Fetches the broker has answered (its /metrics; 0 before the series exists). */
  const incrementalFetches = () => metricValue(metricsPort, 'ledgerstream_fetch_sessions',
    'kind="incremental_fetches"');

  /** The broker's recent log, to go with a failure. */
  const brokerLog = () => `--- broker log (tail)\n${broker.output().slice(-6000)}`;

  /** Runs a tool against the broker; fails the test with everything needed unless it exits 0. */
  async function tool(name: KafkaTool, args: string[], options: RunOptions = {}): Promise<RunResult> {
    const r = await runKafkaTool(name, ['--bootstrap-server', broker.bootstrap, ...args], { timeoutMs: TOOL_MS, ...options });
    return expectSuccess(r, brokerLog());
  }

  /** Runs a tool that is expected to fail (exit non-zero, not a timeout). */
  async function toolFails(name: KafkaTool, args: string[]): Promise<RunResult> {
    const r = await runKafkaTool(name, ['--bootstrap-server', broker.bootstrap, ...args], { timeoutMs: TOOL_MS });
    if (r.code === 0 || r.timedOut) throw new Error(`expected a failure:\n${describeRun(r, brokerLog())}`);
    return r;
  }

  async function compat(args: string[]): Promise<Record<string, string>> {
    const r = await runJava('Compat', args, { timeoutMs: 90_000, classpath: [compatClasses] });
    if (r.code !== 0) throw new Error(describeRun(r, brokerLog()));
    return parseKeyValues(r.stdout);
  }

  it('the fetched Kafka jars hold every tool used here', () => {
    expect(jars.version).toMatch(/^\d+\.\d+\.\d+/);
    for (const t of ['topics', 'consoleProducer', 'consoleConsumer', 'consumerGroups', 'configs'] as const) {
      expect(jars.toolClass(t)).toMatch(/^(org\.apache\.kafka\.tools|kafka\.admin)\./);
    }
  });

  it('kafka-topics: create, list, describe, alter partitions, delete', async () => {
    const topic = 'java-topics';
    const created = await tool('topics', ['--create', '--topic', topic, '--partitions', '2',
      '--replication-factor', '1', '--config', 'retention.ms=7200000']);
    expect(created.stdout).toContain(`Created topic ${topic}.`);

    const again = await toolFails('topics', ['--create', '--topic', topic, '--partitions', '2']);
    expect(again.stdout + again.stderr).toMatch(/TopicExistsException|already exists/);

    const listed = await tool('topics', ['--list']);
    expect(listed.stdout.split('\n')).toContain(topic);

    const described = await tool('topics', ['--describe', '--topic', topic]);
    expect(described.stdout).toMatch(new RegExp(`Topic: ${topic}\\tTopicId: \\S+\\tPartitionCount: 2\\tReplicationFactor: 1\\tConfigs: .*retention\\.ms=7200000`));
    for (const p of [0, 1]) expect(described.stdout).toMatch(new RegExp(`Partition: ${p}\\tLeader: 1\\tReplicas: 1\\tIsr: 1`));

    await tool('topics', ['--alter', '--topic', topic, '--partitions', '4']);
    const altered = await tool('topics', ['--describe', '--topic', topic]);
    expect(altered.stdout).toContain('PartitionCount: 4');
    expect(altered.stdout.match(/\tPartition: \d+\tLeader: 1/g)).toHaveLength(4);

    const shrink = await toolFails('topics', ['--alter', '--topic', topic, '--partitions', '3']);
    expect(shrink.stdout + shrink.stderr).toContain('InvalidPartitionsException');

    await tool('topics', ['--delete', '--topic', topic]);
    const after = await tool('topics', ['--list']);
    expect(after.stdout.split('\n')).not.toContain(topic);
    const gone = await toolFails('topics', ['--describe', '--topic', topic]);
    expect(gone.stdout + gone.stderr).toMatch(/does not exist/);
  }, 90_000);

  describe('console producer and consumer, consumer groups', () => {
    const topic = 'java-console';
    const group = 'java-console-readers';
    const produced: { key: string; value: string }[] = [];
    const seenBatches = new Set<string>();

    async function consoleProduce(lines: { key: string; value: string }[], codecArgs: string[]): Promise<void> {
      await tool('consoleProducer', ['--topic', topic, '--reader-property', 'parse.key=true',
        '--command-property', 'acks=all', ...codecArgs],
      { input: lines.map((l) => `${l.key}\t${l.value}\n`).join('') });
      produced.push(...lines);
    }

    async function consoleConsume(maxMessages: number, fromBeginning: boolean,
      options: { group?: string; consumerProperties?: string[] } = {}): Promise<Consumed[]> {
      const r = await tool('consoleConsumer', ['--topic', topic, '--group', options.group ?? group,
        ...(options.consumerProperties ?? []).flatMap((p) => ['--consumer-property', p]),
        ...(fromBeginning ? ['--from-beginning'] : []), '--max-messages', String(maxMessages), '--timeout-ms', '30000',
        '--formatter-property', 'print.partition=true', '--formatter-property', 'print.offset=true',
        '--formatter-property', 'print.key=true']);
      expect(r.stderr).toContain(`Processed a total of ${maxMessages} messages`);
      return consumedLines(r.stdout);
    }

    /** Every record once; per key (one partition each) in produce order; offsets 0.. per partition. */
    function expectEverything(records: Consumed[]): void {
      expect(records).toHaveLength(produced.length);
      const byKey = (rs: { key: string; value: string }[]) => {
        const m = new Map<string, string[]>();
        for (const r of rs) m.set(r.key, [...(m.get(r.key) ?? []), r.value]);
        return Object.fromEntries([...m].sort());
      };
      expect(byKey(records)).toEqual(byKey(produced));
      const byPartition = new Map<number, number[]>();
      for (const r of records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
      for (const offsets of byPartition.values()) expect(offsets).toEqual(offsets.map((_, i) => i));
    }

    beforeAll(async () => {
      await tool('topics', ['--create', '--topic', topic, '--partitions', '3']);
    }, 60_000);

    for (const codec of CODECS) {
      // --compression-codec, not --command-property compression.type=...: ConsoleProducer puts
      // compression.type from its own flag (default none) over the producer properties
      // (ConsoleProducerOptions.producerProps in 4.3.1), so the property alone sends uncompressed.
      it(`console producer with --compression-codec ${codec}; batches stored with that codec`, async () => {
        const lines = Array.from({ length: RECORDS_PER_CODEC }, (_, j) => ({ key: `k${j % 5}`, value: `${codec}-${j}-${'x'.repeat(j * 3)}` }));
        await consoleProduce(lines, ['--compression-codec', codec]);
        const fresh = (await fetchStoredBatches(broker.port, topic, 3)).filter((b) => !seenBatches.has(`${b.partition}:${b.baseOffset}`));
        for (const b of fresh) seenBatches.add(`${b.partition}:${b.baseOffset}`);
        expect(fresh.reduce((n, b) => n + b.records, 0)).toBe(RECORDS_PER_CODEC);
        expect(new Set(fresh.map((b) => b.codec))).toEqual(new Set([CODEC_IDS[codec]]));
      }, 60_000);
    }

    it('console consumer in a group reads every record back (--from-beginning --max-messages --group)', async () => {
      expect(produced).toHaveLength(CODECS.length * RECORDS_PER_CODEC);
      expectEverything(await consoleConsume(produced.length, true));
    }, 60_000);

    it('console consumer reads every record back through an incremental fetch session (KIP-227)', async () => {
      // 1 KiB a partition per Fetch: each partition holds a batch per codec (5), and a Fetch
      // gets about one of each, so the records take several Fetches, each after the first
      // naming only the partitions whose position moved and getting only those with news.
      const before = await incrementalFetches();
      expectEverything(await consoleConsume(produced.length, true,
        { group: `${group}-sessions`, consumerProperties: ['max.partition.fetch.bytes=1024'] }));
      expect(await incrementalFetches() - before).toBeGreaterThanOrEqual(CODECS.length - 1);
    }, 60_000);

    it('kafka-consumer-groups --list and --describe show the committed offsets and the lag', async () => {
      const listed = await tool('consumerGroups', ['--list']);
      expect(listed.stdout.split('\n')).toContain(group);

      const caughtUp = groupRows((await tool('consumerGroups', ['--describe', '--group', group])).stdout, group);
      expect(caughtUp.map((r) => r.partition)).toEqual([0, 1, 2]);
      for (const r of caughtUp) {
        expect(r.topic).toBe(topic);
        expect(r.current).toBe(r.end);
        expect(r.lag).toBe(0);
      }
      expect(caughtUp.reduce((n, r) => n + r.end, 0)).toBe(produced.length);

      // Five more records: the lag shows them.
      await consoleProduce(Array.from({ length: 5 }, (_, j) => ({ key: `k${j}`, value: `late-${j}` })), ['--compression-codec', 'lz4']);
      const behind = groupRows((await tool('consumerGroups', ['--describe', '--group', group])).stdout, group);
      expect(behind.reduce((n, r) => n + (r.lag ?? 0), 0)).toBe(5);
      expect(behind.reduce((n, r) => n + (r.current ?? 0), 0)).toBe(produced.length - 5);

      const state = await tool('consumerGroups', ['--describe', '--group', group, '--state']);
      expect(state.stdout).toMatch(new RegExp(`${group}\\s+${broker.bootstrap.replace(/\./g, '\\.')}\\s+\\(1\\)\\s+\\S+\\s+Empty\\s+0`));
    }, 60_000);

    it('kafka-consumer-groups --reset-offsets --to-earliest --execute, then the group reads everything again', async () => {
      const reset = await tool('consumerGroups', ['--reset-offsets', '--to-earliest', '--group', group, '--topic', topic, '--execute']);
      const planned = groupRows(reset.stdout, group);
      expect(planned.map((r) => [r.partition, r.current])).toEqual([[0, 0], [1, 0], [2, 0]]); // NEW-OFFSET column
      // The reset is an admin change (OffsetCommit outside any generation): it is in the audit trail.
      // The log comes through a pipe, maybe after the tool has its answer: wait for the line.
      const commitAuditLines = () => broker.output().split('\n').filter((l) => l.includes('"audit":true') && l.includes('"api":"OffsetCommit"'));
      await waitFor('the OffsetCommit audit line', () => commitAuditLines().length >= 1);
      const audited = commitAuditLines();
      expect((JSON.parse(audited.at(-1)!) as { request: string }).request).toContain(`"groupId":"${group}"`);

      const rewound = groupRows((await tool('consumerGroups', ['--describe', '--group', group])).stdout, group);
      for (const r of rewound) {
        expect(r.current).toBe(0);
        expect(r.lag).toBe(r.end);
      }
      // No --from-beginning: the group's committed offsets (now 0) decide where it starts.
      expectEverything(await consoleConsume(produced.length, false));

      const done = groupRows((await tool('consumerGroups', ['--describe', '--group', group])).stdout, group);
      expect(done.every((r) => r.lag === 0)).toBe(true);

      const deleted = await tool('consumerGroups', ['--delete', '--group', group]);
      expect(deleted.stdout).toContain(`Deletion of requested consumer groups ('${group}') was successful.`);
      expect((await tool('consumerGroups', ['--list'])).stdout.split('\n')).not.toContain(group);
    }, 90_000);

    /** `--describe --members` rows (GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS) of the active group below. */
    let liveMembers: string[][] = [];

    it('kafka-consumer-groups on an active group: --members, --state, reset refused, --delete-offsets after', async () => {
      const live = 'java-live-readers';
      // Reads everything, then waits for one more record, which this test sends at the end.
      const abort = new AbortController();
      const consumer = runKafkaTool('consoleConsumer', ['--bootstrap-server', broker.bootstrap, '--topic', topic,
        '--group', live, '--from-beginning', '--max-messages', String(produced.length + 1), '--timeout-ms', '45000'],
      { timeoutMs: 60_000, signal: abort.signal });
      try {
        let members: string[][] = [];
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline) {
          const r = await tool('consumerGroups', ['--describe', '--group', live, '--members']);
          members = r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[0] === live);
          if (members.length === 1 && members[0]![4] === '3') break;
          await new Promise((res) => setTimeout(res, 300));
        }
        liveMembers = members;
        // GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS: one member holding all three partitions.
        // (The HOST column is checked by the next test.)
        expect(members).toHaveLength(1);
        expect(members[0]![1]).toMatch(/^console-consumer-/);
        expect(members[0]![3]).toMatch(/^console-consumer$/);
        expect(members[0]![4]).toBe('3');

        const state = await tool('consumerGroups', ['--describe', '--group', live, '--state']);
        expect(state.stdout).toMatch(new RegExp(`${live}\\s+\\S+\\s+\\(1\\)\\s+range\\S*\\s+Stable\\s+1`));

        // Kafka refuses to reset the offsets of a group that has members.
        const reset = await runKafkaTool('consumerGroups', ['--bootstrap-server', broker.bootstrap, '--reset-offsets',
          '--to-earliest', '--group', live, '--topic', topic, '--execute'], { timeoutMs: TOOL_MS });
        expect(reset.stdout + reset.stderr).toMatch(/can only be reset if the group '?java-live-readers'? is inactive/);

        await consoleProduce([{ key: 'k0', value: 'wake-up' }], ['--compression-codec', 'gzip']);
        const done = expectSuccess(await consumer, brokerLog());
        expect(done.stderr).toContain(`Processed a total of ${produced.length} messages`);
        expect(done.stdout.split('\n')).toContain('wake-up');
      } finally {
        abort.abort(); // a no-op once it has exited by --max-messages
        await consumer;
      }

      const empty = await tool('consumerGroups', ['--describe', '--group', live, '--state']);
      expect(empty.stdout).toMatch(new RegExp(`${live}\\s+\\S+\\s+\\(1\\)\\s+\\S+\\s+Empty\\s+0`));
      // OffsetDelete: the group keeps no offsets for the topic afterwards.
      const delOffsets = await tool('consumerGroups', ['--delete-offsets', '--group', live, '--topic', topic]);
      expect(delOffsets.stdout).toMatch(/Request succeed(ed)? for deleting offsets from group java-live-readers/);
      expect(delOffsets.stdout.match(new RegExp(`${topic}\\s+\\d\\s+Successful`, 'g'))).toHaveLength(3);
      const after = await tool('consumerGroups', ['--describe', '--group', live]);
      expect(groupRows(after.stdout, live)).toEqual([]);
    }, 120_000);

    // Kafka reports a member's host as InetAddress.toString(), "/127.0.0.1", with no port, and
    // kafka-consumer-groups --members prints it verbatim.
    it('kafka-consumer-groups --members shows HOST as Kafka does ("/127.0.0.1")', () => {
      expect(liveMembers).toHaveLength(1);
      expect(liveMembers[0]![2]).toBe('/127.0.0.1');
    });
  });

  it('kafka-configs: --describe, --alter --add-config / --delete-config on a topic', async () => {
    const topic = 'java-configs';
    await tool('topics', ['--create', '--topic', topic, '--partitions', '1']);
    const entity = ['--entity-type', 'topics', '--entity-name', topic];

    const before = await tool('configs', ['--describe', ...entity]);
    expect(before.stdout).toContain(`Dynamic configs for topic ${topic} are:`);
    expect(before.stdout).not.toContain('retention.ms=');

    const altered = await tool('configs', ['--alter', ...entity, '--add-config', 'retention.ms=3600000,max.message.bytes=2000000']);
    expect(altered.stdout).toContain(`Completed updating config for topic ${topic}.`);
    const after = await tool('configs', ['--describe', ...entity]);
    expect(after.stdout).toMatch(/retention\.ms=3600000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=3600000\}/);
    expect(after.stdout).toMatch(/max\.message\.bytes=2000000 /);

    await tool('configs', ['--alter', ...entity, '--delete-config', 'max.message.bytes']);
    const deleted = await tool('configs', ['--describe', ...entity]);
    expect(deleted.stdout).toContain('retention.ms=3600000');
    expect(deleted.stdout).not.toContain('max.message.bytes');

    // kafka-topics shows the override too.
    expect((await tool('topics', ['--describe', '--topic', topic])).stdout).toContain('Configs: retention.ms=3600000');

    // A bad value is refused with the broker's reason, and nothing changes.
    const bad = await toolFails('configs', ['--alter', ...entity, '--add-config', 'retention.ms=soon']);
    expect(bad.stdout + bad.stderr).toMatch(/InvalidConfigurationException|InvalidRequestException|ConfigException/);
  }, 90_000);

  it('AdminClient: describeCluster, createTopics, describeTopics, describeConfigs, listOffsets, deleteRecords', async () => {
    const v = await compat(['admin', broker.bootstrap, 'java-admin']);
    expect(v['cluster.nodes']).toBe('1');
    expect(v['cluster.node.1']).toBe(broker.bootstrap);
    expect(v['cluster.controller']).toBe('1');
    expect(v['cluster.id']).toMatch(/^\S{8,}$/);
    expect(v.create).toBe('ok');
    expect(v['create.again']).toBe('TopicExistsException');
    expect(v['create.validateOnly']).toBe('ok');
    expect(v['list.hasValidateOnlyTopic']).toBe('false');
    expect(v['describe.partitions']).toBe('2');
    expect(v['describe.leader.0']).toBe('1');
    expect(v['config.retention.ms']).toBe('86400000 DYNAMIC_TOPIC_CONFIG');
    expect(v['config.cleanup.policy']).toBe('delete DEFAULT_CONFIG');
    expect(v['offsets.earliest']).toBe('0');
    expect(v['offsets.latest']).toBe('10');
    expect(v['offsets.forTimestamp']).toBe('5');
    expect(v['offsets.forFutureTimestamp']).toBe('-1');
    expect(v['offsets.latest.1']).toBe('0');
    expect(v['deleteRecords.lowWatermark']).toBe('4');
    expect(v['offsets.earliest.afterDelete']).toBe('4');
    expect(v['deleteRecords.pastEnd']).toBe('OffsetOutOfRangeException');
    expect(v['consume.count']).toBe('6');
    expect(v['consume.firstOffset']).toBe('4');
    expect(v['consume.firstValue']).toBe('v4');
  }, 120_000);

  it('idempotent KafkaProducer (acks=all, 5 in flight, zstd): every record once, in order, at the acknowledged offsets', async () => {
    const count = 3000;
    const v = await compat(['idempotent', broker.bootstrap, 'java-idempotent', String(count), '3']);
    expect(v.sent).toBe(String(count));
    expect(v['sent.partitions']).toBe('3');
    expect(v['sent.offsetsContiguous']).toBe('true');
    expect(v.producers).toBe('1');
    expect(v['producer.epoch']).toBe('0');
    expect(v.read).toBe(String(count));
    expect(v['read.duplicates']).toBe('0');
    expect(v['read.matchesSent']).toBe('true');
    expect(v['read.endOffsetsTotal']).toBe(String(count));
    // compression.type=zstd as a producer property: the batches are stored zstd, with the
    // producer id of an idempotent producer.
    const batches = await fetchStoredBatches(broker.port, 'java-idempotent', 3);
    expect(batches.reduce((n, b) => n + b.records, 0)).toBe(count);
    expect(new Set(batches.map((b) => b.codec))).toEqual(new Set([CODEC_IDS.zstd]));
    expect(new Set(batches.map((b) => b.producerId)).size).toBe(1);
    expect(batches[0]!.producerId >= 0n).toBe(true);
  }, 120_000);
});
