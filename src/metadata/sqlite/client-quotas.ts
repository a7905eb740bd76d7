/** ClientQuotaStore on SQLite: the `client_quotas` table, one row per entity. Single node: the
 *  only writer is this process, so `watch` delivers after each own change. */
import {
  alteredQuotaValues, quotaEntityKey, quotaEntityOfKey, type ClientQuotaRecord, type QuotaEntity,
} from '../client-quotas.js';
import type { ClientQuotaStore } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteWriter } from './writer.js';

export const quotaWrites = {
  quotaAlter(d: SqliteDatabase, entityKey: string, set: Readonly<Record<string, number>>,
    remove: readonly string[]): void {
    const json = d.s.selectQuota.get(entityKey);
    const current = json === undefined ? {} : JSON.parse(json) as Record<string, number>;
    const values = alteredQuotaValues(current, set, remove);
    if (Object.keys(values).length === 0) d.s.deleteQuota.run(entityKey);
    else d.s.upsertQuota.run(entityKey, JSON.stringify(values));
  },
};

export class SqliteClientQuotas implements ClientQuotaStore {
  private readonly listeners = new Set<(records: ClientQuotaRecord[]) => void>();

  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {}

  async list(): Promise<ClientQuotaRecord[]> {
    return this.d.s.selectQuotas.all().map((row) => ({ entity: quotaEntityOfKey(row.entity_key),
      values: JSON.parse(row.values_json) as Record<string, number> }));
  }

  async alter(entity: QuotaEntity, set: Readonly<Record<string, number>>,
    remove: readonly string[]): Promise<void> {
    await this.writer.run('quotaAlter', quotaEntityKey(entity), set, remove);
    if (this.listeners.size > 0) {
      const records = await this.list();
      for (const listener of this.listeners) listener(records);
    }
  }

  async watch(listener: (records: ClientQuotaRecord[]) => void):
    Promise<() => Promise<void>> {
    this.listeners.add(listener);
    listener(await this.list());
    return async () => {
      this.listeners.delete(listener);
    };
  }
}
