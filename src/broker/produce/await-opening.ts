/**
 * A produce for partitions this broker leads but has not opened yet waits for them, bounded,
 * before it is handled. In cluster mode the controller names the new leader of a dead broker's
 * partition at once; the new leader opens it only after the old leader's acknowledgement window
 * and the replay of its WAL (cluster/leadership.ts), about ackWindowMs later. Clients learn the
 * new leader from Metadata right away and send to it: answered NOT_LEADER_OR_FOLLOWER, they would
 * back off and ask again (kafkajs from 300 ms, doubling; the Java client up to 1 s), and come back
 * well after the partition opened. Held, they are answered the moment it opens.
 *
 * Waits only while the cluster view names this broker the leader and no log is open, and never
 * longer than `produceLimits.leaderOpenWaitMsMax` or the request's own timeout. Every request for
 * a partition wakes at the same change, in arrival order, so an idempotent producer's in-flight
 * batches are appended in the order it sent them.
 */
import assert from 'node:assert/strict';
import type { ProduceRequest } from '../../../protocol/generated/messages/produce.js';
import type { BrokerServices } from '../services.js';
import { produceLimits } from '../../limits.js';

interface UnopenedPartition {
  topicId: string;
  partition: number;
}

/** Partitions of the request this broker leads (per the view) without an open log. */
function unopenedLedHere(s: BrokerServices, req: ProduceRequest): UnopenedPartition[] {
  const out: UnopenedPartition[] = [];
  for (const t of req.topicData) {
    const entry = s.partitions.topic(t.name);
    if (entry === undefined) continue;
    for (const p of t.partitionData) {
      if (p.index < 0 || p.index >= entry.logs.length) continue;
      if (entry.logs[p.index] !== undefined) continue;
      const { topicId } = entry.record;
      if (s.cluster.leader(topicId, p.index, -1).leaderId !== s.nodeId) continue;
      out.push({ topicId, partition: p.index });
    }
  }
  return out;
}

/** Resolves once every such partition has opened (or is no longer led here), or at the bound. */
export async function awaitOpening(s: BrokerServices, req: ProduceRequest): Promise<void> {
  const timeoutMs = Math.max(0, Math.min(produceLimits.leaderOpenWaitMsMax, req.timeoutMs));
  assert.ok(timeoutMs <= produceLimits.leaderOpenWaitMsMax, 'the wait is bounded');
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    const first = unopenedLedHere(s, req)[0];
    const leftMs = Math.floor(deadlineMs - performance.now());
    if (first === undefined || leftMs <= 0) return;
    await s.partitions.nextPartitionChange(first.topicId, first.partition, leftMs);
  }
}
