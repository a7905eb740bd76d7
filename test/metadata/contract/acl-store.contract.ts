/**
 * The AclStore contract: bindings are stored once, listed from memory, removed by Kafka's filter
 * semantics (MATCH, ANY, literal and prefixed patterns), reported per filter, and durable.
 */
import { expect, it } from 'vitest';
import {
  type AclBinding, type AclBindingFilter, AclOperation as Op, AclPermission, PatternType,
  ResourceType, compareAcls,
} from '../../../src/security/acl.js';
import type { Current, Reopen } from './fixtures.js';

function acl(resourceName: string, over: Partial<AclBinding> = {}): AclBinding {
  return { resourceType: ResourceType.TOPIC, resourceName, patternType: PatternType.LITERAL,
    principal: 'User:alice', host: '*', operation: Op.READ, permissionType: AclPermission.ALLOW,
    ...over };
}

const anyFilter: AclBindingFilter = { resourceType: ResourceType.ANY, resourceName: null,
  patternType: PatternType.ANY, principal: null, host: null, operation: Op.ANY,
  permissionType: AclPermission.ANY };

const sorted = (bindings: readonly AclBinding[]) => [...bindings].sort(compareAcls);

export function aclStoreContract(current: Current, reopen: Reopen): void {
  it('stores each binding once and lists them all', async () => {
    const { c } = current();
    expect(c.acls.bindings()).toEqual([]);
    const a = acl('orders');
    const b = acl('ord', { patternType: PatternType.PREFIXED, permissionType: AclPermission.DENY });
    await c.acls.create([a, b, a]);
    await c.acls.create([a]);
    expect(sorted(c.acls.bindings())).toEqual(sorted([a, b]));
  });

  it('tells listeners of every change', async () => {
    const { c } = current();
    let heard = 0;
    const stop = c.acls.onChange(() => heard++);
    await c.acls.create([acl('x')]);
    expect(heard).toBeGreaterThan(0);
    const before = heard;
    stop();
    await c.acls.create([acl('y')]);
    expect(heard).toBe(before);
  });

  it('deletes by Kafka filter semantics and reports what each filter removed', async () => {
    const { c } = current();
    const literal = acl('orders');
    const wildcard = acl('*');
    const prefixed = acl('ord', { patternType: PatternType.PREFIXED });
    const group = acl('orders', { resourceType: ResourceType.GROUP });
    const bob = acl('orders', { principal: 'User:bob', operation: Op.WRITE });
    await c.acls.create([literal, wildcard, prefixed, group, bob]);

    // MATCH on topic "orders" for alice: the literal, the wildcard and the prefix apply to it.
    const match = { ...anyFilter, resourceType: ResourceType.TOPIC, resourceName: 'orders',
      patternType: PatternType.MATCH, principal: 'User:alice' };
    // LITERAL "ord" matches nothing (the prefixed binding is not literal); a filter matching
    // nothing reports nothing and removes nothing.
    const literalOrd = { ...anyFilter, resourceName: 'ord', patternType: PatternType.LITERAL };
    const removed = await c.acls.delete([match, literalOrd]);
    expect(sorted(removed[0]!)).toEqual(sorted([literal, wildcard, prefixed]));
    expect(removed[1]).toEqual([]);
    expect(sorted(c.acls.bindings())).toEqual(sorted([group, bob]));

    // ANY pattern with a name is an exact-name match of any pattern type; WRITE only.
    const removedBob = await c.acls.delete([{ ...anyFilter, resourceName: 'orders',
      operation: Op.WRITE }]);
    expect(removedBob).toEqual([[bob]]);
    // Two filters matching the same binding both report it; it is gone once.
    const both = await c.acls.delete([anyFilter, { ...anyFilter,
      resourceType: ResourceType.GROUP }]);
    expect(both).toEqual([[group], [group]]);
    expect(c.acls.bindings()).toEqual([]);
  });

  it('keeps bindings across a reopen', async (ctx) => {
    const { c } = current();
    const bindings = [acl('a'), acl('kafka-cluster', { resourceType: ResourceType.CLUSTER,
      operation: Op.ALTER, host: '10.0.0.1' })];
    await c.acls.create(bindings);
    const reopened = await reopen(ctx);
    expect(sorted(reopened.acls.bindings())).toEqual(sorted(bindings));
  });
}
