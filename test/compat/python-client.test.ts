/**
 * Compatibility: librdkafka through confluent-kafka-python against a real broker process.
 *
 * test/compat/python/compat.py has one subcommand per step, each printing one JSON object. The
 * client is Debian's python3-confluent-kafka (1.7.0 on bookworm, on Debian's librdkafka 2.0.2,
 * for /usr/bin/python3) as .ci/install-compat-clients.sh installs it; the script also drives
 * confluent-kafka 2.x from PyPI (its own newer librdkafka), using the AdminClient calls 1.7 lacks.
 * Every distinct client found is tested (see `pythonCandidates`); LEDGERSTREAM_PYTHON adds
 * another interpreter, e.g. a venv with `pip install confluent-kafka`.
 *
 * Covered: AdminClient create_topics (and again, and validate_only), list_topics, describe_configs;
 * an idempotent Producer (acks=all) with each compression.type, in small batches, every delivery
 * report checked and the stored batches checked with a raw Fetch; a Consumer in a group with
 * manual commit() reading everything back in order per partition; list_groups (ListGroups +
 * DescribeGroups) while a member and after; committed offsets; resetting the group's offsets to 0
 * and reading everything again; an idempotent producer idle past producer.id.expiration.ms that
 * goes on sending (librdkafka treats the broker refusing its sequence as fatal). With
 * confluent-kafka 2.x also describe_topics, describe_cluster, list_offsets,
 * list_consumer_groups, describe_consumer_groups, list_consumer_group_offsets and
 * alter_consumer_group_offsets (1.7 resets by a commit from a consumer outside the group).
 *
 * Skipped, with a message, only when no Python can import confluent_kafka.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { CODEC_IDS, CODECS, COMPAT_CACHE_DIR, type CompatRecord as Rec, VALUE_PAD, expectContiguousDeliveries, expectEveryRecordOnce, runJsonStep } from '../helpers/compat-steps.js';
import { kafkaClient } from '../helpers/kafka-client.js';
import { fetchStoredBatches } from '../helpers/stored-batches.js';
import { createTopic } from '../helpers/txn-steps.js';

const SCRIPT = path.resolve(import.meta.dirname, 'python/compat.py');
/** Each subcommand bounds itself at about 40 s (compat.py's STEP_S); this is the backstop. */
const STEP_MS_MAX = 60_000;

const PARTITIONS = 3;
const RECORDS_PER_CODEC = 300;

const ADMIN_FEATURES = ['describe_topics', 'describe_cluster', 'list_offsets', 'list_consumer_groups',
  'describe_consumer_groups', 'list_consumer_group_offsets', 'alter_consumer_group_offsets'] as const;
interface PythonClient {
  /** The interpreter (path or name) that imports this confluent_kafka. */
  python: string; pythonVersion: string; version: string; libversion: string; module: string;
  features: Record<(typeof ADMIN_FEATURES)[number], boolean>;
}

/**
 * Interpreters that may have confluent_kafka, in order of preference: LEDGERSTREAM_PYTHON;
 * Debian's /usr/bin/python3 (python3-confluent-kafka installs there); the venv
 * .ci/install-compat-clients.sh makes when Debian's package is not to be had; python3 on PATH.
 * Each distinct client (confluent-kafka and librdkafka versions) is tested once.
 */
