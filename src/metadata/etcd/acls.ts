/**
 * AclStore on etcd: one key per binding under `acls/` (keys.ts), whose value is the binding's
 * identity. Every broker keeps all bindings in memory, loaded at one revision and followed from
 * the next by the engine's watch (metadata.ts; it reloads after a failed watch), so a binding
 * created through one broker is enforced by the others once their watch delivers it
 * (milliseconds; the cluster test measures it). Each identity remembers the revision it last
 * changed at, deletions included, so a late watch event never undoes a newer change made
 * through this broker.
 */
import assert from 'node:assert/strict';
import type { EtcdKeyValue as IKeyValue } from '../../etcd/client.js';
import {
  type AclBinding, type AclBindingFilter, aclFromIdentity, aclIdentity, filterMatches,
} from '../../security/acl.js';
import { deleteOp, putOp, rangePrefix, revisionOf } from '../../etcd/txn.js';
import type { WatchChange } from '../../etcd/watch.js';
import { adminLimits } from '../../limits.js';
import type { AclStore } from '../stores.js';
import type { EtcdEngine } from './engine.js';
import { AclListeners } from '../acl-listeners.js';
import type { EtcdRequestOp } from '../../etcd/client.js';

interface WatchedAcl {
  identity: string;
  binding: AclBinding | null;
  modRevision: number;
}

interface Held {
  binding: AclBinding | null;
  modRevision: number;
}

export class EtcdAclStore implements AclStore {
  private readonly held = new Map<string, Held>();
  private current: readonly AclBinding[] = [];
  private readonly listeners = new AclListeners();

  constructor(private readonly engine: EtcdEngine) {}

  bindings(): readonly AclBinding[] {
    return this.current;
  }

  async create(bindings: AclBinding[]): Promise<void> {
    const identities = [...new Set(bindings.map(aclIdentity))];
    assert.ok(this.current.length + identities.length <= adminLimits.aclBindingsMax,
      `at most ${adminLimits.aclBindingsMax} ACLs`);
    await this.writeAll(identities.map((id) => putOp(this.engine.keys.acl(id), id)),
      identities.map((id) => ({ identity: id, binding: aclFromIdentity(id) })));
  }

  async delete(filters: AclBindingFilter[]): Promise<AclBinding[][]> {
    const stored = (await rangePrefix(this.engine.client, this.engine.keys.aclsPrefix()))
      .map((kv) => aclFromIdentity(kv.value.toString('utf8')));
    const perFilter = filters.map((f) => stored.filter((b) => filterMatches(f, b)));
    const identities = [...new Set(perFilter.flat().map(aclIdentity))];
    await this.writeAll(identities.map((id) => deleteOp(this.engine.keys.acl(id))),
      identities.map((id) => ({ identity: id, binding: null })));
    return perFilter;
  }

  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /** Writes in chunks of txnOpsMax and applies each chunk to memory at its revision. */
  private async writeAll(ops: EtcdRequestOp[],
    changes: Omit<WatchedAcl, 'modRevision'>[]): Promise<void> {
    assert.equal(ops.length, changes.length, 'one change per op');
    const size = this.engine.txnOpsMax;
    for (let i = 0; i < ops.length; i += size) {
      const response = await this.engine.txn([], ops.slice(i, i + size), []);
      const modRevision = revisionOf(response.header);
      this.applyAll(changes.slice(i, i + size).map((c) => ({ ...c, modRevision })));
    }
  }

  /** True for keys this store follows (the engine's one watch hands them over). */
  owns(key: string): boolean {
    return key.startsWith(this.engine.keys.aclsPrefix());
  }

  /** Changes the watch delivered, in revision order. */
  applyWatched(changes: WatchChange[]): void {
    this.applyAll(changes.map((c) => this.changeOf(c)));
    // A deletion is remembered only until the watch has passed it: no older event comes after.
    const seen = Math.max(0, ...changes.map((c) => c.modRevision));
    for (const [identity, held] of this.held) {
      if (held.binding === null && held.modRevision <= seen) this.held.delete(identity);
    }
  }

  private changeOf(c: WatchChange): WatchedAcl {
    const identity = decodeURIComponent(c.key.slice(this.engine.keys.aclsPrefix().length));
    return { identity, modRevision: c.modRevision,
      binding: c.value === null ? null : aclFromIdentity(identity) };
  }

  /** Every binding as read at `revision` (first, and after every reload of the watch). */
  replace(kvs: IKeyValue[], revision: number): void {
    const inSnapshot = new Set<string>();
    const changes: WatchedAcl[] = kvs.map((kv) => {
      const identity = kv.value.toString('utf8');
      inSnapshot.add(identity);
      return { identity, binding: aclFromIdentity(identity),
        modRevision: revisionOf({ revision: kv.mod_revision }) };
    });
    // Gone by `revision`, unless changed through this broker after it.
    for (const [identity, held] of this.held) {
      if (!inSnapshot.has(identity) && held.modRevision <= revision) {
        changes.push({ identity, binding: null, modRevision: revision });
      }
    }
    this.applyAll(changes);
  }

  private applyAll(changes: WatchedAcl[]): void {
    let changed = false;
    for (const c of changes) {
      const held = this.held.get(c.identity);
      if (held !== undefined && (held.modRevision > c.modRevision
        || (held.modRevision === c.modRevision
          && (held.binding === null) === (c.binding === null)))) {
        continue;
      }
      this.held.set(c.identity, { binding: c.binding, modRevision: c.modRevision });
      changed = true;
    }
    if (changed) this.publish();
  }

  private publish(): void {
    this.current = [...this.held.values()].flatMap((h) => (h.binding === null ? [] : [h.binding]));
    this.listeners.emit();
  }
}
