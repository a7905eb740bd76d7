/**
 * The authorizer's decision, principal by principal (no connection needed): hosts, implied
 * operations, DENY over ALLOW (and DENY never implied), User:*, super users,
 * allow.everyone.if.no.acl.found, and Kafka's authorizeByResourceType.
 */
import { describe, expect, it } from 'vitest';
import {
  type AclBinding, AclOperation as Op, AclPermission, PatternType, ResourceType as R,
} from '../../src/security/acl.js';
import { AclAuthorizer, authorizedOperations, hostAddress } from '../../src/security/authorizer.js';

const alice = { principal: { type: 'User', name: 'alice' }, clientHost: '/10.0.0.1' };
const bob = { principal: { type: 'User', name: 'bob' }, clientHost: '/10.0.0.2' };

function acl(principal: string, resourceName: string, operation: number,
  over: Partial<AclBinding> = {}): AclBinding {
  return { resourceType: R.TOPIC, resourceName, patternType: PatternType.LITERAL, principal,
    host: '*', operation, permissionType: AclPermission.ALLOW, ...over };
}

const authorizer = (bindings: AclBinding[], superUsers: string[] = [], everyone = false) =>
  new AclAuthorizer(() => bindings, superUsers, everyone);

describe('AclAuthorizer', () => {
  it('matches the principal exactly or User:*, and the host exactly or *', () => {
    const a = authorizer([acl('User:alice', 'orders', Op.READ, { host: '10.0.0.1' }),
      acl('User:*', 'public', Op.READ)]);
    expect(a.authorize(alice, Op.READ, R.TOPIC, 'orders')).toBe(true);
    expect(a.authorize({ ...alice, clientHost: '/10.0.0.9' }, Op.READ, R.TOPIC,
      'orders')).toBe(false);
    expect(a.authorize(bob, Op.READ, R.TOPIC, 'orders')).toBe(false);
    expect(a.authorize(bob, Op.READ, R.TOPIC, 'public')).toBe(true);
    expect(a.authorize(bob, Op.WRITE, R.TOPIC, 'public')).toBe(false);
    expect(hostAddress('/::ffff:127.0.0.1')).toBe('127.0.0.1');
  });

  it('implies DESCRIBE from READ/WRITE/DELETE/ALTER, DESCRIBE_CONFIGS from ALTER_CONFIGS (ALLOW)',
    () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
      expect(authorizer([acl('User:alice', 't', op)]).authorize(alice, Op.DESCRIBE, R.TOPIC,
        't')).toBe(true);
    }
    expect(authorizer([acl('User:alice', 't', Op.CREATE)]).authorize(alice, Op.DESCRIBE, R.TOPIC,
      't')).toBe(false);
    expect(authorizer([acl('User:alice', 't', Op.ALTER_CONFIGS)])
      .authorize(alice, Op.DESCRIBE_CONFIGS, R.TOPIC, 't')).toBe(true);
    // A DENY of READ does not deny DESCRIBE (Kafka's findResult).
    const a = authorizer([acl('User:alice', 't', Op.ALL),
      acl('User:alice', 't', Op.READ, { permissionType: AclPermission.DENY })]);
    expect(a.authorize(alice, Op.READ, R.TOPIC, 't')).toBe(false);
    expect(a.authorize(alice, Op.DESCRIBE, R.TOPIC, 't')).toBe(true);
  });

  it('lets a DENY win over any ALLOW, prefixed or wildcard, and super users bypass everything',
    () => {
    const bindings = [acl('User:alice', 'pay', Op.WRITE, { patternType: PatternType.PREFIXED }),
      acl('User:*', '*', Op.WRITE, { permissionType: AclPermission.DENY, host: '10.0.0.1' })];
    expect(authorizer(bindings).authorize(alice, Op.WRITE, R.TOPIC, 'payments')).toBe(false);
    expect(authorizer(bindings).authorize({ ...alice, clientHost: '/10.0.0.5' }, Op.WRITE, R.TOPIC,
      'payments')).toBe(true);
    expect(authorizer(bindings).authorize({ ...alice, clientHost: '/10.0.0.5' }, Op.WRITE, R.TOPIC,
      'pa')).toBe(false); // the prefix is longer than the name
    expect(authorizer(bindings, ['User:alice']).authorize(alice, Op.WRITE, R.TOPIC,
      'payments')).toBe(true);
  });

  it('applies allow.everyone.if.no.acl.found only where no ACL applies to the resource', () => {
    const bindings = [acl('User:bob', 'owned', Op.READ)];
    expect(authorizer(bindings, [], true).authorize(alice, Op.READ, R.TOPIC, 'free')).toBe(true);
    expect(authorizer(bindings, [], true).authorize(alice, Op.READ, R.TOPIC, 'owned')).toBe(false);
    expect(authorizer(bindings, [], false).authorize(alice, Op.READ, R.TOPIC, 'free')).toBe(false);
    expect(authorizer(bindings).authorize(alice, Op.READ, R.GROUP, 'owned')).toBe(false);
  });

  it('authorizes by resource type as Kafka does (InitProducerId: WRITE on any topic)', () => {
    const allowPrefix = acl('User:alice', 'app-', Op.WRITE, { patternType: PatternType.PREFIXED });
    expect(authorizer([allowPrefix]).authorizeByResourceType(alice, Op.WRITE, R.TOPIC)).toBe(true);
    expect(authorizer([allowPrefix, acl('User:alice', 'app', Op.WRITE, {
      patternType: PatternType.PREFIXED, permissionType: AclPermission.DENY })])
      .authorizeByResourceType(alice, Op.WRITE, R.TOPIC)).toBe(false); // a dominating deny
    expect(authorizer([acl('User:alice', 'x', Op.WRITE),
      acl('User:alice', 'x', Op.WRITE, { permissionType: AclPermission.DENY })])
      .authorizeByResourceType(alice, Op.WRITE, R.TOPIC)).toBe(false);
    expect(authorizer([acl('User:alice', 'x', Op.READ)]).authorizeByResourceType(alice, Op.WRITE,
      R.TOPIC))
      .toBe(false);
    expect(authorizer([], ['User:alice']).authorizeByResourceType(alice, Op.WRITE,
      R.TOPIC)).toBe(true);
  });

  it('reports authorized operations as Kafka\'s bit field', () => {
    const a = authorizer([acl('User:alice', 'g', Op.READ, { resourceType: R.GROUP })]);
    expect(authorizedOperations(a, alice, R.GROUP, 'g')).toBe((1 << Op.READ) | (1 << Op.DESCRIBE));
  });
});
