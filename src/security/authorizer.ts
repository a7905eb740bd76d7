/**
 * Who may do what: Kafka's StandardAuthorizer decision over the ACL bindings of an AclStore
 * (StandardAuthorizerData.findAclRule and findResult), and the allow-all authorizer of a broker
 * without `authorizer.class.name`. Handlers ask through src/broker/authorize.ts, which logs and
 * counts denials.
 *
 * The decision for (principal, host, operation, resource):
 *  1. a super user (`super.users`) is allowed everything;
 *  2. the bindings that apply to the resource are those of its type whose LITERAL name equals
 *     it or is the wildcard `*`, and whose PREFIXED name starts it;
 *  3. none apply at all (to anyone): `allow.everyone.if.no.acl.found` decides;
 *  4. of those whose principal is the requester or User:*, whose host is the client's address or
 *     `*`: a DENY for the operation (or ALL) denies; else an ALLOW for it (or ALL, or an
 *     operation implying it: READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies
 *     DESCRIBE_CONFIGS; implication only ever widens ALLOW, never DENY) allows; else denied.
 */
import assert from 'node:assert/strict';
import {
  type AclBinding, AclOperation as Op, AclPermission, PatternType,
  SUPPORTED_OPERATIONS, WILDCARD, WILDCARD_PRINCIPAL,
} from './acl.js';
import { type KafkaPrincipal, principalString } from './principal.js';

/** Who asks: the connection's principal and client address ("/127.0.0.1", as sessions hold it). */
export interface AuthorizationSubject {
  readonly principal: KafkaPrincipal;
  readonly clientHost: string;
}

export interface Authorizer {
  /** False for the allow-all authorizer: the ACL APIs then answer SECURITY_DISABLED. */
  readonly enabled: boolean;
  authorize(subject: AuthorizationSubject, operation: number, resourceType: number,
    resourceName: string): boolean;
  /** Whether the subject may do `operation` on SOME resource of the type (Kafka's
   *  Authorizer.authorizeByResourceType; InitProducerId asks it for WRITE on any topic). */
  authorizeByResourceType(subject: AuthorizationSubject, operation: number, resourceType: number):
    boolean;
}

/** The class names `authorizer.class.name` accepts: Kafka's KRaft and ZooKeeper-era authorizers
 *  (same ACL semantics). Empty: no authorizer. */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.authorizer.AclAuthorizer',
];

/** `super.users`: principals separated by ";" (a TLS subject may contain commas). */
export function parseSuperUsers(text: string): string[] {
  return text.split(';').map((s) => s.trim()).filter((s) => s !== '');
}

export const ALLOW_ALL: Authorizer = Object.freeze({
  enabled: false,
  authorize: () => true,
  authorizeByResourceType: () => true,
});

/** The address Kafka compares ACL hosts with: "127.0.0.1" for "/127.0.0.1" or an IPv4-mapped
 *  IPv6 address. */
