/** AclStore on SQLite: the `acls` table, read whole at open and kept in memory after each write
 *  (this process is the database's only writer). */
import assert from 'node:assert/strict';
import {
  type AclBinding, type AclBindingFilter, aclFromIdentity, aclIdentity, filterMatches,
} from '../../security/acl.js';
import { adminLimits } from '../../limits.js';
import type { AclStore } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteWriter } from './writer.js';
import { AclListeners } from '../acl-listeners.js';

export const aclWrites = {
  aclCreate(d: SqliteDatabase, bindings: AclBinding[]): void {
    for (const b of bindings) d.s.insertAcl.run(aclIdentity(b));
    const count = d.s.selectAclIdentities.all().length;
    assert.ok(count <= adminLimits.aclBindingsMax, `at most ${adminLimits.aclBindingsMax} ACLs`);
  },

  /** Per filter, the bindings it matched (and deleted). */
  aclDelete(d: SqliteDatabase, filters: AclBindingFilter[]): AclBinding[][] {
    const stored = loadBindings(d);
    const perFilter = filters.map((f) => stored.filter((b) => filterMatches(f, b)));
    for (const b of new Set(perFilter.flat())) d.s.deleteAcl.run(aclIdentity(b));
    return perFilter;
  },
};

export class SqliteAclStore implements AclStore {
  private current: readonly AclBinding[];
  private readonly listeners = new AclListeners();

  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {
    this.current = loadBindings(d);
  }

  bindings(): readonly AclBinding[] {
    return this.current;
  }

  async create(bindings: AclBinding[]): Promise<void> {
    await this.writer.run('aclCreate', bindings);
    this.refresh();
  }

  async delete(filters: AclBindingFilter[]): Promise<AclBinding[][]> {
    const removed = await this.writer.run('aclDelete', filters);
    if (removed.some((r) => r.length > 0)) this.refresh();
    return removed;
  }

  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  private refresh(): void {
    this.current = loadBindings(this.d);
    this.listeners.emit();
  }
}

function loadBindings(d: SqliteDatabase): AclBinding[] {
  return d.s.selectAclIdentities.all().map(aclFromIdentity);
}