function pythonCandidates(): PythonClient[] {
  const candidates = [process.env.LEDGERSTREAM_PYTHON, '/usr/bin/python3',
    path.join(COMPAT_CACHE_DIR, 'python-venv/bin/python'), 'python3'].filter((p): p is string => !!p);
  const found = new Map<string, PythonClient>();
  for (const python of candidates) {
    const r = spawnSync(python, [SCRIPT, 'version'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) continue;
    const v = JSON.parse(r.stdout) as Omit<PythonClient, 'python'>;
    const key = `${v.version}/${v.libversion}`;
    if (!found.has(key)) found.set(key, { ...v, python });
  }
  return [...found.values()];
}

const CLIENTS = pythonCandidates();
if (CLIENTS.length === 0) {
  console.warn('test/compat/python-client.test.ts: SKIPPED: no Python with confluent_kafka (install Debian\'s '
    + 'python3-confluent-kafka: `bash .ci/install-compat-clients.sh`, or set LEDGERSTREAM_PYTHON)');
}

type PartitionValues = Record<string, number | string>;
interface ListedGroup {
  error: string; state: string; protocolType: string; protocol: string;
  members: { memberId: string; clientId: string; host: string; assigned: Record<string, number[]> | null }[];
}
interface DescribedConsumerGroup {
  error: string; state: string; simple: boolean; assignor: string; coordinator: number;
  members: { memberId: string; clientId: string; host: string; assigned: Record<string, number[]> }[];
}
interface Produced {
  codec: string; unflushed: number; delivered: Rec[]; idempState: string; producerId: number; producerEpoch: number;
}
interface Consumed {
  records: Rec[]; errors: string[]; commit: string; 'commit.partitions': PartitionValues; assignment: number[];
  committed: PartitionValues; whileMember: ListedGroup; 'whileMember.describeConsumerGroups'?: DescribedConsumerGroup;
}
interface GroupView {
  'listGroups.all': Record<string, string>; listGroups: ListedGroup; committed: PartitionValues;
  watermarks: Record<string, [number, number] | string>;
  listConsumerGroups?: { errors: string[]; groups: Record<string, { state: string; simple: boolean }> };
  describeConsumerGroups?: DescribedConsumerGroup; listConsumerGroupOffsets?: PartitionValues;
}
interface Reset { method: string; reset: PartitionValues; committed: PartitionValues }

/** { '0': v, '1': v, '2': v } */
const perPartition = <T>(v: T): Record<string, T> => Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [String(p), v]));

