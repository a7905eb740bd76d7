/**
 * librdkafka transactions (confluent-kafka-python, test/txn/python/txn.py) on one broker and on
 * the three-broker cluster: a consume-transform-produce loop with init_transactions,
 * begin_transaction, send_offsets_to_transaction and commit_transaction, where every other
 * transaction is flushed and then ended with abort_transaction (the consumer seeks back to the
 * committed offsets and copies those records again). A read_committed reader then must see every
 * input record copied exactly once and nothing of an aborted transaction, a read_uncommitted one
 * the aborted copies too, and the group's offsets (committed only in the transactions) must stand
 * at the input's end.
 *
 * Needs a Python with confluent_kafka (Debian's python3-confluent-kafka; LEDGERSTREAM_PYTHON
 * names another); skipped only without one.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENTS, deploymentForSuite } from '../helpers/deployments.js';
import { kafkaClient } from '../helpers/kafka-client.js';
import { readValues } from '../helpers/read-isolated.js';
import { runCommand } from '../helpers/run-command.js';
import { committedAndHigh, createTopic, seedValues } from '../helpers/txn-steps.js';

const SCRIPT = path.resolve(import.meta.dirname, 'python/txn.py');
const PYTHON = [process.env.LEDGERSTREAM_PYTHON, '/usr/bin/python3', 'python3']
  .find((p) => p !== undefined && spawnSync(p, ['-c', 'import confluent_kafka'],
    { stdio: 'ignore', timeout: 30_000 }).status === 0);
if (PYTHON === undefined) {
  console.warn('test/txn/python-transactions.test.ts: SKIPPED: no Python with confluent_kafka');
}
/** txn.py bounds its loop at 90 s; this is the backstop. */
const STEP_MS_MAX = 120_000;
const RECORDS = 150;

interface Copied {
  copied?: number; committed?: number; aborted?: number; errors?: string[];
  exception?: string; message?: string;
}

describe.skipIf(PYTHON === undefined).each(DEPLOYMENTS.filter((d) => d.name !== 's3'))(
  'confluent-kafka-python transactions on $name', (variant) => {
    const deployment = deploymentForSuite(variant, { uploadIntervalMs: 100,
      groupInitialRebalanceDelayMs: 0 });
    let kafka: Kafka;
    beforeAll(() => {
      kafka = kafkaClient(deployment.bootstrap);
    });

    it('send_offsets_to_transaction with commit_transaction, and abort_transaction unseen',
      async () => {
        const input = `py-txn-in-${variant.name}`;
        const output = `py-txn-out-${variant.name}`;
        const group = `py-txn-${variant.name}`;
        await createTopic(kafka, input, 2);
        await createTopic(kafka, output, 3);
        const sent = Array.from({ length: RECORDS }, (_, i) => `n${i}`);
        await seedValues(kafka, input, sent);
        const r = await runCommand(PYTHON!, [SCRIPT, 'copy', deployment.bootstrap, input, output,
          group, `tx-${group}`, `${RECORDS}`], { timeoutMs: STEP_MS_MAX });
        const why = `txn.py exited ${r.error ?? r.code}\n--- stdout\n${r.stdout.slice(-4000)}`
          + `\n--- stderr\n${r.stderr.slice(-8000)}`;
        expect(r.code, why).toBe(0);
        const c = JSON.parse(r.stdout) as Copied;
        expect(c, why).toMatchObject({ copied: RECORDS, errors: [] });
        expect(c.aborted).toBeGreaterThan(0);
        expect(await readValues(kafka, output, false, RECORDS, { settleMs: 2000 }))
          .toEqual(sent.map((v) => `copy-${v}`).sort());
        const everything = await readValues(kafka, output, true, RECORDS + 1,
          { allowShort: true, settleMs: 2000 });
        expect(everything.length).toBeGreaterThan(RECORDS);
        const { committed, high } = await committedAndHigh(kafka, group, input);
        expect(committed).toEqual(high);
      }, 180_000);
  });
