/** AclStore on SQLite: the `acls` table, read whole at open and kept in memory after each write
 *  (this process is the database's only writer). */
import assert from 'node:assert/strict';
import {
  type AclBinding, type AclBindingFilter, aclFromIdentity, aclIdentity, filterMatches,
} from '../../security/acl.js';
import { adminLimits } from '../../limits.js';
import type { AclStore } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import { AclListeners } from '../acl-listeners.js';

export class SqliteAclStore implements AclStore {
  private current: readonly AclBinding[];
  private readonly listeners = new AclListeners();

  constructor(private readonly d: SqliteDatabase) {
    this.current = this.load();
  }

  bindings(): readonly AclBinding[] {
    return this.current;
  }

  async create(bindings: AclBinding[]): Promise<void> {
    this.d.transaction(() => {
      for (const b of bindings) this.d.s.insertAcl.run(aclIdentity(b));
      const count = this.d.s.selectAclIdentities.all().length;
      assert.ok(count <= adminLimits.aclBindingsMax, `at most ${adminLimits.aclBindingsMax} ACLs`);
    });
    this.refresh();
  }

  async delete(filters: AclBindingFilter[]): Promise<AclBinding[][]> {
    const removed = this.d.transaction(() => {
      const stored = this.load();
      const perFilter = filters.map((f) => stored.filter((b) => filterMatches(f, b)));
      for (const b of new Set(perFilter.flat())) this.d.s.deleteAcl.run(aclIdentity(b));
      return perFilter;
    });
    if (removed.some((r) => r.length > 0)) this.refresh();
    return removed;
  }

  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  private load(): AclBinding[] {
    return this.d.s.selectAclIdentities.all().map(aclFromIdentity);
  }

  private refresh(): void {
    this.current = this.load();
    this.listeners.emit();
  }
}
