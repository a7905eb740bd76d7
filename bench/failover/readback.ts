/**
 * The failover benchmark's end check: every partition read back from offset 0 to its high
 * watermark, and compared with what its producer was told was acknowledged. Each partition's
 * records carry their sequence number (0, 1, 2, ...) as the value, so the check is exact:
 *  lost       an acknowledged sequence number that is not in the log;
 *  duplicated a sequence number in the log more than once (the idempotent producer must not);
 *  reordered  a sequence number after a larger one (one producer per partition, in order).
 * Records that were written but never acknowledged (the answer lost with the broker) may be in
 * the log: that is allowed, the producer was told nothing.
 */
import { type Kafka } from 'kafkajs';
import type { AckLog } from './clients.js';

export interface PartitionCheck {
  topic: string;
  partition: number;
  highWatermark: number;
  read: number;
  acknowledged: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

const READ_MS_MAX = 300_000;
const STALL_MS_MAX = 30_000;

/** Every record of `topic` up to the high watermarks, as sequence numbers per partition. */
async function readTopic(kafka: Kafka, topic: string, highs: number[]): Promise<number[][]> {
  const values: number[][] = highs.map(() => []);
  const next = highs.map(() => 0);
  const consumer = kafka.consumer({ groupId: `failover-readback-${topic}-${Date.now()}`, maxWaitTimeInMs: 200 });
  let progressAt = performance.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        values[batch.partition]!.push(Number(m.value?.toString()));
        next[batch.partition] = Math.max(next[batch.partition]!, Number(m.offset) + 1);
      }
      progressAt = performance.now();
    } });
    const deadline = performance.now() + READ_MS_MAX;
    while (next.some((n, p) => n < highs[p]!)) {
      if (performance.now() > deadline || performance.now() - progressAt > STALL_MS_MAX) {
        throw new Error(`read back of ${topic} stalled at ${next.join(',')} of ${highs.join(',')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return values;
}

export async function readBack(kafka: Kafka, logs: readonly AckLog[]): Promise<PartitionCheck[]> {
  const admin = kafka.admin();
  await admin.connect();
  const checks: PartitionCheck[] = [];
  try {
    for (const log of logs) {
      const offsets = await admin.fetchTopicOffsets(log.topic);
      const highs = log.acks.map((_, p) => Number(offsets.find((o) => o.partition === p)?.high ?? 0));
      const values = await readTopic(kafka, log.topic, highs);
      for (const [p, read] of values.entries()) {
        const seen = new Set<number>();
        let duplicated = 0;
        let reordered = 0;
        let last = -1;
        for (const v of read) {
          if (seen.has(v)) duplicated++;
          else if (v < last) reordered++;
          seen.add(v);
          last = Math.max(last, v);
        }
        const acked = log.ackedSeqs[p]!;
        checks.push({ topic: log.topic, partition: p, highWatermark: highs[p]!, read: read.length,
          acknowledged: acked.length, lost: acked.filter((s) => !seen.has(s)).length, duplicated, reordered });
      }
    }
  } finally {
    await admin.disconnect();
  }
  return checks;
}

/** One line per partition that broke a rule; empty when all is well. */
export function problemsOf(checks: readonly PartitionCheck[]): string[] {
  return checks.filter((c) => c.lost + c.duplicated + c.reordered > 0).map((c) =>
    `${c.topic}[${c.partition}]: ${c.lost} acknowledged lost, ${c.duplicated} duplicated, ${c.reordered} reordered ` +
    `(read ${c.read} of high watermark ${c.highWatermark}, ${c.acknowledged} acknowledged)`);
}
