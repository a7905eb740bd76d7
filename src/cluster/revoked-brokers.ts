/**
 * When a new leader may replay the WAL of a broker whose lease a peer revoked (peer-probe.ts) and
 * open its partition (cluster/leadership.ts). Such a broker may still acknowledge for up to its
 * acknowledgement window (membership.ts) after the revoke, so its WAL is replayed only once that
 * window (plus a slack for clock rates) has passed since this broker saw its registration go,
 * which was after the revoke. The prober writes `revoked/<nodeId>` before it revokes; a
 * registration that expired has no such record and needs no wait (its broker stopped
 * acknowledging before etcd expired it).
 */
import assert from 'node:assert/strict';
import type { EtcdClient } from '../etcd/client.js';
import type { EtcdKeys } from '../etcd/keys.js';
import { keyOf, rangePrefix } from '../etcd/txn.js';
import { revokedBrokersLimits } from '../limits.js';

/** What a `revoked/<nodeId>` key holds. */
export interface RevokedRecord {
  /** The revoked lease (the registration's), decimal. */
  leaseId: string;
  /** The revoked broker's acknowledgement window: how long it may still acknowledge. */
  ackWindowMs: number;
}

export function encodeRevokedRecord(record: RevokedRecord): string {
  return JSON.stringify({ leaseId: record.leaseId, ackWindowMs: record.ackWindowMs });
}

export function decodeRevokedRecord(value: Buffer): RevokedRecord {
  const record = JSON.parse(value.toString('utf8')) as RevokedRecord;
  assert.ok(typeof record.leaseId === 'string' && Number.isSafeInteger(record.ackWindowMs) &&
    record.ackWindowMs > 0, 'revoked record');
  return record;
}

export class RevokedBrokers {
  /** Brokers registered when last looked, and since when (monotonic) each absent one was seen gone. */
  private readonly registered = new Set<number>();
  private readonly goneAtMs = new Map<number, number>();

  /**
   * @param windowMsIfUnreadable used for a record that cannot be read: this broker's lease TTL,
   *   which no acknowledgement window in a uniformly configured cluster exceeds.
   */
  constructor(private readonly client: EtcdClient, private readonly keys: EtcdKeys,
    private readonly windowMsIfUnreadable: number,
    private readonly log: (message: string, error: unknown) => void) {}

  /** The registered brokers as just seen (the watch, or a pass's own read). */
  noteRegistered(nodeIds: readonly number[]): void {
    const nowMs = performance.now();
    const current = new Set(nodeIds);
    for (const nodeId of this.registered) if (!current.has(nodeId)) this.goneAtMs.set(nodeId, nowMs);
    for (const nodeId of current) this.goneAtMs.delete(nodeId);
    this.registered.clear();
    for (const nodeId of current) this.registered.add(nodeId);
  }

  /**
   * For each of `nodeIds` with a revoked record, the monotonic time before which its WAL must not
   * be replayed (timed from now for a broker not seen going here: it went before this call).
   */
  async notBefore(nodeIds: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    if (nodeIds.length === 0) return out;
    const prefix = this.keys.revokedPrefix();
    const kvs = await rangePrefix(this.client, prefix);
    const wanted = new Set(nodeIds);
    for (const kv of kvs) {
      const nodeId = Number(keyOf(kv).slice(prefix.length));
      if (!wanted.has(nodeId)) continue;
      let windowMs = this.windowMsIfUnreadable;
      try {
        windowMs = decodeRevokedRecord(kv.value).ackWindowMs;
      } catch (error) {
        this.log(`unreadable revoked record of broker ${nodeId}; waiting a whole lease`, error);
      }
      if (!this.goneAtMs.has(nodeId)) this.goneAtMs.set(nodeId, performance.now());
      const slackMs = Math.ceil(windowMs * revokedBrokersLimits.slackFraction) + revokedBrokersLimits.slackMs;
      out.set(nodeId, this.goneAtMs.get(nodeId)! + windowMs + slackMs);
    }
    return out;
  }
}