describe.skipIf(CLIENTS.length === 0)(`confluent-kafka-python (librdkafka) against a broker process${CLIENTS.length === 0 ? ' (SKIPPED: no confluent_kafka)' : ''}`, () => {
  describe.each(CLIENTS)('confluent-kafka $version, librdkafka $libversion ($python)', (client) => {
    let broker: BrokerProcess;

    beforeAll(async () => {
      broker = await startBroker({ settings: { uploadIntervalMs: 100 } });
    });
    afterAll(async () => {
      await broker?.destroy();
    });

    /** Runs one subcommand of compat.py; fails with its output and the broker's log unless it printed JSON and exited 0. */
    const py = <T>(args: string[]): Promise<T> =>
      runJsonStep<T>(`${client.python} compat.py`, client.python, [SCRIPT], args, broker, STEP_MS_MAX);


    it('AdminClient: create_topics (and again, validate_only), list_topics, describe_configs, watermarks', async () => {
      const topic = 'py-admin';
      const v = await py<Record<string, any>>(['admin', topic, '2']);
      expect(v.create).toBe('');
      expect(v.createAgain).toBe('TOPIC_ALREADY_EXISTS');
      expect(v.validateOnly).toBe('');
      expect(v.brokers).toEqual([`1@${broker.bootstrap}`]);
      expect(v.controller).toBe(1);
      expect(v.cluster).toMatch(/^\S{8,}$/);
      expect(v.topics).toEqual([topic]); // validate_only created nothing
      expect(v['topic.error']).toBe('');
      expect(v['topic.partitions']).toEqual([0, 1].map((p) => ({ partition: p, leader: 1, replicas: [1], isr: [1], error: '' })));
      expect(v.configs).toBe('');
      expect(v['configs.values']).toEqual({ 'retention.ms': '3600000 DYNAMIC_TOPIC_CONFIG', 'cleanup.policy': 'delete DEFAULT_CONFIG' });
      expect(v.watermarks).toEqual({ 0: [0, 0], 1: [0, 0] });
      if (client.features.describe_topics) {
        expect(v.describeTopics).toMatchObject({ error: '', name: topic, internal: false });
        expect(v.describeTopics.topicId).toMatch(/^[A-Za-z0-9+/_-]{22}/);
        expect(v.describeTopics.partitions).toEqual([0, 1].map((p) => ({ partition: p, leader: 1, replicas: [1], isr: [1] })));
      }
      if (client.features.describe_cluster) {
        expect(v.describeCluster).toEqual({ error: '', clusterId: v.cluster, controller: 1, nodes: [`1@${broker.bootstrap}`] });
      }
      if (client.features.list_offsets) {
        expect(v.listOffsets).toEqual({ 0: { earliest: 0, latest: 0 }, 1: { earliest: 0, latest: 0 } });
      }
    }, 60_000);

    describe('idempotent Producer with every compression.type, Consumer group, group admin and offset reset', () => {
      const topic = 'py-records';
      const group = 'py-readers';
      /** What the producers sent, in produce order, with the acknowledged offsets. */
      const sent: Rec[] = [];
      const end = () => sent.length / PARTITIONS;

      const expectEverything = (records: Rec[]) => expectEveryRecordOnce(records, sent, PARTITIONS);

      beforeAll(async () => {
        const v = await py<Record<string, unknown>>(['admin', topic, String(PARTITIONS)]);
        expect(v.create).toBe('');
      });

      /** Producer id of each codec's producer, to find its batches on the broker. */
      const producerIds = new Map<string, number>();

      for (const codec of CODECS) {
        it(`produces with compression.type=${codec}, acks=all, enable.idempotence: every delivery report ok, at contiguous offsets`, async () => {
          const v = await py<Produced>(['produce', topic, String(PARTITIONS), codec, String(RECORDS_PER_CODEC)]);
          expect(v.unflushed).toBe(0);
          expectContiguousDeliveries(v.delivered, sent, RECORDS_PER_CODEC, PARTITIONS, codec, VALUE_PAD);
          sent.push(...v.delivered);
          // librdkafka's idempotence state machine got a producer id (InitProducerId), epoch 0.
          expect(v.idempState).toBe('Assigned');
          expect(v.producerId).toBeGreaterThanOrEqual(0);
          expect(v.producerEpoch).toBe(0);
          producerIds.set(codec, v.producerId);
          // Several batches per partition: sequence numbers ran across batches and requests.
          const mine = (await fetchStoredBatches(broker.port, topic, PARTITIONS)).filter((b) => b.producerId === BigInt(v.producerId));
          expect(mine.length).toBeGreaterThan(PARTITIONS);
          expect(mine.reduce((n, b) => n + b.records, 0)).toBe(RECORDS_PER_CODEC);
        }, 60_000);

        // Older librdkafka compresses with gzip, snappy and lz4 only when the broker advertises
        // Produce v0 (librdkafka #4956); the broker advertises it, as Kafka 4 does, and refuses it.
        it(`the broker stored that producer's batches compressed with ${codec}`, async () => {
          const producerId = producerIds.get(codec);
          expect(producerId).toBeDefined();
          const mine = (await fetchStoredBatches(broker.port, topic, PARTITIONS)).filter((b) => b.producerId === BigInt(producerId!));
          expect(mine.length).toBeGreaterThan(0);
          expect(new Set(mine.map((b) => b.codec))).toEqual(new Set([CODEC_IDS[codec]]));
        }, 30_000);
      }

      it('a Consumer in a group reads everything in order per partition and commit()s; list_groups shows it Stable while a member', async () => {
        expect(sent).toHaveLength(CODECS.length * RECORDS_PER_CODEC);
        const v = await py<Consumed>(['consume', topic, group, String(sent.length)]);
        expect(v.errors).toEqual([]);
        expectEverything(v.records);
        expect(v.commit).toBe('');
        expect(v['commit.partitions']).toEqual(perPartition(end()));
        expect(v.assignment).toEqual([0, 1, 2]);
        expect(v.committed).toEqual(perPartition(end()));
        const g = v.whileMember;
        expect(g).toMatchObject({ error: '', state: 'Stable', protocolType: 'consumer', protocol: 'range' });
        expect(g.members).toHaveLength(1);
        expect(g.members[0]).toMatchObject({ clientId: 'ledgerstream-compat-python', assigned: { [topic]: [0, 1, 2] } });
        expect(g.members[0]!.host).toMatch(/127\.0\.0\.1/);
        if (client.features.describe_consumer_groups) {
          const d = v['whileMember.describeConsumerGroups']!;
          expect(d).toMatchObject({ error: '', state: 'STABLE', simple: false, assignor: 'range', coordinator: 1 });
          expect(d.members).toEqual([{ ...g.members[0], assigned: { [topic]: [0, 1, 2] } }]);
        }
      }, 60_000);

      it('list_groups and the committed offsets after the consumer left (and the 2.x group APIs where present)', async () => {
        const v = await py<GroupView>(['group', group, topic, String(PARTITIONS)]);
        expect(v['listGroups.all'][group]).toMatch(/^Empty\//);
        expect(v.listGroups).toMatchObject({ error: '', state: 'Empty', members: [] });
        expect(v.committed).toEqual(perPartition(end()));
        expect(v.watermarks).toEqual(perPartition([0, end()]));
        if (client.features.list_consumer_groups) {
          expect(v.listConsumerGroups!.errors).toEqual([]);
          expect(v.listConsumerGroups!.groups[group]).toMatchObject({ state: 'EMPTY' });
        }
        if (client.features.describe_consumer_groups) {
          expect(v.describeConsumerGroups).toMatchObject({ error: '', state: 'EMPTY', members: [], coordinator: 1 });
        }
        if (client.features.list_consumer_group_offsets) {
          expect(v.listConsumerGroupOffsets).toEqual(perPartition(end()));
        }
      }, 60_000);

      // BUG (broker, group coordinator): once the last member of a classic group leaves, Kafka keeps
      // the group's protocol type ("consumer"; ClassicGroup.initNextGeneration clears only the
      // protocol name), so ListGroups/DescribeGroups report Empty/"consumer". Ledgerstream derives
      // the protocol type from the members (src/group/group.ts `get protocolType()`), so it reports
      // "", and librdkafka 2.x then calls the group a simple consumer group
      // (list_consumer_groups/describe_consumer_groups: is_simple_consumer_group=True).
      it('list_groups keeps protocol type "consumer" for a group whose members left, as Kafka does', async () => {
        const v = await py<GroupView>(['group', group, topic, String(PARTITIONS)]);
        expect(v.listGroups.protocolType).toBe('consumer');
        expect(v['listGroups.all'][group]).toBe('Empty/consumer');
        if (client.features.list_consumer_groups) expect(v.listConsumerGroups!.groups[group]!.simple).toBe(false);
        if (client.features.describe_consumer_groups) expect(v.describeConsumerGroups!.simple).toBe(false);
      }, 60_000);

      it('resets the group\'s offsets to 0 (alter_consumer_group_offsets, or a commit from outside the group); the group reads everything again', async () => {
        const r = await py<Reset>(['reset', group, topic, String(PARTITIONS)]);
        expect(r.method).toBe(client.features.alter_consumer_group_offsets ? 'alter_consumer_group_offsets' : 'commit');
        expect(r.reset).toEqual(perPartition(0));
        expect(r.committed).toEqual(perPartition(0));

        const again = await py<Consumed>(['consume', topic, group, String(sent.length)]);
        expect(again.errors).toEqual([]);
        expectEverything(again.records);
        expect(again.commit).toBe('');
        expect(again.committed).toEqual(perPartition(end()));
      }, 60_000);
    });

    describe('an idempotent producer idle past producer.id.expiration.ms', () => {
      const EXPIRATION_MS = 1500;
      /** Expiry runs with each retention pass (every 300 ms here). */
      const IDLE_S = 4;
      let expiring: BrokerProcess;
      beforeAll(async () => {
        expiring = await startBroker({ settings: { producerIdExpirationMs: EXPIRATION_MS,
          retentionCheckIntervalMs: 300 } });
      });
      afterAll(async () => {
        await expiring?.destroy();
      });

      // The broker forgets the producer; librdkafka goes on from the sequence it reached, and an
      // OUT_OF_ORDER_SEQUENCE_NUMBER answer would be fatal to it. Kafka takes such a producer
      // back at any sequence, and so does Ledgerstream.
      it('keeps sending after its producer state expired', async () => {
        const topic = 'py-idle';
        await createTopic(kafkaClient(expiring.bootstrap), topic, 1);
        const v = await runJsonStep<{ delivered: { o?: number; v: string; err: string }[];
          errors: string[] }>(`${client.python} compat.py`, client.python, [SCRIPT],
        ['idle', topic, String(IDLE_S)], expiring, STEP_MS_MAX);
        expect(v.errors).toEqual([]);
        expect(v.delivered).toEqual(['before-0', 'before-1', 'before-2', 'after-0', 'after-1',
          'after-2'].map((value, o) => ({ o, v: value, err: '' })));
        expect(expiring.output()).toMatch(/idle producer ids expired/);
      }, 60_000);
    });
  });
});
