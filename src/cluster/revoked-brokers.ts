/**
 * What a new leader must do before it replays the WAL of a broker whose lease a peer revoked
 * (peer-probe.ts) and opens its partition (cluster/leadership.ts). Such a broker may still
 * acknowledge for up to its acknowledgement window (membership.ts) after the revoke. So either
 * the new leader fences its WAL for the revoked lease (walMode=shared, storage/wal/fence.ts) and
 * replays at once, or it replays only once that window (plus a slack for clock rates) has passed
 * since this broker saw its registration go, which was after the revoke. The prober writes
 * `revoked/<nodeId>` before it revokes; a registration that expired has no such record and needs
 * neither (its broker stopped acknowledging before etcd expired it).
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
  // etcd lease ids are int64s, in decimal.
  assert.ok(typeof record.leaseId === 'string' && /^[0-9]{1,20}$/.test(record.leaseId) &&
    Number.isSafeInteger(record.ackWindowMs) &&
    record.ackWindowMs > 0, 'revoked record');
  return record;
}

/** A revoked broker, as a new leader of its partitions sees it. */
export interface Revocation {
  /** The revoked lease: the fence token of what the broker appended under it. */
  leaseId: string | null;
  /** Monotonic: when its window has surely passed, for a replay without a fence. */
  notBeforeMs: number;
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
   * For each of `nodeIds` with a revoked record: the revoked lease (null if the record cannot be
   * read), and the monotonic time before which its WAL must not be replayed unfenced (timed from
   * now for a broker not seen going here: it went before this call).
   */
  async revocations(nodeIds: readonly number[]): Promise<Map<number, Revocation>> {
    const out = new Map<number, Revocation>();
    if (nodeIds.length === 0) return out;
    const prefix = this.keys.revokedPrefix();
    const kvs = await rangePrefix(this.client, prefix);
    const wanted = new Set(nodeIds);
    for (const kv of kvs) {
      const nodeId = Number(keyOf(kv).slice(prefix.length));
      if (!wanted.has(nodeId)) continue;
      let windowMs = this.windowMsIfUnreadable;
      let leaseId: string | null = null;
      try {
        ({ ackWindowMs: windowMs, leaseId } = decodeRevokedRecord(kv.value));
      } catch (error) {
        this.log(`unreadable revoked record of broker ${nodeId}; waiting a whole lease`, error);
      }
      if (!this.goneAtMs.has(nodeId)) this.goneAtMs.set(nodeId, performance.now());
      const slackMs = Math.ceil(windowMs * revokedBrokersLimits.slackFraction) + revokedBrokersLimits.slackMs;
      out.set(nodeId, { leaseId, notBeforeMs: this.goneAtMs.get(nodeId)! + windowMs + slackMs });
    }
    return out;
  }
}