export function hostAddress(clientHost: string): string {
  const address = clientHost.startsWith('/') ? clientHost.slice(1) : clientHost;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function appliesToResource(b: AclBinding, resourceName: string): boolean {
  if (b.patternType === PatternType.PREFIXED) return resourceName.startsWith(b.resourceName);
  return b.resourceName === resourceName || b.resourceName === WILDCARD;
}

function operationMatches(b: AclBinding, operation: number): boolean {
  if (b.operation === Op.ALL || b.operation === operation) return true;
  if (b.permissionType !== AclPermission.ALLOW) return false;
  if (operation === Op.DESCRIBE) {
    return b.operation === Op.READ || b.operation === Op.WRITE || b.operation === Op.DELETE
      || b.operation === Op.ALTER;
  }
  return operation === Op.DESCRIBE_CONFIGS && b.operation === Op.ALTER_CONFIGS;
}

export class AclAuthorizer implements Authorizer {
  readonly enabled = true;
  private readonly superUsers: ReadonlySet<string>;
  /** The store's bindings by resource type, rebuilt when the store hands out a new list. */
  private indexed: { of: readonly AclBinding[]; byType: Map<number, AclBinding[]> } | null = null;

  constructor(private readonly bindings: () => readonly AclBinding[], superUsers: string[],
    private readonly allowEveryoneIfNoAclFound: boolean) {
    assert.ok(superUsers.every((p) => p.includes(':')), 'super users are Type:name');
    this.superUsers = new Set(superUsers);
  }

  authorize(subject: AuthorizationSubject, operation: number, resourceType: number,
    resourceName: string): boolean {
    assert.ok(operation !== Op.ANY && operation !== Op.UNKNOWN, 'a concrete operation');
    const principal = principalString(subject.principal);
    if (this.superUsers.has(principal)) return true;
    const host = hostAddress(subject.clientHost);
    let applies = false;
    let allowed = false;
    for (const b of this.ofType(resourceType)) {
      if (!appliesToResource(b, resourceName)) continue;
      applies = true;
      if (b.principal !== principal && b.principal !== WILDCARD_PRINCIPAL) continue;
      if (b.host !== WILDCARD && b.host !== host) continue;
      if (!operationMatches(b, operation)) continue;
      if (b.permissionType === AclPermission.DENY) return false;
      allowed = true;
    }
    return applies ? allowed : this.allowEveryoneIfNoAclFound;
  }

  /** Kafka's Authorizer.authorizeByResourceType default method, step for step. */
  authorizeByResourceType(subject: AuthorizationSubject, operation: number, resourceType: number):
    boolean {
    // A hard-coded name: super users (and an ACL-free type with allow.everyone) pass.
    if (this.authorize(subject, operation, resourceType, 'hardcode')) return true;
    const principal = principalString(subject.principal);
    const host = hostAddress(subject.clientHost);
    const deny = { literal: new Set<string>(), prefixed: new Set<string>() };
    const allow = { literal: new Set<string>(), prefixed: new Set<string>() };
    for (const b of this.ofType(resourceType)) {
      if (b.host !== host && b.host !== WILDCARD) continue;
      if (b.principal !== principal && b.principal !== WILDCARD_PRINCIPAL) continue;
      if (b.operation !== operation && b.operation !== Op.ALL) continue;
      const literal = b.patternType === PatternType.LITERAL;
      if (b.permissionType === AclPermission.DENY) {
        if (literal && b.resourceName === WILDCARD) return false;
        (literal ? deny.literal : deny.prefixed).add(b.resourceName);
      } else {
        if (literal && b.resourceName === WILDCARD) return true;
        (literal ? allow.literal : allow.prefixed).add(b.resourceName);
      }
    }
    const deniedByPrefix = (name: string) =>
      [...name].some((_, i) => deny.prefixed.has(name.slice(0, i + 1)));
    for (const name of allow.literal) {
      if (!deny.literal.has(name) && !deniedByPrefix(name)) return true;
    }
    return [...allow.prefixed].some((name) => !deniedByPrefix(name));
  }

  private ofType(resourceType: number): readonly AclBinding[] {
    const all = this.bindings();
    if (this.indexed?.of !== all) {
      const byType = new Map<number, AclBinding[]>();
      for (const b of all) {
        const ofType = byType.get(b.resourceType);
        if (ofType === undefined) byType.set(b.resourceType, [b]);
        else ofType.push(b);
      }
      this.indexed = { of: all, byType };
    }
    return this.indexed.byType.get(resourceType) ?? [];
  }
}

/** Kafka's authorized-operations bit field: bit `code` set for each supported operation of the
 *  resource type the subject may do (AuthHelper.authorizedOperations). */
export function authorizedOperations(authorizer: Authorizer, subject: AuthorizationSubject,
  resourceType: number, resourceName: string): number {
  const supported = SUPPORTED_OPERATIONS.get(resourceType);
  assert.ok(supported !== undefined, `resource type ${resourceType} has operations`);
  let bits = 0;
  for (const op of supported) {
    if (authorizer.authorize(subject, op, resourceType, resourceName)) bits |= 1 << op;
  }
  return bits;
}
