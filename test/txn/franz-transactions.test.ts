/**
 * franz-go transactions (test/compat/franz/txn/main.go) on one broker and on the three-broker
 * cluster: a kgo.GroupTransactSession consume-transform-produce loop that only commits, one that
 * also ends every other transaction with End(ctx, kgo.TryAbort) (the session rewinds to the
 * committed offsets and copies those records again), and a plain transactional producer that
 * aborts one transaction and commits the next. A franz-go read_committed reader then must see
 * every input record copied exactly once and nothing of an aborted transaction (kafkajs cannot
 * read franz-go's default snappy batches), and the group's offsets (committed in the
 * transactions) must stand at the input's end.
 *
 * Needs `go` (the module proxy the first time); skipped only without it.
 */
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENTS, deploymentForSuite } from '../helpers/deployments.js';
import { BUILD_MS_MAX, HAVE_GO, buildFranzTxn } from '../helpers/franz-build.js';
import { kafkaClient } from '../helpers/kafka-client.js';
import { runCommand } from '../helpers/run-command.js';
import { committedAndHigh, createTopic, seedValues } from '../helpers/txn-steps.js';

/** main.go bounds each step at 90 s; this is the backstop. */
const STEP_MS_MAX = 120_000;
const RECORDS = 150;

interface Session { copied: number; committed: number; aborted: number; errors: string[] | null }
interface Read { values: string[]; errors: string[] | null }
interface Aborted {
  'aborted.produce': string[] | null; 'aborted.end': string;
  'committed.produce': string[] | null; 'committed.end': string;
}

describe.skipIf(!HAVE_GO).each(DEPLOYMENTS.filter((d) => d.name !== 's3'))(
  'franz-go transactions on $name', (variant) => {
    const deployment = deploymentForSuite(variant, { uploadIntervalMs: 100,
      groupInitialRebalanceDelayMs: 0 });
    let kafka: Kafka;
    let bin: string;
    beforeAll(async () => {
      bin = await buildFranzTxn();
      kafka = kafkaClient(deployment.bootstrap);
    }, BUILD_MS_MAX);

    const step = async <T>(args: string[]): Promise<T> => {
      const r = await runCommand(bin, [args[0]!, deployment.bootstrap, ...args.slice(1)],
        { timeoutMs: STEP_MS_MAX });
      const why = `compat-franz-txn ${args.join(' ')}: exited ${r.error ?? r.code}\n`
        + `--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-8000)}`;
      expect(r.code, why).toBe(0);
      return JSON.parse(r.stdout) as T;
    };
    /** Every value of `topic` a franz-go reader of that isolation sees, sorted. */
    const readValues = async (topic: string, committed: boolean, expected: number) => {
      const r = await step<Read>(['read', topic, committed ? 'committed' : 'uncommitted',
        `${expected}`]);
      expect(r.errors ?? []).toEqual([]);
      return r.values;
    };

    /** Seeds an input topic, runs a session copier over it and checks the output exactly. */
    const copyWithSession = async (name: string, abortEvery: number): Promise<Session> => {
      const input = `franz-${name}-in-${variant.name}`;
      const output = `franz-${name}-out-${variant.name}`;
      const group = `franz-${name}-${variant.name}`;
      await createTopic(kafka, input, 2);
      await createTopic(kafka, output, 3);
      const sent = Array.from({ length: RECORDS }, (_, i) => `n${i}`);
      await seedValues(kafka, input, sent);
      const s = await step<Session>(['session', group, input, output, `tx-${group}`,
        `${RECORDS}`, `${abortEvery}`]);
      expect(s.errors ?? []).toEqual([]);
      expect(s.copied).toBe(RECORDS);
      const seen = await readValues(output, true, RECORDS);
      expect(seen).toEqual(sent.map((v) => `copy-${v}`).sort());
      const { committed, high } = await committedAndHigh(kafka, group, input);
      expect(committed).toEqual(high);
      return s;
    };

    it('GroupTransactSession: consume-transform-produce that commits every transaction',
      async () => {
        const s = await copyWithSession('commit', 0);
        expect(s.aborted).toBe(0);
        expect(s.committed).toBeGreaterThan(0);
      }, 180_000);

    it('GroupTransactSession: End(TryAbort) every other transaction; aborted copies stay unseen',
      async () => {
        const s = await copyWithSession('abort', 2);
        expect(s.aborted).toBeGreaterThan(0);
        const output = `franz-abort-out-${variant.name}`;
        // The aborted copies are in the log: a read_uncommitted reader sees them too.
        const everything = await readValues(output, false, RECORDS + 1);
        expect(everything.length).toBeGreaterThan(RECORDS);
      }, 180_000);

    it('a transactional producer: EndTransaction(TryAbort), then a committed transaction',
      async () => {
        const topic = `franz-producer-abort-${variant.name}`;
        await createTopic(kafka, topic, 3);
        const a = await step<Aborted>(['abort', topic, `tx-franz-producer-${variant.name}`, '10']);
        expect(a).toEqual({ 'aborted.produce': null, 'aborted.end': '',
          'committed.produce': null, 'committed.end': '' });
        const committed = await readValues(topic, true, 10);
        expect(committed).toEqual(Array.from({ length: 10 }, (_, i) => `committed-${i}`).sort());
        expect(await readValues(topic, false, 20)).toHaveLength(20);
      }, 120_000);
  });
