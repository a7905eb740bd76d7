/** kafkajs clients for tests: quiet logs, short retries, one broker list. */
import { Kafka, logLevel } from 'kafkajs';
import { stopFetchersOfStoppedRunners } from './kafkajs-stopped-runner.js';

/** `warnings`, if given, receives kafkajs's own warnings and errors (for a failure's message). */
export function kafkaClient(bootstrap: string | string[], clientId = 'ledgerstream-test',
  warnings?: (line: string) => void): Kafka {
  // A consumer stopped during a fetcher rebalance must not leave fetchers spinning (see there).
  stopFetchersOfStoppedRunners();
  return new Kafka({
    clientId,
    brokers: Array.isArray(bootstrap) ? bootstrap : [bootstrap],
    logLevel: warnings === undefined ? logLevel.NOTHING : logLevel.WARN,
    ...warnings === undefined ? {} : { logCreator: () => ({ namespace, level, log }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      warnings(`${level === logLevel.ERROR ? 'ERROR' : 'WARN'} ${namespace}: ${message} `
        + JSON.stringify(rest));
    } },
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

/** Waits until `check` returns true, polling; throws with `what` on timeout. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Creates `topic`; resolves with the node id of partition 0's leader once Metadata names one. */
export async function createTopicWithLeader(kafka: Kafka, topic: string, numPartitions = 1):
  Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions }] });
  await admin.disconnect();
  let leader = -1;
  await waitFor('a leader', async () =>
    (leader = await leaderOf(kafka, topic).catch(() => -1)) > 0, 20_000);
  return leader;
}

/** The leader of one partition as Metadata names it, through a short-lived admin client. */
export async function leaderOf(kafka: Kafka, topic: string, partition = 0): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0]!.partitions.find((p) => p.partitionId === partition)!.leader;
  } finally {
    await admin.disconnect();
  }
}

/** The high watermark of one partition, through a short-lived admin client. */
export async function highWatermark(kafka: Kafka, topic: string, partition = 0): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return Number(offsets.find((o) => o.partition === partition)!.high);
  } finally {
    await admin.disconnect();
  }
}

/** Reads a topic from the beginning with a fresh group until `expected` records arrived. */
export async function consumeAll(kafka: Kafka, topic: string, expected: number):
  Promise<{ partition: number; offset: number; value: string }[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Date.now()}` });
  const out: { partition: number; offset: number; value: string }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => {
    out.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
  } });
  await waitFor(`${expected} records from ${topic}`, () => out.length >= expected, 30_000);
  await new Promise((r) => setTimeout(r, 300)); // anything beyond `expected` would be a duplicate
  await consumer.disconnect();
  return out;
}

/** Waits until a topic's partition leaders have not changed for `quietMs` (cluster handoffs). */
export async function waitForStableLeaders(admin: ReturnType<Kafka['admin']>, topic: string,
  quietMs = 1500, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let since = Date.now();
  while (Date.now() < deadline) {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const now = JSON.stringify(meta.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]));
    if (now !== last) { last = now; since = Date.now(); }
    else if (Date.now() - since >= quietMs && !now.includes(',-1]')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
