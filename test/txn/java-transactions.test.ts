/**
 * Apache Kafka's own transactional consume-transform-produce: the tools jar's
 * TransactionalMessageCopier (the one Kafka's system tests run) copies numbered records from an
 * input partition to an output topic with sendOffsetsToTransaction, aborting transactions at
 * random; on one broker and on the three-broker cluster. A read_committed reader then must see
 * every input exactly once and no record of an aborted transaction (an aborted copy would show
 * as a duplicate). Printed per run: records, duplicates, missing, aborted-visible.
 *
 * Needs `java` (17+) and Kafka's jars (.ci/install-kafka.sh); skipped only without `java`.
 */
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEPLOYMENTS, deploymentForSuite } from '../helpers/deployments.js';
import { kafkaClient, waitForStableLeaders } from '../helpers/kafka-client.js';
import { readValues } from '../helpers/read-isolated.js';
import { describeRun, javaAvailable, kafkaJars, runJava } from '../helpers/kafka-tools.js';
import { abortsIn } from './txn-kill-clients.js';

const HAVE_JAVA = javaAvailable();
const RECORDS_PER_PARTITION = 300;
const COPIER = 'org.apache.kafka.tools.TransactionalMessageCopier';

describe.skipIf(!HAVE_JAVA).each(DEPLOYMENTS.filter((d) => d.name !== 's3'))(
  'Kafka TransactionalMessageCopier on $name', (variant) => {
    const deployment = deploymentForSuite(variant, { uploadIntervalMs: 100,
      groupInitialRebalanceDelayMs: 0 });
    let kafka: Kafka;
    beforeAll(async () => {
      await kafkaJars();
      kafka = kafkaClient(deployment.bootstrap);
    }, 600_000);

    it('copies every input record exactly once, with random aborts', async () => {
      const input = `copier-in-${variant.name}`;
      const output = `copier-out-${variant.name}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: input, numPartitions: 2 }, { topic: output,
        numPartitions: 3 }] });
      await waitForStableLeaders(admin, input);
      await waitForStableLeaders(admin, output);
      await admin.disconnect();
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const sent: string[] = [];
      for (const partition of [0, 1]) {
        const messages = Array.from({ length: RECORDS_PER_PARTITION }, (_, i) => ({ partition,
          key: `${partition}`, value: `p${partition}-n${i}` }));
        sent.push(...messages.map((m) => m.value));
        await producer.send({ topic: input, messages });
      }
      await producer.disconnect();

      const runs = await Promise.all([0, 1].map((partition) => runJava(COPIER, [
        '--broker-list', deployment.bootstrap, '--transactional-id',
          `copier-${variant.name}-${partition}`,
        '--consumer-group', `copier-group-${variant.name}`, '--input-topic', input,
          '--input-partition', `${partition}`,
        '--output-topic', output, '--max-messages', `${RECORDS_PER_PARTITION}`,
          '--transaction-size', '20',
        '--transaction-timeout', '30000', '--enable-random-aborts', '--use-group-metadata',
      ], { timeoutMs: 180_000 })));
      for (const run of runs) expect(run.code, describeRun(run)).toBe(0);
      const aborts = runs.reduce((n, r) => n + abortsIn(r.stdout), 0);

      const seen = await readValues(kafka, output, false, sent.length,
        { allowShort: true, settleMs: 2000 });
      const counts = new Map<string, number>();
      for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
      const duplicates = [...counts.values()].filter((n) => n > 1).length;
      const missing = sent.filter((v) => !counts.has(v)).length;
      const unknown = seen.filter((v) => !sent.includes(v)).length;
      // The aborted copies are in the log: a read_uncommitted reader sees them.
      const uncommitted = await readValues(kafka, output, true, sent.length + 1,
        { allowShort: true, settleMs: 2000 });
      console.log(`TransactionalMessageCopier on ${variant.name}: records=${seen.length} `
        + `duplicates=${duplicates} missing=${missing} aborted-visible=${duplicates + unknown} `
        + `(transactions aborted: ${aborts}, ` +
        `records a read_uncommitted reader sees: ${uncommitted.length})`);
      expect({ records: seen.length, duplicates, missing, unknown }).toEqual({ records: sent.length,
        duplicates: 0, missing: 0, unknown: 0 });
      expect(aborts).toBeGreaterThan(0);
      expect(uncommitted.length).toBeGreaterThan(sent.length);
    }, 300_000);
  });
