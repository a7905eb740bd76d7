/** ClientQuotaStore on SQLite: the `client_quotas` table, one row per entity. Single node: the
 *  only writer is this process, so `watch` delivers after each own change. */
import type Database from 'better-sqlite3';
import {
  alteredQuotaValues, quotaEntityKey, quotaEntityOfKey, type ClientQuotaRecord, type QuotaEntity,
} from '../client-quotas.js';
import type { ClientQuotaStore } from '../stores.js';
import type { SqliteDatabase } from './database.js';

interface QuotaRow { entity_key: string; values_json: string }

export class SqliteClientQuotas implements ClientQuotaStore {
  private readonly listeners = new Set<(records: ClientQuotaRecord[]) => void>();
  private readonly selectAll: Database.Statement<[], QuotaRow>;
  private readonly selectOne: Database.Statement<[string], string>;
  private readonly upsert: Database.Statement<[string, string]>;
  private readonly remove: Database.Statement<[string]>;

  constructor(private readonly d: SqliteDatabase) {
    this.selectAll = d.db.prepare<[], QuotaRow>(
      'SELECT entity_key, values_json FROM client_quotas ORDER BY entity_key');
    this.selectOne = d.db.prepare<[string], string>(
      'SELECT values_json FROM client_quotas WHERE entity_key = ?').pluck();
    this.upsert = d.db.prepare<[string, string]>(`INSERT INTO client_quotas (entity_key,
      values_json) VALUES (?, ?) ON CONFLICT (entity_key) DO UPDATE SET
      values_json = excluded.values_json`);
    this.remove = d.db.prepare<[string]>('DELETE FROM client_quotas WHERE entity_key = ?');
  }

  async list(): Promise<ClientQuotaRecord[]> {
    return this.selectAll.all().map((row) => ({ entity: quotaEntityOfKey(row.entity_key),
      values: JSON.parse(row.values_json) as Record<string, number> }));
  }

  async alter(entity: QuotaEntity, set: Readonly<Record<string, number>>,
    remove: readonly string[]): Promise<void> {
    const key = quotaEntityKey(entity);
    this.d.transaction(() => {
      const json = this.selectOne.get(key);
      const current = json === undefined ? {} : JSON.parse(json) as Record<string, number>;
      const values = alteredQuotaValues(current, set, remove);
      if (Object.keys(values).length === 0) this.remove.run(key);
      else this.upsert.run(key, JSON.stringify(values));
    });
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
