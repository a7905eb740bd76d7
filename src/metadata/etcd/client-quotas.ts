/**
 * ClientQuotaStore on etcd: one `quotas/<entity key>` key per entity holding its values as JSON.
 * An alteration is a compare-and-set on that key's mod revision (writeLoop), so two brokers
 * altering one entity at once cannot lose either change. `watch` follows the prefix with
 * KeySetWatch, so a quota set through any broker reaches every broker's table within the watch's
 * delivery delay (milliseconds), and a reload after a watch failure hands the whole table again.
 */
import assert from 'node:assert/strict';
import {
  deleteOp, getOp, keyOf, modEquals, putOp, rangePrefix, versionedOf,
} from '../../etcd/txn.js';
import { KeySetWatch } from '../../etcd/watch.js';
import {
  alteredQuotaValues, quotaEntityKey, quotaEntityOfKey, sortQuotaRecords,
  type ClientQuotaRecord, type QuotaEntity,
} from '../client-quotas.js';
import type { ClientQuotaStore } from '../stores.js';
import type { EtcdEngine } from './engine.js';
import { quotaLimits } from '../../limits.js';

type Values = Record<string, number>;

export class EtcdClientQuotas implements ClientQuotaStore {
  private readonly watches = new Set<KeySetWatch>();

  constructor(private readonly e: EtcdEngine) {}

  async list(): Promise<ClientQuotaRecord[]> {
    const prefix = this.e.keys.quotasPrefix();
    const kvs = await rangePrefix(this.e.client, prefix, { limit: quotaLimits.entitiesMax });
    return sortQuotaRecords(kvs.map((kv) => this.recordOf(keyOf(kv), kv.value)));
  }

  async alter(entity: QuotaEntity, set: Readonly<Values>, remove: readonly string[]):
    Promise<void> {
    const key = this.e.keys.quota(quotaEntityKey(entity));
    await this.e.writeLoop('alterClientQuotas', this.e.keyReads([getOp(key)],
      ([range]) => versionedOf(range, (value) => JSON.parse(value.toString('utf8')) as Values)),
    (view) => {
      const values = alteredQuotaValues(view.value ?? {}, set, remove);
      const write = Object.keys(values).length === 0 ? deleteOp(key)
        : putOp(key, JSON.stringify(values));
      return { compare: [modEquals(key, view.modRevision)], success: [write], result: undefined };
    });
  }

  async watch(listener: (records: ClientQuotaRecord[]) => void):
    Promise<() => Promise<void>> {
    const watch = await KeySetWatch.open(this.e.client, { key: this.e.keys.quotasPrefix() },
      (entries) => listener(sortQuotaRecords([...entries].map(([key, kv]) =>
        this.recordOf(key, kv.value)))), this.e.log);
    this.watches.add(watch);
    return async () => {
      if (this.watches.delete(watch)) await watch.close();
    };
  }

  /** Stops every watch still open (the engine is closing). */
  async close(): Promise<void> {
    const watches = [...this.watches];
    this.watches.clear();
    await Promise.all(watches.map((w) => w.close()));
  }

  private recordOf(key: string, value: Buffer): ClientQuotaRecord {
    const prefix = this.e.keys.quotasPrefix();
    assert.ok(key.startsWith(prefix), `${key} is a quota key`);
    return { entity: quotaEntityOfKey(key.slice(prefix.length)),
      values: JSON.parse(value.toString('utf8')) as Values };
  }
}
