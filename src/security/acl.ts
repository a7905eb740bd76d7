/**
 * Kafka's ACL model, exactly as its clients and tools speak it: the numeric codes of resource
 * types, pattern types, operations and permissions (org.apache.kafka.common.acl / resource), an
 * ACL binding (a resource pattern plus an access control entry), binding filters with their
 * MATCH and ANY semantics (AclBindingFilter.matches), and the checks Kafka applies to a binding
 * before storing it (AclControlManager.validateNewAcl, AclApis.handleCreateAcls).
 *
 * Pure: no I/O. The stores keep bindings (src/metadata/), the authorizer decides with them
 * (authorizer.ts).
 */
import assert from 'node:assert/strict';

/** ResourceType codes. */
export const ResourceType = {
  UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

/** PatternType codes. MATCH and ANY exist only in filters. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

/** AclOperation codes. */
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8,
  CLUSTER_ACTION: 9, DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;

/** AclPermissionType codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The one name of the cluster resource. */
export const CLUSTER_NAME = 'kafka-cluster';
/** A LITERAL resource name, principal name or host matching every one. */
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

/** The operations Kafka reports as "authorized operations" per resource type
 *  (AclEntry.supportedOperations). */
export const SUPPORTED_OPERATIONS: ReadonlyMap<number, readonly number[]> = new Map([
  [ResourceType.TOPIC, [AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE,
    AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS]],
  [ResourceType.GROUP, [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE]],
  [ResourceType.CLUSTER, [AclOperation.CREATE, AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE,
    AclOperation.ALTER, AclOperation.DESCRIBE]],
  [ResourceType.TRANSACTIONAL_ID, [AclOperation.DESCRIBE, AclOperation.WRITE]],
  [ResourceType.DELEGATION_TOKEN, [AclOperation.DESCRIBE]],
  [ResourceType.USER, [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS]],
]);

export interface AclBinding {
  resourceType: number;
  resourceName: string;
  /** LITERAL or PREFIXED. */
  patternType: number;
  /** "User:alice", or User:* for everyone. */
  principal: string;
  /** An IP address as Kafka prints it ("127.0.0.1"), or * for every host. */
  host: string;
  operation: number;
  /** ALLOW or DENY. */
  permissionType: number;
}

/** A filter over bindings; null strings match anything, ANY codes match any code. */
export interface AclBindingFilter {
  resourceType: number;
  resourceName: string | null;
  /** ANY, MATCH (every pattern that would apply to the named resource), LITERAL or PREFIXED. */
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** Kafka's ResourcePatternFilter.matches. */
function patternMatches(f: AclBindingFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType !== PatternType.ANY && f.patternType !== PatternType.MATCH
    && f.patternType !== b.patternType) return false;
  if (f.resourceName === null) return true;
  if (f.patternType === PatternType.ANY || f.patternType === b.patternType) {
    return f.resourceName === b.resourceName;
  }
  // MATCH: the binding's pattern applies to the resource the filter names.
  if (b.patternType === PatternType.LITERAL) {
    return f.resourceName === b.resourceName || b.resourceName === WILDCARD;
  }
  return f.resourceName.startsWith(b.resourceName);
}

/** Kafka's AclBindingFilter.matches: the pattern filter and the entry filter both match. */
export function filterMatches(f: AclBindingFilter, b: AclBinding): boolean {
  return patternMatches(f, b)
    && (f.principal === null || f.principal === b.principal)
    && (f.host === null || f.host === b.host)
    && (f.operation === AclOperation.ANY || f.operation === b.operation)
    && (f.permissionType === AclPermission.ANY || f.permissionType === b.permissionType);
}

function isKnownCode(code: number, codes: Record<string, number>): boolean {
  return code !== 0 && Object.values(codes).includes(code);
}

/** Why Kafka refuses this binding (its INVALID_REQUEST message), or null if it may be stored. */
export function invalidAclReason(b: AclBinding): string | null {
  if (!isKnownCode(b.resourceType, ResourceType) || b.resourceType === ResourceType.ANY) {
    return `Invalid resourceType ${b.resourceType}`;
  }
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) {
    return `Invalid patternType ${b.patternType}`;
  }
  if (!isKnownCode(b.operation, AclOperation) || b.operation === AclOperation.ANY) {
    return `Invalid operation ${b.operation}`;
  }
  if (b.permissionType !== AclPermission.ALLOW && b.permissionType !== AclPermission.DENY) {
    return `Invalid permissionType ${b.permissionType}`;
  }
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  }
  if (b.resourceName === '') return 'Invalid empty resource name';
  if (!b.principal.includes(':')) return `Could not parse principal from \`${b.principal}\``;
  return null;
}

/** Why Kafka refuses this filter (an UNKNOWN code anywhere), or null. */
export function invalidFilterReason(f: AclBindingFilter): string | null {
  const unknown = f.resourceType === ResourceType.UNKNOWN || f.patternType === PatternType.UNKNOWN
    || f.operation === AclOperation.UNKNOWN || f.permissionType === AclPermission.UNKNOWN;
  return unknown ? 'The filter contains an UNKNOWN element' : null;
}

/** One string per distinct binding: the identity under which a store keeps it once. */
export function aclIdentity(b: AclBinding): string {
  assert.ok(invalidAclReason(b) === null, 'only valid bindings are stored');
  return JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host,
    b.operation, b.permissionType]);
}

/** The binding an identity string names (the inverse of aclIdentity). */
export function aclFromIdentity(identity: string): AclBinding {
  const fields = JSON.parse(identity) as unknown[];
  assert.ok(Array.isArray(fields) && fields.length === 7, `ACL identity ${identity}`);
  const [resourceType, resourceName, patternType, principal, host, operation, permissionType] =
    fields as [number, string, number, string, string, number, number];
  return { resourceType, resourceName, patternType, principal, host, operation, permissionType };
}

/** Kafka's sort of bindings in DescribeAcls answers does not matter to clients; ours is stable:
 *  by identity. */
export function compareAcls(a: AclBinding, b: AclBinding): number {
  const x = aclIdentity(a);
  const y = aclIdentity(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
