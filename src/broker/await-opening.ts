/**
 * A request for partitions this broker leads but has not opened yet waits for them, bounded,
 * before it is handled: Produce (handlers/00-produce.ts) and Fetch (handlers/01-fetch.ts). In
 * cluster mode the controller names the new leader of a dead broker's partition at once; the new
 * leader opens it only after the old leader's acknowledgement window and the replay of its WAL
 * (cluster/leadership.ts), about ackWindowMs later. Clients learn the new leader from Metadata
 * right away and send to it: answered NOT_LEADER_OR_FOLLOWER, they would back off and ask again
 * (kafkajs from 300 ms, doubling; the Java client up to 1 s; librdkafka's consumer
 * fetch.error.backoff.ms, 500 ms), and come back well after the partition opened. Held, they are
 * answered the moment it opens.
 *
 * Waits only while the cluster view names this broker the leader and no log is open, and never
 * longer than `produceLimits.leaderOpenWaitMsMax` or the caller's own bound (a produce's
 * timeout, a fetch's max wait). Every request for a partition wakes at the same change, in
 * arrival order, so an idempotent producer's in-flight batches are appended in the order it sent
 * them.
 */
import assert from 'node:assert/strict';
import type { TopicEntry } from '../partition/partition-manager.js';
import type { BrokerServices } from './services.js';
import { produceLimits } from '../limits.js';

/** A partition a request names, with its topic as this broker knows it (undefined: unknown). */
export interface RequestedPartition {
  entry: TopicEntry | undefined;
  partition: number;
}

interface UnopenedPartition {
  topicId: string;
  partition: number;
}

/** Whether this broker leads the partition (per the view) without an open log. */
function unopenedLedHere(s: BrokerServices, p: UnopenedPartition): boolean {
  const entry = s.partitions.topicById(p.topicId);
  if (entry === undefined || p.partition < 0 || p.partition >= entry.logs.length) return false;
  if (entry.logs[p.partition] !== undefined) return false;
  return s.cluster.leader(p.topicId, p.partition, -1).leaderId === s.nodeId;
}

/**
 * Resolves once every requested partition led here has opened (or is no longer led here), or
 * after `timeoutMs` (capped by leaderOpenWaitMsMax).
 */
export async function awaitOpening(s: BrokerServices, requested: Iterable<RequestedPartition>,
  timeoutMs: number): Promise<void> {
  const waitMs = Math.max(0, Math.min(produceLimits.leaderOpenWaitMsMax, timeoutMs));
  assert.ok(waitMs <= produceLimits.leaderOpenWaitMsMax, 'the wait is bounded');
  let waiting: UnopenedPartition[] = [];
  for (const { entry, partition } of requested) {
    if (entry !== undefined) waiting.push({ topicId: entry.record.topicId, partition });
  }
  const deadlineMs = performance.now() + waitMs;
  for (;;) {
    waiting = waiting.filter((p) => unopenedLedHere(s, p));
    const first = waiting[0];
    const leftMs = Math.floor(deadlineMs - performance.now());
    if (first === undefined || leftMs <= 0) return;
    await s.partitions.nextPartitionChange(first.topicId, first.partition, leftMs);
  }
}
